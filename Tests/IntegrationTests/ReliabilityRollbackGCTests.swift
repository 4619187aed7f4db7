import Foundation
import Testing

extension ReliabilityTests {
    /// Rollback of a failed port forward, DEL after the conflist changed, GC when the shared
    /// namespace is down and GC of the last attachment. Fake delegates log every call
    /// (`calls.jsonl`), so each test sees which chain operations really ran.
    @Suite("rollback, replayed DEL and GC")
    struct RollbackGC {
        static func calls(_ f: RelFixture, _ command: String, _ containerID: String) -> [String] {
            RelPlugin.log(f.plugins).filter { $0["command"] as? String == command && $0["containerID"] as? String == containerID }
                .compactMap { $0["plugin"] as? String }
        }

        static func canBind(_ port: Int) -> Bool {
            let r = Command.run(["/usr/bin/python3", "-c",
                                 "import socket, sys; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1])))", "\(port)"],
                                timeout: 10)
            return r.succeeded
        }

        @Test("a port forward that fails (host port taken) rolls the ADD back: chain DEL ran, no record, other forwards released",
              arguments: RootlessNetnsTests.backends)
        func forwardFailureRollsBack(backend: String) throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.fakeConflist(stateDir: "rel-fwd-\(backend)",
                                                          delegates: [["type": "relfake"], ["type": "relfake2"]]) { p in
                p["backend"] = backend
                p["capabilities"] = ["portMappings": true]
            }
            let netns = try f.makeNetns("fw", count: 2)
            // A, without mappings, keeps the namespace up: the rollback cannot hide in a teardown.
            let addA = f.cni(conflist, "add", netns[0], containerID: "rel-fw-a")
            try #require(addA.succeeded, "\(addA)")
            let helper = try #require(f.helpers().first?.pid, "no helper")

            let ports = TCP.freePorts(2)
            let (free, taken) = (ports[0], ports[1])
            let holder = try TCP.server(port: taken, reply: "taken")
            defer { holder.stop() }
            try #require(TCP.waitReady(holder), "cannot hold port \(taken)")
            let caps = #"{"portMappings":[{"hostPort":\#(free),"containerPort":80,"protocol":"tcp","hostIP":"127.0.0.1"},"#
                + #"{"hostPort":\#(taken),"containerPort":81,"protocol":"tcp","hostIP":"127.0.0.1"}]}"#
            let addB = f.cni(conflist, "add", netns[1], containerID: "rel-fw-b", extra: ["--cap-args", caps])
            #expect(!addB.succeeded, "ADD with a taken host port succeeded: \(addB)")
            #expect(Self.calls(f, "ADD", "rel-fw-b").sorted() == ["relfake", "relfake2"], "\(RelPlugin.log(f.plugins))")
            // The chain's DEL ran for B (in reverse order), after its ADD.
            #expect(Self.calls(f, "DEL", "rel-fw-b") == ["relfake2", "relfake"], "rollback DEL: \(RelPlugin.log(f.plugins))")
            #expect(f.attachmentCount(stateDir) == 1, "\(f.status(stateDir))")
            #expect(f.helpers().map(\.pid) == [helper], "the helper survives: \(f.helpers())")
            // The forward that did succeed before the failing one is released.
            #expect(Self.canBind(free), "host port \(free) still held after the rollback")
            #expect(TCP.fetchFromHost(port: taken).stdout.contains("taken"), "the holder of \(taken) was disturbed")
            #expect(f.cni(conflist, "check", netns[0], containerID: "rel-fw-a").succeeded)
            #expect(f.cni(conflist, "del", netns[0], containerID: "rel-fw-a").succeeded)
            f.expectClean(stateDir, "after DEL of A")
        }

