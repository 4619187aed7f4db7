import Foundation
import Testing

extension ReliabilityTests {
    /// The plugin or its helper dying at any moment: the next operation converges.
    @Suite("crashes")
    struct Crashes {
        static let crashRuns = 50
        static let maxDelayMs = 300

        @Test("plugin SIGKILLed at random moments of ADD/DEL (50 runs): next ADD/DEL converges, one helper, lock free, nothing left")
        func killPluginLoop() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.bridgeConflist(stateDir: "rel-crash")
            let netns = try f.makeNetns("ck", count: 4)
            let seed = UInt32.random(in: 0..<1_000_000)
            let spec: [String: Any] = [
                "plugin": Products.rootlessNetns, "config": try f.pluginConf(conflist),
                "containers": netns.enumerated().map { ["id": "rel-crash-\($0.offset)", "netns": $0.element] },
                "xdg": f.user.runtimeDir, "cniPath": Products.cniPath, "stateDir": stateDir,
                "runs": Self.crashRuns, "maxDelayMs": Self.maxDelayMs, "seed": seed,
            ]
            let specPath = f.scratch + "/crash.json"
            try Scratch.write(try Scratch.jsonText(spec), to: specPath)
            try f.user.chown(specPath)
            let t0 = Date()
            let r = f.session.exec(["/usr/bin/python3", f.scratch + "/crash_loop.py", specPath], timeout: 200)
            let seconds = Date().timeIntervalSince(t0)
            try #require(r.succeeded, "\(r)")
            let report = try #require(r.json, "\(r)")
            let runs = report["runs"] as? Int ?? 0, killed = report["killed"] as? Int ?? 0
            #expect(runs == Self.crashRuns)
            #expect(killed > 0 && killed < runs, "kills should land at varying moments: \(killed)/\(runs)")
            let failures = report["failures"] as? [Any] ?? []
            #expect(failures.isEmpty, "completed runs failed (seed \(seed)): \(failures)")
            #expect(report["maxHelpers"] as? Int ?? 99 <= 1, "a second helper was running (seed \(seed))")
            #expect(report["lockStuck"] as? Int == 0, "lock held after its holder died (seed \(seed))")
            let converge = report["converge"] as? [[String: Any]] ?? []
            #expect(converge.map { $0["helpers"] as? Int ?? -1 } == [0, 1, 0], "helpers after DEL/ADD/DEL all: \(converge)")
            f.expectClean(stateDir, "after the crash loop (seed \(seed))")
            print("reliability: crash loop: \(runs) runs, \(killed) killed at 0-\(Self.maxDelayMs) ms, loop \(report["loopSeconds"] ?? "?") s, total \(String(format: "%.1f", seconds)) s, seed \(seed)")
        }

        @Test("helper SIGKILLed while attached: CHECK says 51, next ADD restarts it, existing containers reach the host again")
        func helperKilledRealChain() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.bridgeConflist(stateDir: "rel-helper")
            let netns = try f.makeNetns("hk", count: 3)
            for i in 0..<2 {
                let r = f.cni(conflist, "add", netns[i], containerID: "rel-hk-\(i)")
                try #require(r.succeeded, "\(r)")
            }
            let helper = try #require(f.helpers().first, "no helper")
            #expect(f.helpers().count == 1)
            _ = Command.run(["kill", "-9", "\(helper.pid)"], timeout: 10)
            for _ in 0..<100 where Procs.isAlive(helper.pid) { usleep(20_000) }

            let check = f.cni(conflist, "check", netns[0], containerID: "rel-hk-0")
            #expect(!check.succeeded && check.json?["code"] as? Int == 51, "\(check)")
            #expect(f.status(stateDir)["health"] as? String == "helper-dead")

            let add = f.cni(conflist, "add", netns[2], containerID: "rel-hk-2")
            try #require(add.succeeded, "\(add)")
            let helpers = f.helpers()
            #expect(helpers.count == 1 && helpers.first?.pid != helper.pid, "\(helpers)")
            #expect(f.cni(conflist, "check", netns[0], containerID: "rel-hk-0").succeeded)

            // Every container, the two old ones included, reaches the host's loopback again.
            let port = TCP.randomPort()
            let server = try TCP.server(port: port, reply: "after-restart")
            defer { server.stop() }
            #expect(TCP.waitReady(server))
            for ns in netns {
                let r = f.session.exec(["nsenter", "--net=\(ns)", "/usr/bin/python3", "-c", TCP.clientScript,
                                        "10.0.2.2", "\(port)", "3"], timeout: 20)
                #expect(r.stdout.contains("after-restart"), "\(ns): \(r)")
            }
            for i in 0..<3 { #expect(f.cni(conflist, "del", netns[i], containerID: "rel-hk-\(i)").succeeded) }
            f.expectClean(stateDir, "after DEL of all")
        }

        @Test("STATUS (1.1.0): fine when up, 51 with attachments and a dead helper, fine again after the next ADD; 50 without a helper binary")
        func statusCodes() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.fakeConflist(stateDir: "rel-status")
            let netns = try f.makeNetns("st", count: 2)
            #expect(f.cni(conflist, "status").succeeded, "nothing attached: the delegates' STATUS")
            let add = f.cni(conflist, "add", netns[0], containerID: "rel-st-0")
            try #require(add.succeeded, "\(add)")
            #expect(f.cni(conflist, "status").succeeded)
            let helper = try #require(f.helpers().first)
            _ = Command.run(["kill", "-9", "\(helper.pid)"], timeout: 10)
            for _ in 0..<100 where Procs.isAlive(helper.pid) { usleep(20_000) }
            let status = f.cni(conflist, "status")
            #expect(status.json?["code"] as? Int == 51, "\(status)")
            let check = f.cni(conflist, "check", netns[0], containerID: "rel-st-0")
            #expect(check.json?["code"] as? Int == 51, "\(check)")
            let add2 = f.cni(conflist, "add", netns[1], containerID: "rel-st-1")
            #expect(add2.succeeded, "\(add2)")
            #expect(f.cni(conflist, "status").succeeded)
            #expect(f.helpers().count == 1)
            // A delegate's own STATUS error comes through.
            let (failing, _) = try f.fakeConflist(stateDir: "rel-status-d",
                                                  delegates: [["type": "relfake", "relFailStatus": 50]])
            let dstatus = f.cni(failing, "status")
            #expect(dstatus.json?["code"] as? Int == 50, "\(dstatus)")
            for i in 0..<2 { #expect(f.cni(conflist, "del", netns[i], containerID: "rel-st-\(i)").succeeded) }
            f.expectClean(stateDir, "after DEL")

            // No helper binary: 50.
            let (nobin, _) = try f.fakeConflist(stateDir: "rel-status-nobin") { p in
                p["backendPath"] = "/nonexistent/slirp4netns"
            }
            let s50 = f.cni(nobin, "status")
            #expect(s50.json?["code"] as? Int == 50, "\(s50)")
        }
    }
}
