import Foundation
import Testing

extension ReliabilityTests {
    /// Many containers at once: the lock serialises the shared state, so every ADD succeeds,
    /// one helper and one namespace serve them all, and the last DEL leaves nothing.
    @Suite("concurrency")
    struct Concurrency {
        /// Containers ADDed (then DELed) at once, and rounds of that.
        static let containers = 32
        static let rounds = 2

        @Test("32 containers ADDed in parallel then DELed in parallel (half, then the rest), 2 rounds, real bridge chain",
              arguments: RootlessNetnsTests.backends)
        func parallelAddDel(backend: String) throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.bridgeConflist(stateDir: "rel-conc", backend: backend)
            let netns = try f.makeNetns("pc", count: Self.containers)
            let ids = (0..<Self.containers).map { "rel-conc-\($0)" }
            let fixture = f
            let attachedAt: @Sendable () -> Int = { fixture.attachmentCount(stateDir) }
            let pause = try #require(f.session.pausePid, "no session")
            let half = Self.containers / 2

            for round in 1...Self.rounds {
                let sampler = StateSampler(uid: f.user.uid, netnsFiles: { fixture.sharedNetnsFiles().count },
                                           mounts: { RelFixture.sharedNetnsMounts(pause: pause).count },
                                           attachments: attachedAt)
                let t0 = Date()
                let adds = Parallel.run(Self.containers) { i in
                    fixture.cni(conflist, "add", netns[i], containerID: ids[i], timeout: 240)
                }
                let addSeconds = Date().timeIntervalSince(t0)
                // Records only appear while ADDs run (each one after its chain succeeded).
                let during = sampler.take()
                let counts = during.map(\.attachedAfter)
                #expect(counts == counts.sorted() && (counts.last ?? 0) <= Self.containers, "round \(round) ADD counts \(counts)")
                StateSampler.expectOneNamespace(during, "\(backend) round \(round) ADDs")
                for (i, r) in adds.enumerated() { #expect(r.succeeded, "round \(round) ADD \(i): \(r)") }
                // host-local ran in the shared /var/lib/cni under our lock: no address given twice.
                let addresses = adds.compactMap { RootlessNetnsTests.address($0) }
                #expect(addresses.count == Self.containers && Set(addresses).count == Self.containers,
                        "round \(round): addresses \(addresses.sorted())")
                #expect(attachedAt() == Self.containers, "round \(round): \(f.status(stateDir))")
                #expect(f.helpers().count == 1, "round \(round): \(f.helpers())")
                #expect(f.sharedNetnsFiles().count == 1, "round \(round): \(f.sharedNetnsFiles())")
                #expect(f.sharedNetnsMounts().count == 1, "round \(round): \(f.sharedNetnsMounts())")
                let st = f.status(stateDir)
                #expect(st["health"] as? String == "up", "\(st)")
                #expect((st["attachments"] as? [Any])?.count == Self.containers)
                // Two containers of the round reach each other through the shared bridge.
                if addresses.count == Self.containers {
                    let ping = f.session.exec(["nsenter", "--net=\(netns[0])", "ping", "-c", "1", "-W", "2",
                                               addresses[Self.containers - 1]], timeout: 20)
                    #expect(ping.succeeded, "\(ping)")
                }

                // DEL of the first half while the second stays attached: the namespace stays, and
                // nothing of the first half is left in it (teardown would hide a leak otherwise).
                let t1 = Date()
                let dels = Parallel.run(half) { i in
                    fixture.cni(conflist, "del", netns[i], containerID: ids[i], timeout: 240)
                }
                for (i, r) in dels.enumerated() { #expect(r.succeeded, "round \(round) DEL \(i): \(r)") }
                if addresses.count == Self.containers {
                    let kept = Dictionary(uniqueKeysWithValues: (half..<Self.containers).map { (ids[$0], addresses[$0]) })
                    f.expectOnly(attached: kept, gone: Array(ids[..<half]), stateDir: stateDir, network: "rootless-bridge",
                                 "\(backend) round \(round), half DELed")
                }
                let rest = Parallel.run(Self.containers - half) { i in
                    fixture.cni(conflist, "del", netns[half + i], containerID: ids[half + i], timeout: 240)
                }
                let delSeconds = Date().timeIntervalSince(t1)
                for (i, r) in rest.enumerated() { #expect(r.succeeded, "round \(round) DEL \(half + i): \(r)") }
                let dropping = sampler.stop()
                let left = dropping.map(\.attachedAfter)
                #expect(left == left.sorted(by: >), "round \(round) DEL counts \(left)")
                StateSampler.expectOneNamespace(dropping, "\(backend) round \(round) DELs")
                #expect(attachedAt() == 0)
                f.expectClean(stateDir, "after round \(round)")
                print("reliability: \(backend) round \(round): \(Self.containers) parallel ADDs in \(String(format: "%.1f", addSeconds)) s, DELs in \(String(format: "%.1f", delSeconds)) s; \(during.count + dropping.count) samples")
            }
        }

        @Test("mixed ADD/DEL/CHECK/GC/STATUS interleavings (1.1.0, fake delegates)")
        func mixedInterleavings() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.fakeConflist(stateDir: "rel-mixed")
            let n = 16
            let netns = try f.makeNetns("mx", count: n)
            let ids = (0..<n).map { "rel-mix-\($0)" }
            let fixture = f
            let validAll = try Scratch.jsonText(ids.map { ["containerID": $0, "ifname": "eth0"] })
            let pause = try #require(f.session.pausePid, "no session")
            let sampler = StateSampler(uid: f.user.uid, netnsFiles: { fixture.sharedNetnsFiles().count },
                                       mounts: { RelFixture.sharedNetnsMounts(pause: pause).count },
                                       attachments: { fixture.attachmentCount(stateDir) })

            // 0..<8 attached first.
            let first = Parallel.run(8) { i in fixture.cni(conflist, "add", netns[i], containerID: ids[i]) }
            for (i, r) in first.enumerated() { #expect(r.succeeded, "ADD \(i): \(r)") }
            #expect(f.attachmentCount(stateDir) == 8)

            // At once: ADD 8..<16, DEL 0..<4, CHECK 4..<8, two GCs (keeping everyone) and two STATUS.
            enum Op: Sendable { case add(Int), del(Int), check(Int), gc, status }
            var ops: [Op] = (8..<16).map { .add($0) } + (0..<4).map { .del($0) } + (4..<8).map { .check($0) }
            ops += [.gc, .status, .gc, .status]
            ops.shuffle()
            let plan = ops
            let mixed = Parallel.run(plan.count) { k -> (String, CommandResult) in
                switch plan[k] {
                case .add(let i): return ("ADD \(i)", fixture.cni(conflist, "add", netns[i], containerID: ids[i]))
                case .del(let i): return ("DEL \(i)", fixture.cni(conflist, "del", netns[i], containerID: ids[i]))
                case .check(let i): return ("CHECK \(i)", fixture.cni(conflist, "check", netns[i], containerID: ids[i]))
                case .gc: return ("GC", fixture.cni(conflist, "gc", extra: ["--valid-attachments", validAll]))
                case .status: return ("STATUS", fixture.cni(conflist, "status"))
                }
            }
            for (what, r) in mixed { #expect(r.succeeded, "\(what): \(r)") }
            #expect(f.attachmentCount(stateDir) == 12, "\(f.status(stateDir))")
            #expect(f.helpers().count == 1, "\(f.helpers())")

            // GC keeping only 8..<16 removes 4..<8 (with their delegates' DEL); 0..<4 are gone already.
            let keep = try Scratch.jsonText(ids[8...].map { ["containerID": $0, "ifname": "eth0"] })
            let gc = f.cni(conflist, "gc", extra: ["--valid-attachments", keep])
            #expect(gc.succeeded, "\(gc)")
            #expect(f.attachmentCount(stateDir) == 8, "\(f.status(stateDir))")
            let gcDels = RelPlugin.log(f.plugins).filter { $0["command"] as? String == "DEL" }
                .compactMap { $0["containerID"] as? String }
            for i in 4..<8 { #expect(gcDels.contains(ids[i]), "GC ran DEL for \(ids[i])") }
            // CHECK of a GCed container (run directly: cnitool's GC dropped its cache entry): not
            // attached (3); of a kept one: fine.
            let gone = f.plugin(env: f.pluginEnv("CHECK", containerID: ids[5], netns: netns[5]),
                                stdin: try f.pluginConf(conflist))
            #expect(!gone.succeeded && gone.json?["code"] as? Int == 3, "\(gone)")
            #expect(f.cni(conflist, "check", netns[9], containerID: ids[9]).succeeded)

            // Everyone DELed at once, including the already-deleted ones: all succeed, nothing left.
            let dels = Parallel.run(n) { i in fixture.cni(conflist, "del", netns[i], containerID: ids[i]) }
            for (i, r) in dels.enumerated() { #expect(r.succeeded, "final DEL \(i): \(r)") }
            StateSampler.expectOneNamespace(sampler.stop(), "mixed interleavings")
            f.expectClean(stateDir, "after mixed interleavings")
            // STATUS with nothing attached asks the delegates: fine.
            #expect(f.cni(conflist, "status").succeeded)
            f.expectClean(stateDir, "after STATUS")
        }
    }
}
