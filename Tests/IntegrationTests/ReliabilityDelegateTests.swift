import Foundation
import Testing

extension ReliabilityTests {
    /// Delegates that fail, hang or print garbage: ADD fails with their code and message (or a
    /// clear one) and rolls back: their DEL, no record, no helper when nothing else is attached.
    @Suite("failing delegates")
    struct FailingDelegates {
        struct Case: Sendable, CustomStringConvertible {
            var name: String
            var delegates: @Sendable () -> [[String: Any]]
            var timeout: Int?
            var code: Int
            var msg: String
            var description: String { name }
        }

        static let cases: [Case] = [
            Case(name: "second delegate fails", delegates: {
                [["type": "relfake"], ["type": "relfake2", "relExit": 7, "relMsg": "boom from relfake2", "relOn": "ADD"]]
            }, code: 7, msg: "boom from relfake2"),
            Case(name: "delegate with its own code", delegates: {
                [["type": "relfake", "relExit": 11, "relMsg": "busy, try later", "relOn": "ADD"]]
            }, code: 11, msg: "busy, try later"),
            Case(name: "delegate hangs past delegateTimeout", delegates: {
                [["type": "relfake"], ["type": "relhang", "relHang": "ADD"]]
            }, timeout: 2, code: 11, msg: "timed out"),
            Case(name: "delegate prints garbage and exits 0", delegates: {
                [["type": "relgarbage", "relGarbage": "this is not JSON"]]
            }, code: 6, msg: "invalid result"),
            Case(name: "delegate prints garbage and exits 1", delegates: {
                [["type": "relgarbage", "relGarbage": "<html>oops</html>", "relGarbageExit": 1]]
            }, code: 6, msg: "not CNI error JSON"),
            Case(name: "delegate returns a result of an unknown version", delegates: {
                [["type": "relgarbage", "relGarbage": #"{"cniVersion":"0.2.0","ip4":{"ip":"10.1.2.3/24"}}"#]]
            }, code: 1, msg: "unsupported result version"),
        ]

        /// One fixture for all cases (a session per case would double the time), a state dir each.
        @Test("ADD fails with the delegate's error and rolls back: failing, own code, hung, garbage, unknown version")
        func failingDelegates() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let netns = try f.makeNetns("fd", count: 2)
            for (i, c) in Self.cases.enumerated() {
                _ = Command.run(["rm", "-f", f.plugins + "/" + FakeDelegate.logName], timeout: 10)
                try failingDelegate(c, &f, netns: netns, stateDirName: "rel-fail-\(i)")
            }
        }

        func failingDelegate(_ c: Case, _ f: inout RelFixture, netns: [String], stateDirName: String) throws {
            let (good, stateDir) = try f.fakeConflist(stateDir: stateDirName)
            // The failing chain shares the state dir (same namespace) with a good one.
            let bad = try f.writeConflist(["cniVersion": "1.1.0", "name": "relnet", "plugins": [
                RelPlugin.rootlessEntry(stateDir: stateDir, delegates: c.delegates()).merging(
                    c.timeout.map { ["delegateTimeout": $0] } ?? [:]) { $1 },
            ]], name: stateDirName + "-bad.conflist")

            // Alone: error passed through, rolled back, torn down.
            let t0 = Date()
            let r = f.cni(bad, "add", netns[0], containerID: "rel-fd-0")
            #expect(Date().timeIntervalSince(t0) < 30, "\(c.name) took too long")
            #expect(!r.succeeded && r.json?["code"] as? Int == c.code, "\(c.name): \(r)")
            let msg = (r.json?["msg"] as? String) ?? ""
            #expect(msg.contains(c.msg), "\(r)")
            let log = RelPlugin.log(f.plugins)
            let dels = log.filter { $0["command"] as? String == "DEL" }.compactMap { $0["plugin"] as? String }
            for d in c.delegates() { #expect(dels.contains(d["type"] as? String ?? "?"), "rollback DEL of \(d): \(log)") }
            #expect(f.attachmentCount(stateDir) == 0)
            f.expectClean(stateDir, "\(c.name): after the failed ADD")
            #expect(!Procs.live(uid: f.user.uid).contains { $0.cmdline.joined(separator: " ").contains("relhang") },
                    "a hung delegate was left running")

            // With another container attached: it keeps its record and its helper.
            let a = f.cni(good, "add", netns[1], containerID: "rel-fd-1")
            try #require(a.succeeded, "\(c.name): \(a)")
            let helper = try #require(f.helpers().first?.pid, "\(c.name): no helper for the attached container")
            let r2 = f.cni(bad, "add", netns[0], containerID: "rel-fd-0")
            #expect(r2.json?["code"] as? Int == c.code, "\(c.name): \(r2)")
            #expect(f.attachmentCount(stateDir) == 1)
            #expect(f.helpers().map(\.pid) == [helper], "the helper survives")
            #expect(f.cni(good, "check", netns[1], containerID: "rel-fd-1").succeeded)
            #expect(f.cni(good, "del", netns[1], containerID: "rel-fd-1").succeeded)
            f.expectClean(stateDir, "\(c.name): after DEL")
        }
    }
}
