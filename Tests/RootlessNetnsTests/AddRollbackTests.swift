import CNI
import JSON
import Testing
@testable import RootlessNetns

/// ADD's rollback (Plugin.swift addShared) over fake delegates, backend and namespace.
@Suite struct AddRollbackTests {
    @Test func failingDelegateRollsBackWithThePartialResult() throws {
        let w = try FakeWorld()
        defer { w.cleanup() }
        let conf = try w.config(delegates: delegateList("f1", "f2", "f3"))
        w.delegates.fail("f2", on: .add, code: 11)
        let e = cniError { try w.add("c1", conf) }
        #expect(e?.code == 11)
        #expect(w.delegates.log(.add) == ["f1", "f2"])
        // The whole chain's DEL, in reverse, with what did succeed (f1's result only).
        #expect(w.delegates.log(.del) == ["f3", "f2", "f1"])
        #expect(w.delegates.calls(.del).allSatisfy { $0.prevInterfaces == ["f1"] }, "\(w.delegates.calls(.del).map(\.config))")
        #expect(try w.records() == [])
        #expect(w.netns.teardowns == 1)
    }

    @Test func rollbackKeepsTheNamespaceOfOtherAttachments() throws {
        let w = try FakeWorld()
        defer { w.cleanup() }
        let conf = try w.config(delegates: delegateList("f1", "f2"))
        try w.add("c0", conf)
        w.delegates.fail("f2", on: .add, container: "c1", code: 11)
        #expect(cniError { try w.add("c1", conf) }?.code == 11)
        #expect(w.delegates.log(.del, "c1") == ["f2", "f1"])
        #expect(try w.records() == ["net1/c0"])
        #expect(w.netns.teardowns == 0)
    }

    @Test func recordThatCannotBeSavedRemovesForwardsAndRollsBack() throws {
        let w = try FakeWorld()
        defer { w.cleanup() }
        let conf = try w.config(delegates: delegateList("f1", "f2"),
                                runtimeConfig: ["portMappings": [["hostPort": 8080, "containerPort": 80, "protocol": "tcp"]]])
        // A result too large for a record: saving it fails after the forwards were added.
        w.delegates.hugeResults = true
        let e = cniError { try w.add("c1", conf) }
        #expect(e?.code == 7, "\(String(describing: e))")
        #expect(w.backend.added.map(\.key) == ["tcp/0.0.0.0/8080"])
        #expect(w.backend.removed == w.backend.added)
        // The chain's DEL gets the full result (every delegate's ADD succeeded).
        #expect(w.delegates.log(.del) == ["f2", "f1"])
        #expect(w.delegates.calls(.del).allSatisfy { $0.prevInterfaces == ["f1", "f2"] })
        #expect(try w.records() == [])
        #expect(w.netns.teardowns == 1)
    }

    @Test func failingForwardsRollBackTheChain() throws {
        let w = try FakeWorld()
        defer { w.cleanup() }
        let conf = try w.config(delegates: delegateList("f1", "f2"),
                                runtimeConfig: ["portMappings": [["hostPort": 8080, "containerPort": 80]]])
        w.backend.failAdd = true
        let e = cniError { try w.add("c1", conf) }
        #expect(e == RootlessError.portForward("fake forward failure").cniError)
        #expect(w.delegates.log(.del) == ["f2", "f1"])
        #expect(w.delegates.calls(.del).allSatisfy { $0.prevInterfaces == ["f1", "f2"] })
        #expect(try w.records() == [])
        #expect(w.netns.teardowns == 1)
    }

    @Test func successfulAddIsRecordedAndKeepsTheNamespace() throws {
        let w = try FakeWorld()
        defer { w.cleanup() }
        let conf = try w.config(delegates: delegateList("f1", "f2"))
        let result = try w.add("c1", conf)
        #expect(result.interfaces.map(\.name) == ["f1", "f2"])
        #expect(w.delegates.log(.del) == [])
        #expect(try w.records() == ["net1/c1"])
        #expect(w.netns.ensureUps == 1)
        #expect(w.netns.teardowns == 0)
    }
}
