import CNI
import JSON
import Testing
@testable import RootlessNetns

/// GC's sweep (Plugin+StatusGC.swift gc) over fake delegates, backend and namespace.
@Suite struct GCSweepTests {
    func gcConfig(_ w: FakeWorld, network: String = "net1", valid: [String]?) throws -> NetConf {
        var extra = JSONObject()
        if let valid {
            extra["cni.dev/valid-attachments"] = .array(valid.map { ["containerID": .string($0), "ifname": "eth0"] })
        }
        // GC reaches the delegates from CNI 1.1.0.
        return try w.config(network: network, version: "1.1.0", delegates: delegateList("f1", "f2"), extra: extra)
    }

    @Test func gcReleasesOnlyItsNetworksUnlistedAttachments() throws {
        let w = try FakeWorld()
        defer { w.cleanup() }
        let net1 = try gcConfig(w, valid: nil), net2 = try gcConfig(w, network: "net2", valid: nil)
        for c in ["a", "b", "c"] { try w.add(c, net1) }
        try w.add("b", net2)
        w.delegates.fail("f1", on: .del, container: "c", code: 11)
        // b and c are released (c's chain DEL fails: its record stays for the next GC).
        #expect(cniError { try w.gc(try gcConfig(w, valid: ["a"])) }?.code == 11)
        #expect(w.delegates.log(.del, "a") == [])
        #expect(w.delegates.log(.del, "b") == ["f2", "f1"])
        #expect(w.delegates.log(.del, "c") == ["f2", "f1"])
        #expect(w.delegates.calls(.del).allSatisfy { $0.config["name"] == "net1" })
        #expect(w.delegates.log(.gc) == ["f1", "f2"])
        #expect(try w.records() == ["net1/a", "net1/c", "net2/b"])
        #expect(w.netns.teardowns == 0)
        // The next GC runs c's DEL again.
        w.delegates.failures = []
        try w.gc(try gcConfig(w, valid: ["a"]))
        #expect(w.delegates.log(.del, "c") == ["f2", "f1", "f2", "f1"])
        #expect(try w.records() == ["net1/a", "net2/b"])
        // An empty list releases all of the network's; the last one of any network tears down.
        try w.gc(try gcConfig(w, valid: []))
        #expect(try w.records() == ["net2/b"])
        #expect(w.netns.teardowns == 0)
        try w.gc(try gcConfig(w, network: "net2", valid: []))
        #expect(try w.records() == [])
        #expect(w.netns.teardowns == 1)
    }

    @Test func gcWithoutValidAttachmentsIsRefused() throws {
        let w = try FakeWorld()
        defer { w.cleanup() }
        try w.add("a", try gcConfig(w, valid: nil))
        let e = cniError { try w.gc(try gcConfig(w, valid: nil)) }
        #expect(e?.code == 7)
        #expect(w.delegates.calls(.del).isEmpty)
        #expect(w.delegates.calls(.gc).isEmpty)
        #expect(try w.records() == ["net1/a"])
        #expect(w.netns.teardowns == 0)
    }
}
