import CNI
import Glibc
import JSON
import System
import Testing
import TestSupport
@testable import RootlessNetns

/// Every ADD reads the records' summaries instead of the records (reaping, forward
/// restoration): a summary is used only while it describes the record file exactly, else the
/// record is read (and the summary repaired); reaping confirms from the record.
@Suite struct AttachmentSummaryTests {
    func sample(cid: String = "abc123", ifName: String = "eth0", netns: String = "/run/user/1000/netns/c1") -> RootlessNetns.Attachment {
        var a = RootlessNetns.Attachment(
            containerID: cid, ifName: ifName, netns: netns, network: "rootless", version: .v1_0_0,
            delegates: [["type": "bridge", "bridge": "cni0"]], capabilityArgs: [:],
            result: CNIResult(cniVersion: .latest), hostForwards: [
                HostForward(proto: "tcp", hostAddr: "0.0.0.0", hostPort: 8080, target: "10.88.0.2", targetPort: 80, via: .forwarder),
            ])
        a.netnsIdentity = NetnsIdentity(dev: 4, ino: 4_026_532_000, mountNSDev: 4, mountNSIno: 4_026_531_841, sharedNetnsCookie: 7)
        return a
    }

    func store(_ t: TempDir) throws -> (StateDir, AttachmentStore) {
        let state = StateDir(root: t.path + "/state")
        try state.prepare()
        return (state, AttachmentStore(state: state))
    }

    @Test("save writes a summary next to the records; it is what summaries() returns")
    func summaryIsUsed() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let (_, store) = try store(t)
        let a = sample()
        try store.save(a)
        #expect(t.exists("state/summaries/" + a.key.fileName))
        #expect(try FS.listDirectory(t.path + "/state/attachments") == [a.key.fileName])
        #expect(store.summaries(repair: false) == [AttachmentSummary(a)])

        // A summary naming the record file as it is is trusted without reading the record.
        let path = t.path + "/state/summaries/" + a.key.fileName
        let text = try FS.readText(path, limit: 1 << 16)
        let edited = text.replacing("/run/user/1000/netns/c1", with: "/run/user/1000/netns/edited")
        try FS.writeFileAtomically(path, Array(edited.utf8))
        #expect(store.summaries(repair: false).map(\.netns) == ["/run/user/1000/netns/edited"])
    }

    @Test("a record rewritten without its summary (older version, crash between the writes) is read instead, and repaired")
    func staleSummaryIsIgnored() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let (_, store) = try store(t)
        var a = sample()
        try store.save(a)
        let summaryPath = t.path + "/state/summaries/" + a.key.fileName
        let before = try FS.readText(summaryPath, limit: 1 << 16)
        // As an older version would: the record replaced, the summary untouched.
        a.netns = "/run/user/1000/netns/other"
        a.hostForwards = []
        try FS.writeFileAtomically(t.path + "/state/attachments/" + a.key.fileName, Array(a.json().encoded().utf8))
        #expect(store.summaries(repair: false) == [AttachmentSummary(a)])
        #expect(try FS.readText(summaryPath, limit: 1 << 16) == before)
        #expect(store.summaries(repair: true) == [AttachmentSummary(a)])
        #expect(try FS.readText(summaryPath, limit: 1 << 16) != before)
        #expect(RecordedForwards.all(store.summaries(repair: false)).isEmpty)
    }

    @Test("records of older versions (no summary, legacy names) are read, then summarised; orphans are dropped")
    func olderRecords() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let (_, store) = try store(t)
        var old = sample(cid: "old1")
        old.netnsIdentity = nil
        try FS.writeFileAtomically(t.path + "/state/attachments/old1@eth0.json", Array(old.json().encoded().utf8))
        #expect(store.summaries(repair: false) == [AttachmentSummary(old)])
        #expect(!t.exists("state/summaries/old1@eth0.json"))
        #expect(store.summaries(repair: true) == [AttachmentSummary(old)])
        #expect(t.exists("state/summaries/old1@eth0.json"))
        // Never reaped: no identity.
        let vantage = NetnsIdentity.Vantage(mountNamespace: (4, 4_026_531_841), sharedNetnsCookie: 8)
        #expect(RootlessNetnsPlugin.reapable(store.summaries(repair: false), from: vantage).isEmpty)

        try t.file("state/summaries/rootless+gone@eth0.json", "{}")
        _ = store.summaries(repair: true)
        #expect(!t.exists("state/summaries/rootless+gone@eth0.json"))
        try store.remove(AttachmentKey(network: "rootless", containerID: "old1", ifName: "eth0"))
        #expect(!t.exists("state/summaries/old1@eth0.json"))
        #expect(store.summaries(repair: false).isEmpty)
    }

    @Test("reap candidates and forwards come from the summaries")
    func candidates() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let (_, store) = try store(t)
        try store.save(sample(cid: "a"))
        try store.save(sample(cid: "b"))
        let replaced = NetnsIdentity.Vantage(mountNamespace: (4, 4_026_531_841), sharedNetnsCookie: 8)
        #expect(RootlessNetnsPlugin.reapable(store.summaries(repair: false), from: replaced).map(\.key.containerID) == ["a", "b"])
        // Same socket in two records: restored once.
        #expect(RecordedForwards.all(store.summaries(repair: false)).map(\.key) == ["tcp/0.0.0.0/8080"])
        try store.remove(AttachmentKey(network: "rootless", containerID: "a", ifName: "eth0"))
        #expect(store.summaries(repair: false).map(\.key.containerID) == ["b"])
        #expect(try FS.listDirectory(t.path + "/state/summaries") == ["rootless+b@eth0.json"])
    }

    /// Regression: with a key too long for even the old plain name, the old and the new file
    /// name are the same hashed name, and save removed the record it had just written.
    @Test("a record whose key is too long for any plain name survives its save")
    func longKeySurvivesSave() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let (_, store) = try store(t)
        let a = sample(cid: String(repeating: "c", count: 245), ifName: "averylongifname")
        #expect(a.key.fileName == a.key.legacyFileName)
        try store.save(a)
        #expect(try store.load(a.key) == a)
        #expect(store.summaries(repair: false) == [AttachmentSummary(a)])
        #expect(try store.list() == [a.key])
    }
}
