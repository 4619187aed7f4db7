import CNI
import Glibc
import IP
import JSON
import System
import Testing
@testable import RootlessNetns
import TestSupport

@Suite struct StateDirTests {
    let s = StateDir(root: "/run/user/1000/rootless-netns")

    @Test func layout() {
        #expect(s.lock == "/run/user/1000/rootless-netns/lock")
        #expect(s.helperRecord == "/run/user/1000/rootless-netns/helper.json")
        #expect(s.helperLog == "/run/user/1000/rootless-netns/helper.log")
        #expect(s.helperPidFile == "/run/user/1000/rootless-netns/helper.pid")
        #expect(s.resolvConf == "/run/user/1000/rootless-netns/resolv.conf")
        #expect(s.slirpSocket == "/run/user/1000/rootless-netns/slirp4netns.sock")
        #expect(s.run == "/run/user/1000/rootless-netns/run")
        #expect(s.varLibCNI == "/run/user/1000/rootless-netns/var/lib/cni")
        #expect(s.attachments == "/run/user/1000/rootless-netns/attachments")
    }

    @Test func mirror() {
        #expect(s.mirror(of: "/run/user/1000") == "/run/user/1000/rootless-netns/run/user/1000")
        #expect(s.mirror(of: "/run/systemd/resolve/stub-resolv.conf")
                == "/run/user/1000/rootless-netns/run/systemd/resolve/stub-resolv.conf")
        #expect(s.mirror(of: "/run/netns/") == "/run/user/1000/rootless-netns/run/netns")
        #expect(s.mirror(of: "/run") == "/run/user/1000/rootless-netns/run")
    }

    @Test func prepareCreatesPrivateLayout() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let state = StateDir(root: t.path + "/a/b/state")
        try state.prepare()
        for dir in [state.root, state.run, state.run + "/systemd", state.varLibCNI, state.attachments] {
            let info = try #require(try FS.lstat(dir))
            #expect(info.type == .directory, "\(dir)")
            #expect(info.mode & 0o777 == 0o700, "\(dir)")
        }
        try state.prepare()  // idempotent
    }

    @Test func prepareRefusesSymlink() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        try t.mkdir("real")
        _ = chmod(t.path + "/real", 0o700)
        try t.link("state", to: t.path + "/real")
        let e = cniError { try StateDir(root: t.path + "/state").prepare() }
        #expect(e?.code == 7)
        #expect(e?.msg.contains("symlink") == true)
    }

    @Test func prepareRefusesWorldWritable() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        try t.mkdir("state")
        _ = chmod(t.path + "/state", 0o777)
        let e = cniError { try StateDir(root: t.path + "/state").prepare() }
        #expect(e?.code == 7)
        #expect(e?.msg.contains("writable") == true)
    }

    @Test func prepareRefusesFile() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        try t.file("state", "x")
        let e = cniError { try StateDir(root: t.path + "/state").prepare() }
        #expect(e?.code == 7)
        #expect(e?.msg.contains("not a directory") == true)
    }

    @Test func removeAllButLockKeepsLock() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let state = StateDir(root: t.path + "/state")
        try state.prepare()
        try t.file("state/lock")
        try t.file("state/helper.json", "{}")
        try t.file("state/attachments/c@eth0.json", "{}")
        // Temp files of a run killed mid-write go too; a user's file does not.
        try t.file("state/resolv.conf.tmp-4242", "x")
        try t.file("state/helper.json.tmp-7", "x")
        try t.file("state/notes.txt", "mine")
        #expect(state.removeAllButLock().isEmpty)
        #expect(try FS.listDirectory(state.root) == ["lock", "notes.txt"])
        #expect(StateDir(root: t.path + "/missing").removeAllButLock().isEmpty)
    }
}

@Suite struct AttachmentTests {
    func sample(cid: String = "abc123", ifName: String = "eth0") -> RootlessNetns.Attachment {
        let result = CNIResult(
            cniVersion: .latest,
            interfaces: [.init(name: "eth0", mac: "0a:58:0a:58:00:02", sandbox: "/run/user/1000/netns/c1")],
            ips: [.init(address: IPNetwork("10.88.0.2/16")!, gateway: IPAddress("10.88.0.1"), interface: 0)],
            routes: [.init(dst: IPNetwork("0.0.0.0/0")!)],
            dns: .init(nameservers: ["10.0.2.3"]))
        return RootlessNetns.Attachment(
            containerID: cid, ifName: ifName, netns: "/run/user/1000/netns/c1", network: "rootless",
            version: .v1_0_0,
            delegates: [["type": "bridge", "bridge": "cni0"], ["type": "portmap", "capabilities": ["portMappings": true]]],
            capabilityArgs: ["portMappings": [["hostPort": 8080, "containerPort": 80, "protocol": "tcp"]]],
            result: result,
            hostForwards: [HostForward(id: 3, proto: "tcp", hostAddr: "0.0.0.0", hostPort: 8080)])
    }

