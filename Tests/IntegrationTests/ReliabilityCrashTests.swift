import Foundation
import Testing

extension ReliabilityTests {
    /// The plugin or its helper dying at any moment: the next operation converges.
    @Suite("crashes")
    struct Crashes {
        /// 50 in CI; `RCNI_CRASH_RUNS=500` for a longer hunt (the seed is printed; `RCNI_CRASH_SEED` replays).
        static let crashRuns = ProcessInfo.processInfo.environment["RCNI_CRASH_RUNS"].flatMap(Int.init) ?? 50

        @Test("plugin SIGKILLed at calibrated moments of ADD/DEL (50 runs): next ADD/DEL converges, one helper, lock free, nothing left",
              arguments: RootlessNetnsTests.backends)
        func killPluginLoop(backend: String) throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.bridgeConflist(stateDir: "rel-crash", backend: backend)
            let netns = try f.makeNetns("ck", count: 4)
            let seed = ProcessInfo.processInfo.environment["RCNI_CRASH_SEED"].flatMap(UInt32.init) ?? UInt32.random(in: 0..<1_000_000)
            let spec: [String: Any] = [
                "plugin": Products.rootlessNetns, "config": try f.pluginConf(conflist),
                "containers": netns.enumerated().map { ["id": "rel-crash-\($0.offset)", "netns": $0.element] },
                "xdg": f.user.runtimeDir, "cniPath": Products.cniPath, "stateDir": stateDir,
                "runs": Self.crashRuns, "seed": seed,
            ]
            let specPath = f.scratch + "/crash.json"
            try Scratch.write(try Scratch.jsonText(spec), to: specPath)
            try f.user.chown(specPath)
            let t0 = Date()
            let r = f.session.exec(["/usr/bin/python3", f.scratch + "/crash_loop.py", specPath],
                                   timeout: 180 + Double(Self.crashRuns) * 3)
            let seconds = Date().timeIntervalSince(t0)
            try #require(r.succeeded, "\(r)")
            let report = try #require(r.json, "\(r)")
            let runs = report["runs"] as? Int ?? 0, killed = report["killed"] as? Int ?? 0
            let kills = report["kills"] as? [[String: Any]] ?? []
            let fracs = kills.compactMap { ($0["frac"] as? NSNumber)?.doubleValue }
            #expect(runs == Self.crashRuns)
            // Kills land in ADDs and in DELs, early and late in each, and enough operations
            // complete between them (every 4th run is not killed).
            #expect(kills.filter { $0["cmd"] as? String == "ADD" }.count >= 3, "killed ADDs: \(kills)")
            #expect(kills.filter { $0["cmd"] as? String == "DEL" }.count >= 3, "killed DELs: \(kills)")
            #expect(fracs.filter { $0 < 0.5 }.count >= 2 && fracs.filter { $0 >= 0.5 }.count >= 2, "kill points: \(fracs)")
            #expect((report["completedAdds"] as? Int ?? 0) >= 2 && (report["completedDels"] as? Int ?? 0) >= 3, "\(report)")
            let failures = report["failures"] as? [Any] ?? []
            #expect(failures.isEmpty, "completed runs failed (seed \(seed)): \(failures)")
            #expect(report["maxHelpers"] as? Int ?? 99 <= 1, "a second helper was running (seed \(seed))")
            #expect(report["lockStuck"] as? Int == 0, "lock held after its holder died (seed \(seed))")
            let converge = report["converge"] as? [[String: Any]] ?? []
            #expect(converge.map { $0["helpers"] as? Int ?? -1 } == [0, 1, 0], "helpers after DEL/ADD/DEL all: \(converge)")
            f.expectClean(stateDir, "after the crash loop (seed \(seed))")
            let quarters = (0..<5).map { q in fracs.filter { min(4, Int($0 * 4)) == q }.count }
            print("reliability: \(backend) crash loop: \(runs) runs, \(killed) killed, calibration ms \(report["calibration"] ?? "?"), kills per quarter of the op \(quarters) (last: after it), completed ADD/DEL \(report["completedAdds"] ?? "?")/\(report["completedDels"] ?? "?"), loop \(report["loopSeconds"] ?? "?") s, total \(String(format: "%.1f", seconds)) s, seed \(seed)")
        }

        /// A stand-in for slirp4netns that takes 5 s to report ready (and then never exits).
        static let slowHelperSource = """
            #include <signal.h>
            #include <stdlib.h>
            #include <string.h>
            #include <unistd.h>
            int main(int argc, char **argv) {
                int fd = -1;
                for (int i = 1; i < argc; i++) {
                    if (strcmp(argv[i], "--help") == 0) return 0;
                    if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) fd = atoi(argv[i + 1]);
                }
                sleep(5);
                if (fd >= 0 && write(fd, "1", 1) != 1) return 1;
                for (;;) pause();
            }
            """

