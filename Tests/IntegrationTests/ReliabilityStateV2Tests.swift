import Foundation
import Testing

extension ReliabilityTests {
    /// State v2 (issue 10): networks, runtimes and crashes sharing one state dir. Each test is a
    /// regression test of a reproduced bug; each failed on the code before state v2.
    @Suite("state v2")
    struct StateV2 {
        static func log(_ f: RelFixture, _ name: String = FakeDelegate.logName) -> [[String: Any]] {
            guard let text = try? String(contentsOfFile: f.plugins + "/" + name, encoding: .utf8) else { return [] }
            return text.split(separator: "\n").compactMap { Command.jsonObject(String($0)) }
        }

        static func dels(_ f: RelFixture, _ name: String = FakeDelegate.logName) -> [String] {
            log(f, name).filter { $0["command"] as? String == "DEL" }.compactMap { $0["containerID"] as? String }
        }

        /// A conflist named `network` on `stateDir` with relfake delegates.
        static func conflist(_ f: RelFixture, network: String, stateDir: String,
                             delegates: [[String: Any]] = [["type": "relfake"]],
                             mutate: (inout [String: Any]) -> Void = { _ in }) throws -> String {
            var plugin = RelPlugin.rootlessEntry(stateDir: stateDir, delegates: delegates)
            mutate(&plugin)
            return try f.writeConflist(["cniVersion": "1.1.0", "name": network, "plugins": [plugin]],
                                       name: network + ".conflist")
        }

        @Test("GC of one network never touches another network's attachments on the same state dir")
        func gcStaysInItsNetwork() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let dir = f.stateDir("rel-v2-gcnet")
            let net1 = try Self.conflist(f, network: "stnet1", stateDir: dir)
            let net2 = try Self.conflist(f, network: "stnet2", stateDir: dir)
            let ns = try f.makeNetns("v2g", count: 3)
            #expect(f.cni(net1, "add", ns[0], containerID: "g-a").succeeded)
            #expect(f.cni(net2, "add", ns[1], containerID: "g-b").succeeded)
            // The same container and ifname on both networks: two records, never mixed.
            #expect(f.cni(net1, "add", ns[2], containerID: "g-c").succeeded)
            #expect(f.cni(net2, "add", ns[2], containerID: "g-c").succeeded)
            #expect(f.attachmentCount(dir) == 4)

            _ = Command.run(["rm", "-f", f.plugins + "/" + FakeDelegate.logName], timeout: 10)
            let gc = f.cni(net1, "gc", extra: ["--valid-attachments", #"[{"containerID":"g-a","ifname":"eth0"}]"#])
            #expect(gc.succeeded, "\(gc)")
            // Only stnet1's g-c went; stnet2's attachments (including its own g-c) stay.
            #expect(Self.dels(f) == ["g-c"], "\(Self.log(f))")
            #expect(Self.log(f).filter { $0["command"] as? String == "DEL" }.allSatisfy {
                (($0["env"] as? [String: String]) ?? [:])["CNI_CONTAINERID"] == "g-c"
            })
            #expect(f.attachmentCount(dir) == 3)
            let left = Set(((f.status(dir)["attachments"] as? [[String: Any]]) ?? []).map {
                "\($0["network"] as? String ?? "?")/\($0["containerID"] as? String ?? "?")"
            })
            #expect(left == ["stnet1/g-a", "stnet2/g-b", "stnet2/g-c"])
            #expect(f.cni(net2, "check", ns[2], containerID: "g-c").succeeded)

            for (net, cid, n) in [(net1, "g-a", ns[0]), (net2, "g-b", ns[1]), (net2, "g-c", ns[2])] {
                #expect(f.cni(net, "del", n, containerID: cid).succeeded)
            }
            f.expectClean(dir, "after the last DEL")
        }