    @Test func fileName() {
        let key = AttachmentKey(network: "rootless", containerID: "abc", ifName: "eth0")
        #expect(key.fileName == "rootless+abc@eth0.json")
        #expect(key.legacyFileName == "abc@eth0.json")
        #expect(AttachmentStore(dir: "/s/attachments").path(key) == "/s/attachments/rootless+abc@eth0.json")
        #expect(AttachmentKey(fileName: "rootless+abc@eth0@x.json") == AttachmentKey(network: "rootless", containerID: "abc", ifName: "eth0@x"))
        #expect(AttachmentKey(fileName: "abc@eth0+x.json") == nil)
        #expect(AttachmentKey(legacyFileName: "abc@eth0+x.json")?.ifName == "eth0+x")
    }

    @Test func jsonRoundTrip() throws {
        let a = sample()
        let back = try RootlessNetns.Attachment(json: a.json())
        #expect(back == a)
        // Through text too, as the store does.
        #expect(try RootlessNetns.Attachment(json: JSON.parse(Array(a.json().encoded(pretty: true).utf8))) == a)
    }

    @Test func jsonFields() {
        let j = sample().json()
        #expect(j["containerID"] == "abc123")
        #expect(j["ifName"] == "eth0")
        #expect(j["cniVersion"] == "1.0.0")
        #expect(j["delegates"]?.arrayValue?.count == 2)
        #expect(j["hostForwards"]?.arrayValue?.first?["id"] == JSON.int(3))
    }

    @Test func missingFieldsAreCorruptState() {
        let full = sample().json()
        for key in ["containerID", "ifName", "cniVersion", "delegates", "result"] {
            var j = full
            j[key] = nil
            let e = cniError { _ = try RootlessNetns.Attachment(json: j) }
            #expect(e?.code == 5, "\(key)")
            #expect(e?.msg.contains("corrupt") == true, "\(key)")
        }
        #expect(throws: RootlessError.self) { _ = try RootlessNetns.Attachment(json: .null) }
        #expect(throws: RootlessError.self) { _ = try RootlessNetns.Attachment(json: ["containerID": "a", "ifName": "b", "cniVersion": "9.9.9", "delegates": [], "result": [:]]) }
    }

    @Test func optionalFieldsDefault() throws {
        var j = sample().json()
        j["netns"] = nil; j["network"] = nil; j["capabilityArgs"] = nil; j["hostForwards"] = nil
        let a = try RootlessNetns.Attachment(json: j)
        #expect(a.netns == "" && a.network == "" && a.capabilityArgs.isEmpty && a.hostForwards.isEmpty)
    }

    @Test func storeSaveLoadListRemove() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let store = AttachmentStore(dir: t.path + "/attachments")
        #expect(try store.list().isEmpty)           // missing dir: nothing attached
        #expect(try store.load(k("abc123", "eth0")) == nil)
        try t.mkdir("attachments")

        let a = sample(), b = sample(cid: "def456", ifName: "net1")
        try store.save(a)
        try store.save(b)
        #expect(try store.load(k("abc123", "eth0")) == a)
        #expect(try store.load(k("def456", "net1")) == b)
        #expect(try store.load(k("abc123", "net1")) == nil)
        #expect(try store.load(AttachmentKey(network: "other", containerID: "abc123", ifName: "eth0")) == nil)
        let info = try #require(try FS.lstat(store.path(k("abc123", "eth0"))))
        #expect(info.mode & 0o777 == 0o600)

        // Not records: temp files of an interrupted save, strays, malformed names.
        try t.file("attachments/rootless+abc123@eth0.json.tmp-4242", "{")
        try t.file("attachments/notes.txt", "x")
        try t.file("attachments/noat.json", "{}")
        try t.file("attachments/@eth0.json", "{}")
        try t.file("attachments/abc@.json", "{}")
        let listed = try store.list().map { "\($0.containerID)/\($0.ifName)" }
        #expect(listed == ["abc123/eth0", "def456/net1"])