        @Test("plugin killed while its new helper is not ready yet: the next ADD replaces that helper, not trusts it",
              .enabled(if: Command.which("cc") != nil, "needs a C compiler for the slow fake helper"))
        func killedBeforeHelperReady() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let fakeDir = f.scratch + "/fakebin"
            try FileManager.default.createDirectory(atPath: fakeDir, withIntermediateDirectories: true)
            try Scratch.write(Self.slowHelperSource, to: fakeDir + "/slow.c")
            let cc = Command.run(["cc", "-O1", "-o", fakeDir + "/slirp4netns", fakeDir + "/slow.c"], timeout: 60)
            try #require(cc.succeeded, "\(cc)")
            try f.user.chown(fakeDir)
            let (conflist, stateDir) = try f.bridgeConflist(stateDir: "rel-unready")
            let slow = try f.pluginConf(conflist, ["backendPath": fakeDir + "/slirp4netns"])
            let netns = try f.makeNetns("ur", count: 2)

            // ADD with the slow helper, SIGKILLed once its helper runs (polled: no fixed window
            // that a loaded machine could miss), while it waits for the helper to be ready.
            let env = f.pluginEnv("ADD", containerID: "rel-ur-0", netns: netns[0])
            let vars = env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            let confPath = f.scratch + "/slow.json"
            try Scratch.write(slow, to: confPath)
            try f.user.chown(confPath)
            let stdinFrom = "import os, sys; os.dup2(os.open(sys.argv[1], os.O_RDONLY), 0); os.execv(sys.argv[2], sys.argv[2:])"
            let adding = try Background([Paths.cnitool, "--user", f.user.name, "session", "exec", "--", "/usr/bin/env", "-i"]
                                        + vars + ["/usr/bin/python3", "-c", stdinFrom, confPath, Products.rootlessNetns], seconds: 60)
            defer { adding.stop() }
            var fakeSeen: Procs.Info?
            let deadline = Date().addingTimeInterval(30)
            while fakeSeen == nil && Date() < deadline {
                fakeSeen = f.helpers().first { $0.cmdline.first == fakeDir + "/slirp4netns" }
                if fakeSeen == nil { usleep(20_000) }
            }
            let fake = try #require(fakeSeen, "the slow helper never started: \(f.helpers())")
            let plugin = try #require(Procs.live(uid: f.user.uid).first { Procs.argv0Name($0) == "rootless-netns" && $0.cmdline.count == 1 },
                                      "the ADD finished before its helper was ready")
            _ = Command.run(["kill", "-9", "\(plugin.pid)"], timeout: 10)
            for _ in 0..<250 where Procs.isAlive(plugin.pid) { usleep(20_000) }
            #expect(!Procs.isAlive(plugin.pid))
            #expect(Procs.isAlive(fake.pid), "the helper must outlive the killed plugin for this test")

            // The next ADD (normal config, same state dir) must not adopt the half-started helper.
            let add = f.cni(conflist, "add", netns[1], containerID: "rel-ur-1")
            try #require(add.succeeded, "\(add)")
            #expect(!Procs.isAlive(fake.pid), "the unready helper was kept")
            let helpers = f.helpers()
            #expect(helpers.count == 1 && helpers.first?.cmdline.first != fakeDir + "/slirp4netns", "\(helpers)")
            let port = TCP.freePort()
            let server = try TCP.server(port: port, reply: "ready-helper")
            defer { server.stop() }
            #expect(TCP.waitReady(server))
            let r = f.session.exec(["nsenter", "--net=\(netns[1])", "/usr/bin/python3", "-c", TCP.clientScript,
                                    "10.0.2.2", "\(port)", "3"], timeout: 20)
            #expect(r.stdout.contains("ready-helper"), "\(r)")
            #expect(f.cni(conflist, "del", netns[0], containerID: "rel-ur-0").succeeded)
            #expect(f.cni(conflist, "del", netns[1], containerID: "rel-ur-1").succeeded)
            f.expectClean(stateDir, "after DEL")
        }

        @Test("helper SIGKILLed while attached: CHECK says 51, next ADD restarts it, existing containers reach the host again",
              arguments: RootlessNetnsTests.backends)
        func helperKilledRealChain(backend: String) throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.bridgeConflist(stateDir: "rel-helper", backend: backend)
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
            let port = TCP.freePort()
            let server = try TCP.server(port: port, reply: "after-restart")
            defer { server.stop() }
            #expect(TCP.waitReady(server))
            let hostAddr = f.hostAddress(backend: backend, stateDir: stateDir)
            for ns in netns {
                let r = f.session.exec(["nsenter", "--net=\(ns)", "/usr/bin/python3", "-c", TCP.clientScript,
                                        hostAddr, "\(port)", "3"], timeout: 20)
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