        @Test("GC without cni.dev/valid-attachments is refused (code 7) and removes nothing")
        func gcWithoutListIsRefused() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, dir) = try f.fakeConflist(stateDir: "rel-v2-gcnolist")
            let ns = try f.makeNetns("v2n", count: 1)
            #expect(f.cni(conflist, "add", ns[0], containerID: "n-a").succeeded)
            _ = Command.run(["rm", "-f", f.plugins + "/" + FakeDelegate.logName], timeout: 10)
            let out = f.plugin(env: f.pluginEnv("GC", containerID: ""), stdin: try f.pluginConf(conflist))
            #expect(!out.succeeded)
            #expect(out.json?["code"] as? Int == 7, "\(out)")
            #expect(Self.dels(f).isEmpty)
            #expect(f.attachmentCount(dir) == 1)
            #expect(f.helpers().count == 1)
            #expect(f.cni(conflist, "del", ns[0], containerID: "n-a").succeeded)
            f.expectClean(dir, "after DEL")
        }

        @Test("a chain DEL that fails keeps the record: GC and DEL retry it, then clean up")
        func failedChainDelIsRetried() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let dir = f.stateDir("rel-v2-retry")
            let conflist = try Self.conflist(f, network: "retrynet", stateDir: dir,
                                             delegates: [["type": "relfake"], ["type": "relfailonce", "relFailOnce": "DEL"]])
            let ns = try f.makeNetns("v2r", count: 2)
            #expect(f.cni(conflist, "add", ns[0], containerID: "r-gc").succeeded)
            #expect(f.cni(conflist, "add", ns[1], containerID: "r-del").succeeded)

            // The plugin's own GC (not libcni's, which DELs cached stale attachments first): the
            // first chain DEL of r-gc fails; its record must stay for the next GC.
            let valid: [String: Any] = ["cni.dev/valid-attachments": [["containerID": "r-del", "ifname": "eth0"]]]
            let gc1 = f.plugin(env: f.pluginEnv("GC", containerID: ""), stdin: try f.pluginConf(conflist, valid))
            #expect(!gc1.succeeded, "\(gc1)")
            #expect(f.attachmentCount(dir) == 2)
            let gc2 = f.plugin(env: f.pluginEnv("GC", containerID: ""), stdin: try f.pluginConf(conflist, valid))
            #expect(gc2.succeeded, "\(gc2)")
            #expect(f.attachmentCount(dir) == 1)

            // DEL: fails once (record kept, namespace up), the runtime's retry succeeds and tears down.
            let del1 = f.cni(conflist, "del", ns[1], containerID: "r-del")
            #expect(!del1.succeeded)
            #expect(f.attachmentCount(dir) == 1)
            #expect(f.helpers().count == 1)
            let del2 = f.cni(conflist, "del", ns[1], containerID: "r-del")
            #expect(del2.succeeded, "\(del2)")
            f.expectClean(dir, "after the retried DEL")
        }

        @Test("a config nested 2040 levels deep is refused at ADD (code 7) before any delegate runs")
        func deepConfigRefusedUpFront() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let dir = f.stateDir("rel-v2-deep")
            // 4 KB of JSON that a pretty-printed record turned into 8 MB.
            let deep = String(repeating: "[", count: 2040) + String(repeating: "]", count: 2040)
            let conf = #"{"cniVersion":"1.1.0","name":"deepnet","type":"rootless-netns","backend":"slirp4netns","stateDir":"\#(dir)","delegates":[{"type":"relfake","x":\#(deep)}]}"#
            let ns = try f.makeNetns("v2d", count: 1)
            let out = f.plugin(env: f.pluginEnv("ADD", containerID: "d-a", netns: ns[0]), stdin: conf)
            #expect(!out.succeeded)
            #expect(out.json?["code"] as? Int == 7, "\(out)")
            #expect((out.json?["msg"] as? String)?.contains("nested") == true, "\(out)")
            #expect(Self.log(f).isEmpty)
            #expect(!FileManager.default.fileExists(atPath: dir))
        }

        @Test("an oversized or unreadable record does not wedge DEL: best-effort chain DEL, record removed, teardown")
        func oversizedRecordDoesNotWedgeDel() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, dir) = try f.fakeConflist(stateDir: "rel-v2-big")
            let ns = try f.makeNetns("v2b", count: 1)
            #expect(f.cni(conflist, "add", ns[0], containerID: "b-a").succeeded)
            let records = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/attachments")) ?? []
            let record = try #require(records.first { $0.hasSuffix(".json") })
            // 5 MiB: over the load limit, as an 8 MB pretty-printed record was.
            try Data(repeating: 0x20, count: 5 << 20).write(to: URL(fileURLWithPath: dir + "/attachments/" + record))
            let del = f.cni(conflist, "del", ns[0], containerID: "b-a")
            #expect(del.succeeded, "\(del)")
            f.expectClean(dir, "after DEL of an oversized record")
        }

        @Test("an ADD whose helper cannot start (backendPath /bin/false) fails with 50 and leaves nothing")
        func helperStartFailureRollsBack() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, dir) = try f.fakeConflist(stateDir: "rel-v2-nohelper") { p in p["backendPath"] = "/bin/false" }
            let ns = try f.makeNetns("v2h", count: 1)
            let out = f.cni(conflist, "add", ns[0], containerID: "h-a")
            #expect(!out.succeeded)
            #expect(out.json?["code"] as? Int == 50, "\(out)")
            f.expectClean(dir, "after the failed ADD")
        }

        @Test("a 240-character container ID is attached and released (record name hashed)")
        func longContainerID() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, dir) = try f.fakeConflist(stateDir: "rel-v2-longid")
            let ns = try f.makeNetns("v2l", count: 1)
            let cid = String(repeating: "a1", count: 120)
            let add = f.cni(conflist, "add", ns[0], containerID: cid)
            #expect(add.succeeded, "\(add)")
            #expect(f.attachmentCount(dir) == 1)
            #expect(f.cni(conflist, "check", ns[0], containerID: cid).succeeded)
            let ids = ((f.status(dir)["attachments"] as? [[String: Any]]) ?? []).compactMap { $0["containerID"] as? String }
            #expect(ids == [cid])
            #expect(f.cni(conflist, "del", ns[0], containerID: cid).succeeded)
            f.expectClean(dir, "after DEL")
        }

        @Test("attachments whose namespace is provably gone are released by the next ADD and by GC; others stay")
        func reapsGoneNamespaces() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let dir = f.stateDir("rel-v2-reap")
            let net1 = try Self.conflist(f, network: "reapnet1", stateDir: dir)
            let net2 = try Self.conflist(f, network: "reapnet2", stateDir: dir)
            let ns = try f.makeNetns("v2p", count: 4)
            #expect(f.cni(net1, "add", ns[0], containerID: "p-gone1").succeeded)
            #expect(f.cni(net2, "add", ns[1], containerID: "p-gone2").succeeded)
            #expect(f.cni(net1, "add", ns[2], containerID: "p-live").succeeded)
            // The runtime never sends DEL (ctr run -d): the container's namespace just goes.
            let names = [ns[0], ns[1]].map { URL(fileURLWithPath: $0).lastPathComponent }
            #expect(f.session.exec(["/usr/bin/python3", f.scratch + "/netns_batch.py", "del", f.containerNetnsDir] + names,
                                   timeout: 60).succeeded)
            _ = Command.run(["rm", "-f", f.plugins + "/" + FakeDelegate.logName], timeout: 10)

            #expect(f.cni(net1, "add", ns[3], containerID: "p-new").succeeded)
            #expect(Set(Self.dels(f)) == ["p-gone1", "p-gone2"], "\(Self.log(f))")
            // Released with the netns left out (it is gone), under each record's own network.
            for entry in Self.log(f) where entry["command"] as? String == "DEL" {
                let env = (entry["env"] as? [String: String]) ?? [:]
                #expect(env["CNI_NETNS"] == nil || env["CNI_NETNS"] == "")
            }
            #expect(f.attachmentCount(dir) == 2)
            #expect(f.cni(net1, "check", ns[2], containerID: "p-live").succeeded)

            for (cid, n) in [("p-live", ns[2]), ("p-new", ns[3])] { #expect(f.cni(net1, "del", n, containerID: cid).succeeded) }
            f.expectClean(dir, "after the last DEL")
        }

        /// A delegate whose ADD sleeps `sleepSeconds`, then logs whether the shared namespace
        /// file (`sharedNetns`) still exists.
        static let sleeperSource = #"""
        #!/usr/bin/env python3
        import json, os, sys, time
        conf = json.loads(sys.stdin.read() or "{}")
        cmd = os.environ.get("CNI_COMMAND", "")
        here = os.path.dirname(os.path.abspath(__file__))
        v = conf.get("cniVersion", "1.0.0")
        if cmd == "VERSION":
            print(json.dumps({"cniVersion": v, "supportedVersions": ["1.0.0", "1.1.0"]})); sys.exit(0)
        if cmd == "ADD":
            open(os.path.join(here, "sleeper.started"), "a").close()
            time.sleep(float(conf.get("sleepSeconds", 0)))
            with open(os.path.join(here, "sleeper.jsonl"), "a") as f:
                f.write(json.dumps({"woke": time.monotonic(), "sharedNetnsExists": os.path.exists(conf.get("sharedNetns", "/nonexistent"))}) + "\n")
            print(json.dumps({"cniVersion": v, "interfaces": [{"name": "eth0"}], "ips": [{"address": "10.97.0.2/24", "interface": 0}]}))
        sys.exit(0)
        """#

        /// Starts an ADD through cnitool in the background, waits until its delegate `sleeper`
        /// runs its ADD (a marker file: a process list would also show the plugin's VERSION
        /// query of `sleeper`, and killing the plugin then leaves no delegate running), then
        /// SIGKILLs the plugin process (not the delegate).
        static func addAndKillPlugin(_ f: RelFixture, conflist: String, netns: String, containerID: String) throws -> Background {
            let bg = try Background([Paths.cnitool, "--rootless", "--user", f.user.name, "--conflist", conflist,
                                     "--cni-path", f.plugins + ":" + Products.cniPath, "--ifname", "eth0",
                                     "--cache-dir", f.scratch + "/cache", "--timeout", "60",
                                     "--container-id", containerID, "add", netns], seconds: 90)
            let deadline = Date().addingTimeInterval(30)
            var killed = false
            while Date() < deadline && !killed {
                if FileManager.default.fileExists(atPath: f.plugins + "/sleeper.started") {
                    killed = Command.run(["pkill", "-9", "-u", "\(f.user.uid)", "-x", "rootless-netns"], timeout: 10).succeeded
                }
                usleep(50_000)
            }
            try #require(killed, "the plugin of the sleeping ADD was never seen")
            return bg
        }

        @Test("a SIGKILLed plugin's running delegate keeps the lock: the last DEL waits for it before teardown")
        func orphanDelegateKeepsLock() throws {
            var f = try RelFixture()
            defer { f.finish() }
            try Scratch.write(Self.sleeperSource, to: f.plugins + "/sleeper", mode: 0o755)
            try f.user.chown(f.plugins)
            let dir = f.stateDir("rel-v2-orphan")
            let fast = try Self.conflist(f, network: "orphnet", stateDir: dir)
            let ns = try f.makeNetns("v2o", count: 2)
            #expect(f.cni(fast, "add", ns[0], containerID: "o-a").succeeded)
            let shared = try #require(f.status(dir)["netns"] as? String)
            let slow = try f.writeConflist(["cniVersion": "1.1.0", "name": "orphnet", "plugins": [
                RelPlugin.rootlessEntry(stateDir: dir, delegates: [["type": "sleeper", "sleepSeconds": 4, "sharedNetns": shared]]),
            ]], name: "orphnet-slow.conflist")
            let bg = try Self.addAndKillPlugin(f, conflist: slow, netns: ns[1], containerID: "o-b")
            defer { bg.stop() }
            // The last DEL: before the fix it tore the namespace down under the sleeping delegate.
            let del = f.cni(fast, "del", ns[0], containerID: "o-a")
            #expect(del.succeeded, "\(del)")
            let log = Self.log(f, "sleeper.jsonl")
            #expect(log.count == 1, "the orphaned delegate did not finish before the DEL returned: \(log)")
            #expect(log.first?["sharedNetnsExists"] as? Bool == true, "the namespace was torn down under a running delegate: \(log)")
            f.expectClean(dir, "after the last DEL")
        }

        @Test("an orphaned delegate hung past delegateTimeout is killed by the next lock waiter")
        func orphanPastDeadlineIsKilled() throws {
            var f = try RelFixture()
            defer { f.finish() }
            try Scratch.write(Self.sleeperSource, to: f.plugins + "/sleeper", mode: 0o755)
            try f.user.chown(f.plugins)
            let dir = f.stateDir("rel-v2-hung")
            let fast = try Self.conflist(f, network: "hungnet", stateDir: dir)
            let ns = try f.makeNetns("v2u", count: 2)
            #expect(f.cni(fast, "add", ns[0], containerID: "u-a").succeeded)
            let slow = try f.writeConflist(["cniVersion": "1.1.0", "name": "hungnet", "plugins": [
                RelPlugin.rootlessEntry(stateDir: dir, delegates: [["type": "sleeper", "sleepSeconds": 600]]).merging(["delegateTimeout": 2]) { $1 },
            ]], name: "hungnet-slow.conflist")
            let bg = try Self.addAndKillPlugin(f, conflist: slow, netns: ns[1], containerID: "u-b")
            defer { bg.stop() }
            let t0 = Date()
            let del = f.cni(fast, "del", ns[0], containerID: "u-a")
            #expect(del.succeeded, "\(del)")
            // Its deadline (2 s + 1 s) is enforced by the waiting DEL, not after the lock timeout.
            #expect(Date().timeIntervalSince(t0) < 60, "DEL waited \(Date().timeIntervalSince(t0)) s")
            #expect(!Command.run(["pgrep", "-u", "\(f.user.uid)", "-f", f.plugins + "/sleeper"], timeout: 10).succeeded)
            #expect(Self.log(f, "sleeper.jsonl").isEmpty)
            f.expectClean(dir, "after the last DEL")
        }
    }
}