        try store.remove(k("abc123", "eth0"))
        #expect(try store.load(k("abc123", "eth0")) == nil)
        try store.remove(k("abc123", "eth0"))        // twice is fine
        #expect(try store.list().map(\.containerID) == ["def456"])
    }

    @Test func storeOverwrites() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let store = AttachmentStore(dir: t.path)
        var a = sample()
        try store.save(a)
        a.hostForwards = []
        try store.save(a)
        #expect(try store.load(a.key)?.hostForwards == [])
        #expect(try FS.listDirectory(t.path) == ["rootless+abc123@eth0.json"])
    }

    @Test func corruptRecordIsAnError() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        try t.file("rootless+x@eth0.json", "not json")
        let e = cniError { _ = try AttachmentStore(dir: t.path).load(k("x", "eth0")) }
        #expect(e?.code == 5)
        #expect(e?.msg.contains("corrupt") == true)
    }
}

@Suite struct HelperRecordTests {
    @Test func jsonRoundTrip() throws {
        let r = HelperRecord(backend: .slirp4netns,
                             identity: ProcessIdentity(pid: 4242, startTime: 123_456_789, exe: "/usr/bin/slirp4netns"),
                             netns: "/run/user/1000/netns/rootless-netns-x", guestAddress: "10.0.2.100",
                             dnsServers: ["10.0.2.3", "fd00::3"])
        #expect(HelperRecord(json: r.json()) == r)
        let text = r.json().encoded()
        #expect(HelperRecord(json: try JSON.parse(Array(text.utf8))) == r)
        let pasta = HelperRecord(backend: .pasta, identity: ProcessIdentity(pid: 1, startTime: .max, exe: "/usr/bin/pasta"),
                                 netns: "/n", guestAddress: "", dnsServers: [])
        #expect(HelperRecord(json: pasta.json()) == pasta)
    }

    @Test func requiredFields() {
        let full: JSON = ["backend": "pasta", "pid": 1, "startTime": 2, "exe": "/x"]
        #expect(HelperRecord(json: full) != nil)
        for key in ["backend", "pid", "startTime", "exe"] {
            var j = full
            j[key] = nil
            #expect(HelperRecord(json: j) == nil, "\(key)")
        }
        #expect(HelperRecord(json: ["backend": "vpnkit", "pid": 1, "startTime": 2, "exe": "/x"]) == nil)
    }

    @Test func saveAndLoad() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let state = StateDir(root: t.path)
        #expect(HelperRecord.load(state) == nil)
        let r = HelperRecord(backend: .slirp4netns, identity: ProcessIdentity(pid: 7, startTime: 9, exe: "/bin/true"),
                             netns: "/n", guestAddress: "10.0.2.100", dnsServers: ["10.0.2.3"])
        try r.save(state)
        #expect(HelperRecord.load(state) == r)
        try t.file("helper.json", "garbage")
        #expect(HelperRecord.load(state) == nil)
    }

    /// Older records have no "ready" key: they were written after the helper was ready.
    @Test func readyFlag() throws {
        var r = HelperRecord(backend: .slirp4netns, identity: ProcessIdentity(pid: 7, startTime: 9, exe: "/usr/bin/slirp4netns"),
                             netns: "/n", guestAddress: "", dnsServers: [])
        #expect(r.ready)
        r.ready = false
        #expect(HelperRecord(json: r.json())?.ready == false)
        let legacy: JSON = ["backend": "slirp4netns", "pid": 7, "startTime": 9, "exe": "/usr/bin/slirp4netns"]
        #expect(HelperRecord(json: legacy)?.ready == true)
    }

    /// A record naming a live process exactly (pid, start time, exe) is still not our helper
    /// unless that process is a helper of the recorded namespace.
    @Test func isAliveRequiresAHelperOfTheNamespace() throws {
        let me = try #require(Processes.identity(of: getpid()))
        let forged = HelperRecord(backend: .slirp4netns, identity: me, netns: "/run/user/1/netns/rootless-netns-x",
                                  guestAddress: "", dnsServers: [])
        #expect(!forged.isAlive)
    }

    /// A pid that cannot be ours (pid 0 / start time mismatch) is never alive.
    @Test func isAliveRequiresIdentity() {
        let stale = HelperRecord(backend: .slirp4netns, identity: ProcessIdentity(pid: getpid(), startTime: 1, exe: "/nope"),
                                 netns: "/n", guestAddress: "", dnsServers: [])
        #expect(!stale.isAlive)
    }
}

private func k(_ cid: String, _ ifn: String) -> AttachmentKey {
    AttachmentKey(network: "rootless", containerID: cid, ifName: ifn)
}

/// Issue 10 items 7, 8, 10: the state dir is used through one verified fd.
@Suite struct StateDirHandleTests {
    func k(_ cid: String) -> AttachmentKey { AttachmentKey(network: "rootless", containerID: cid, ifName: "eth0") }

