import CNI
import JSON
import System
import Testing
@testable import RootlessNetns

/// DEL's replay of the record (Plugin+Del.swift delShared) over fake delegates, backend and namespace.
@Suite struct DelReplayTests {
    /// What ADD ran: version 1.0.0, a config key on f1, port mappings to f2 (its capability).
    func recordedConfig(_ w: FakeWorld) throws -> NetConf {
        try w.config(version: "1.0.0",
                     delegates: [["type": "f1", "mark": "as-added"],
                                 ["type": "f2", "capabilities": ["portMappings": true]]],
                     runtimeConfig: ["portMappings": [["hostPort": 8080, "containerPort": 80, "protocol": "tcp"]]])
    }

    @Test func delReplaysTheRecordedChainAfterTheConflistChanged() throws {
        let w = try FakeWorld()
        defer { w.cleanup() }
        try w.add("c1", try recordedConfig(w))
        let changed = try w.config(version: "1.1.0",
                                   delegates: [["type": "g1", "capabilities": ["portMappings": true]]],
                                   runtimeConfig: ["portMappings": [["hostPort": 9090, "containerPort": 90]]])
        try w.del("c1", changed)
        let dels = w.delegates.calls(.del)
        #expect(dels.map(\.plugin) == ["f2", "f1"])
        #expect(dels.allSatisfy { $0.config["cniVersion"] == "1.0.0" && $0.config["name"] == "net1" })
        #expect(dels.allSatisfy { $0.prevInterfaces == ["f1", "f2"] })
        #expect(dels.last?.config["mark"] == "as-added")
        // The recorded capability args (portmap's view: the helper's guest address as host IP).
        let mapping = dels.first?.config["runtimeConfig"]?["portMappings"]?.arrayValue?.first
        #expect(mapping?["hostPort"] == 8080)
        #expect(mapping?["hostIP"] == "10.0.2.100")
        #expect(dels.last?.config["runtimeConfig"] == nil)
        #expect(w.backend.removed.map(\.key) == ["tcp/0.0.0.0/8080"])
        #expect(try w.records() == [])
        #expect(w.netns.teardowns == 1)
    }

    @Test func failingChainDelKeepsTheRecordForTheRetry() throws {
        let w = try FakeWorld()
        defer { w.cleanup() }
        let conf = try recordedConfig(w)
        try w.add("c1", conf)
        w.delegates.fail("f1", on: .del, code: 11)
        #expect(cniError { try w.del("c1", conf) }?.code == 11)
        #expect(w.delegates.log(.del) == ["f2", "f1"])
        #expect(try w.records() == ["net1/c1"])
        #expect(w.netns.teardowns == 0)
        // The runtime's retry replays it again, and then it goes.
        w.delegates.failures = []
        try w.del("c1", conf)
        #expect(w.delegates.log(.del) == ["f2", "f1", "f2", "f1"])
        #expect(try w.records() == [])
        #expect(w.netns.teardowns == 1)
    }

    @Test func corruptRecordGetsABestEffortDelAndIsDropped() throws {
        let w = try FakeWorld()
        defer { w.cleanup() }
        try w.add("c1", try recordedConfig(w))
        let key = AttachmentKey(network: "net1", containerID: "c1", ifName: "eth0")
        try FS.writeFileAtomically(w.store.path(key), Array("{\"containerID\": ".utf8), mode: 0o600)
        // Without a record the current config's chain runs, and its failure does not count.
        let current = try w.config(delegates: delegateList("g1"))
        w.delegates.fail("g1", on: .del, code: 11)
        try w.del("c1", current)
        #expect(w.delegates.log(.del) == ["g1"])
        #expect(try w.records() == [])
        #expect(w.netns.teardowns == 1)
    }

    @Test func onlyTheLastDelTearsDown() throws {
        let w = try FakeWorld()
        defer { w.cleanup() }
        let conf = try w.config(delegates: delegateList("f1"))
        let other = try w.config(network: "net2", delegates: delegateList("h1"))
        try w.add("c1", conf)
        try w.add("c2", conf)
        try w.add("c1", other)
        try w.del("c1", conf)
        #expect(try w.records() == ["net1/c2", "net2/c1"])
        try w.del("c2", conf)
        #expect(try w.records() == ["net2/c1"])
        #expect(w.netns.teardowns == 0)
        try w.del("c1", other)
        #expect(try w.records() == [])
        #expect(w.netns.teardowns == 1)
        #expect(w.delegates.log(.del) == ["f1", "f1", "h1"])
    }

    @Test func delWithoutRecordRunsTheCurrentChainAndSucceeds() throws {
        let w = try FakeWorld()
        defer { w.cleanup() }
        let conf = try w.config(delegates: delegateList("f1", "f2"))
        try w.add("c1", conf)
        try w.del("c9", conf)
        #expect(w.delegates.log(.del, "c9") == ["f2", "f1"])
        #expect(try w.records() == ["net1/c1"])
        #expect(w.netns.teardowns == 0)
    }
}