        @Test("DEL after the conflist was edited runs the delegates recorded at ADD, not the new ones")
        func delReplayedAfterEdit() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.fakeConflist(stateDir: "rel-replay",
                                                          delegates: [["type": "relfake"], ["type": "relfake2"]])
            let ns = try f.makeNetns("rp", count: 2)
            for (i, id) in ["rel-rp-0", "rel-rp-1"].enumerated() {
                let add = f.plugin(env: f.pluginEnv("ADD", containerID: id, netns: ns[i]), stdin: try f.pluginConf(conflist))
                try #require(add.succeeded, "\(add)")
            }
            // The network now has another delegate (one that would log its DEL).
            let (edited, _) = try f.fakeConflist(stateDir: "rel-replay", delegates: [["type": "relhang", "relHang": "ADD"]])
            let conf = try f.pluginConf(edited)
            #expect(conf.contains("relhang") && !conf.contains("relfake2"))
            let del = f.plugin(env: f.pluginEnv("DEL", containerID: "rel-rp-0", netns: ns[0]), stdin: conf)
            #expect(del.succeeded, "\(del)")
            #expect(Self.calls(f, "DEL", "rel-rp-0") == ["relfake2", "relfake"], "\(RelPlugin.log(f.plugins))")
            #expect(f.attachmentCount(stateDir) == 1)
            // Replayed (the runtime retries): succeeds; with no record left it may only run the current chain.
            let again = f.plugin(env: f.pluginEnv("DEL", containerID: "rel-rp-0", netns: ns[0]), stdin: conf)
            #expect(again.succeeded, "\(again)")
            #expect(Array(Self.calls(f, "DEL", "rel-rp-0").prefix(2)) == ["relfake2", "relfake"])
            #expect(f.attachmentCount(stateDir) == 1)
            // The last DEL, also with the edited config: the recorded chain, then teardown.
            let last = f.plugin(env: f.pluginEnv("DEL", containerID: "rel-rp-1", netns: ns[1]), stdin: conf)
            #expect(last.succeeded, "\(last)")
            #expect(Self.calls(f, "DEL", "rel-rp-1") == ["relfake2", "relfake"], "\(RelPlugin.log(f.plugins))")
            f.expectClean(stateDir, "after both DELs")
        }

        @Test("GC with the shared namespace down removes the stale records, keeps the valid ones; ADD and DEL work after it")
        func gcNamespaceDown() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.fakeConflist(stateDir: "rel-gc-down")
            let ns = try f.makeNetns("gd", count: 3)
            for i in 0..<2 { try #require(f.cni(conflist, "add", ns[i], containerID: "rel-gd-\(i)").succeeded) }
            let shared = try #require(f.status(stateDir)["netns"] as? String)
            // The namespace goes down: helper killed, its mount gone (a lost session, say).
            for h in f.helpers() { _ = Command.run(["kill", "-9", "\(h.pid)"], timeout: 10) }
            for _ in 0..<250 where !f.helpers().isEmpty { usleep(20_000) }
            let umount = f.session.exec(["umount", shared])
            #expect(umount.succeeded, "\(umount)")
            #expect(f.sharedNetnsMounts().isEmpty, "\(f.sharedNetnsMounts())")

            let keep = try Scratch.jsonText([["containerID": "rel-gd-1", "ifname": "eth0"]])
            let gc = f.cni(conflist, "gc", extra: ["--valid-attachments", keep])
            #expect(gc.succeeded, "\(gc)")
            let records = (try? FileManager.default.contentsOfDirectory(atPath: stateDir + "/attachments")) ?? []
            #expect(records.filter { $0.hasSuffix(".json") } == ["relnet+rel-gd-1@eth0.json"], "\(records)")
            #expect(f.helpers().isEmpty, "GC started a helper: \(f.helpers())")

            let add = f.cni(conflist, "add", ns[2], containerID: "rel-gd-2")
            try #require(add.succeeded, "\(add)")
            #expect(f.helpers().count == 1 && f.sharedNetnsMounts().count == 1, "\(f.helpers()) \(f.sharedNetnsMounts())")
            for i in 1..<3 { #expect(f.cni(conflist, "del", ns[i], containerID: "rel-gd-\(i)").succeeded) }
            f.expectClean(stateDir, "after DEL of the rest")
        }

        @Test("GC that removes the last attachment runs its chain DEL and tears the namespace down")
        func gcLastAttachment() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.fakeConflist(stateDir: "rel-gc-last",
                                                          delegates: [["type": "relfake"], ["type": "relfake2"]])
            let ns = try f.makeNetns("gl", count: 1)[0]
            try #require(f.cni(conflist, "add", ns, containerID: "rel-gl-0").succeeded)
            #expect(f.helpers().count == 1)
            let gc = f.cni(conflist, "gc", extra: ["--valid-attachments", "[]"])
            #expect(gc.succeeded, "\(gc)")
            #expect(Self.calls(f, "DEL", "rel-gl-0") == ["relfake2", "relfake"], "\(RelPlugin.log(f.plugins))")
            #expect(f.attachmentCount(stateDir) == 0)
            f.expectClean(stateDir, "after GC of the last attachment")
        }
    }
}