    @Test func writableNonStickyAncestorIsRefusedNamingIt() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        try t.mkdir("pub")
        _ = chmod(t.path + "/pub", 0o777)
        let e = cniError { try StateDir(root: t.path + "/pub/x/state").prepare() }
        #expect(e?.code == 7)
        #expect(e?.msg.contains("refusing \(t.path)/pub:") == true, "\(e?.msg ?? "")")
        #expect(e?.msg.contains("sticky") == true)
        #expect(!t.exists("pub/x"))
    }

    /// Fails on the old code: teardown went by path and emptied the victim's directory.
    @Test func teardownAfterAncestorSwapNeverTouchesTheVictim() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let state = StateDir(root: t.path + "/anc/state")
        try state.prepare()
        try state.writeFile("resolv.conf", Array("ours".utf8))
        try t.file("victim/state/helper.json", "victim")
        try t.file("victim/state/run/keep", "victim")
        try t.file("victim/state/attachments/notes", "victim")
        #expect(rename(t.path + "/anc", t.path + "/anc.moved") == 0)
        try t.link("anc", to: t.path + "/victim")
        try HelperRecord(backend: .slirp4netns, identity: ProcessIdentity(pid: 1, startTime: 1, exe: "/x"),
                         netns: "/n", guestAddress: "", dnsServers: []).save(state)
        #expect(state.removeAllButLock().isEmpty)
        #expect(try FS.listDirectory(t.path + "/victim/state") == ["attachments", "helper.json", "run"])
        #expect(try FS.readText(t.path + "/victim/state/helper.json") == "victim")
        #expect(try FS.listDirectory(t.path + "/anc.moved/state") == ["lock"] || (try FS.listDirectory(t.path + "/anc.moved/state")).isEmpty)
    }

    @Test func recordsGoThroughTheHandle() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let state = StateDir(root: t.path + "/anc/state")
        try state.prepare()
        let store = AttachmentStore(state: state)
        #expect(try store.list().isEmpty)
        try t.file("victim/state/attachments/rootless+v@eth0.json", "{}")
        #expect(rename(t.path + "/anc", t.path + "/anc.moved") == 0)
        try t.link("anc", to: t.path + "/victim")
        #expect(try store.list().isEmpty, "listed the victim's records")
        try store.remove(k("v"))
        #expect(t.exists("victim/state/attachments/rootless+v@eth0.json"))
    }

    /// A FIFO in place of a record: a blocking open would hang DEL under the lock forever.
    @Test func fifoRecordIsCorruptNotAHang() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let state = StateDir(root: t.path + "/state")
        try state.prepare()
        #expect(mkfifo(state.attachments + "/rootless+f@eth0.json", 0o600) == 0)
        #expect(mkfifo(state.helperRecord, 0o600) == 0)
        let store = AttachmentStore(state: state)
        let e = cniError { _ = try store.load(k("f")) }
        #expect(e?.code == 5)
        #expect(e?.msg.contains("not a regular file") == true, "\(e?.msg ?? "")")
        #expect(HelperRecord.load(state) == nil)
        try store.remove(k("f"))
        #expect(try store.list().isEmpty)
        // A symlink is not followed either.
        try t.file("elsewhere.json", "{}")
        try t.link("state/attachments/rootless+s@eth0.json", to: t.path + "/elsewhere.json")
        #expect(cniError { _ = try store.load(k("s")) }?.code == 5)
    }

    /// Item 8: two spellings of one runtime dir are one namespace, one state dir.
    @Test func symlinkedRuntimeDirGivesTheSameNames() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        try t.mkdir("xdg")
        _ = chmod(t.path + "/xdg", 0o700)
        try t.link("xdg-link", to: t.path + "/xdg")
        var config = RootlessConfig.defaults(stateDir: nil)
        config.mode = .always
        let a = try Context(config: config, hostEnv: ["XDG_RUNTIME_DIR": t.path + "/xdg"])
        let b = try Context(config: config, hostEnv: ["XDG_RUNTIME_DIR": t.path + "/xdg-link/"])
        #expect(a.netnsPath == b.netnsPath)
        #expect(a.state.root == b.state.root)
        #expect(a.netnsDir == b.netnsDir)
        config.stateDir = t.path + "/xdg-link/s"
        let c = try Context(config: config, hostEnv: ["XDG_RUNTIME_DIR": t.path + "/xdg"])
        config.stateDir = t.path + "/xdg/s"
        let d = try Context(config: config, hostEnv: ["XDG_RUNTIME_DIR": t.path + "/xdg"])
        #expect(c.netnsPath == d.netnsPath && c.state.root == d.state.root)
        // The state dir itself stays as written: a symlink there is refused, not resolved.
        config.stateDir = t.path + "/xdg-link"
        #expect(try Context(config: config, hostEnv: ["XDG_RUNTIME_DIR": t.path + "/xdg"]).state.root == t.path + "/xdg-link")
    }
}
