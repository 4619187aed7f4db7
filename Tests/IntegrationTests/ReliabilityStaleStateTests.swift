import Foundation
import Testing

extension ReliabilityTests {
    /// Leftovers of crashes, logouts and older runs: the next ADD recovers, nothing unrelated is touched.
    @Suite("stale state")
    struct StaleState {
        /// Reaches the host's 127.0.0.1 from inside `netnsPath` via the gateway (allowHostLoopback).
        static func reachesHost(_ f: RelFixture, _ netnsPath: String, port: Int, reply: String) -> CommandResult {
            f.session.exec(["nsenter", "--net=\(netnsPath)", "/usr/bin/python3", "-c", TCP.clientScript,
                            "10.0.2.2", "\(port)", "3"], timeout: 20)
        }

        static func sharedNetnsPath(_ f: RelFixture, _ stateDir: String) throws -> String {
            try #require(f.status(stateDir)["netns"] as? String)
        }

        @Test("netns file left without its mount, replaced by a regular file or by a symlink: ADD recreates it")
        func staleNetnsFile() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.bridgeConflist(stateDir: "rel-stale-ns")
            let netns = try f.makeNetns("sn", count: 3)
            let shared = try Self.sharedNetnsPath(f, stateDir)

            // A plain empty file where the namespace should be (its mount lost with an old session).
            try Scratch.write("", to: shared, mode: 0o600)
            try f.user.chown(shared)
            let addA = f.cni(conflist, "add", netns[0], containerID: "rel-sn-0")
            try #require(addA.succeeded, "\(addA)")
            #expect(f.helpers().count == 1 && f.sharedNetnsMounts().count == 1, "\(f.helpers()) \(f.sharedNetnsMounts())")

            // Under a live container: the mount goes and the file is overwritten with junk.
            let umount = f.session.exec(["umount", shared])
            #expect(umount.succeeded, "\(umount)")
            try Scratch.write("not a namespace\n", to: shared, mode: 0o600)
            try f.user.chown(shared)
            let check = f.cni(conflist, "check", netns[0], containerID: "rel-sn-0")
            #expect(check.json?["code"] as? Int == 51, "\(check)")
            let addB = f.cni(conflist, "add", netns[1], containerID: "rel-sn-1")
            try #require(addB.succeeded, "\(addB)")
            #expect(f.helpers().count == 1, "\(f.helpers())")
            #expect(f.sharedNetnsMounts().count == 1, "\(f.sharedNetnsMounts())")
            let port = TCP.freePort()
            let server = try TCP.server(port: port, reply: "fresh-ns")
            defer { server.stop() }
            #expect(TCP.waitReady(server))
            let reach = Self.reachesHost(f, netns[1], port: port, reply: "fresh-ns")
            #expect(reach.stdout.contains("fresh-ns"), "\(reach)")
            // A lost its namespace with the old one; its DEL still succeeds.
            #expect(f.cni(conflist, "del", netns[0], containerID: "rel-sn-0").succeeded)
            #expect(f.cni(conflist, "del", netns[1], containerID: "rel-sn-1").succeeded)
            f.expectClean(stateDir, "after DEL")

            // A symlink to a container's namespace in its place: replaced, never followed (the
            // container's namespace stays mounted).
            let target = netns[2]
            #expect(symlink(target, shared) == 0)
            _ = Command.run(["chown", "-h", "\(f.user.uid):\(f.user.gid)", shared], timeout: 10)
            let addC = f.cni(conflist, "add", netns[0], containerID: "rel-sn-2")
            #expect(addC.succeeded, "\(addC)")
            let mounted = f.session.exec(["findmnt", "-n", target])
            #expect(mounted.succeeded, "container namespace \(target) must stay mounted: \(mounted)")
            #expect(f.cni(conflist, "del", netns[0], containerID: "rel-sn-2").succeeded)
            #expect(f.session.exec(["findmnt", "-n", target]).succeeded, "teardown unmounted \(target)")
            f.expectClean(stateDir, "after DEL of the symlink case")
        }

        @Test("helper.json pointing at a dead pid: the next ADD starts one helper and old containers work again")
        func deadPidRecord() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.bridgeConflist(stateDir: "rel-stale-pid")
            let netns = try f.makeNetns("dp", count: 2)
            let addA = f.cni(conflist, "add", netns[0], containerID: "rel-dp-0")
            try #require(addA.succeeded, "\(addA)")
            let helper = try #require(f.helpers().first)
            _ = Command.run(["kill", "-9", "\(helper.pid)"], timeout: 10)
            for _ in 0..<100 where Procs.isAlive(helper.pid) { usleep(20_000) }
            // A pid that no longer exists: a process that already exited.
            let gone = Command.run(["sh", "-c", "echo $$"], timeout: 10)
            let deadPid = Int(gone.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 999_999
            try RelRecord.rewrite(stateDir, user: f.user) { $0["pid"] = deadPid }

            let addB = f.cni(conflist, "add", netns[1], containerID: "rel-dp-1")
            try #require(addB.succeeded, "\(addB)")
            #expect(f.helpers().count == 1, "\(f.helpers())")
            let port = TCP.freePort()
            let server = try TCP.server(port: port, reply: "dead-pid")
            defer { server.stop() }
            #expect(TCP.waitReady(server))
            for ns in netns {
                let r = Self.reachesHost(f, ns, port: port, reply: "dead-pid")
                #expect(r.stdout.contains("dead-pid"), "\(ns): \(r)")
            }
            for i in 0..<2 { #expect(f.cni(conflist, "del", netns[i], containerID: "rel-dp-\(i)").succeeded) }
            f.expectClean(stateDir, "after DEL")
        }

        @Test("helper.json pointing at an unrelated live process of the user (pid reuse, or a forged identity): it survives everything")
        func unrelatedLiveProcess() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.bridgeConflist(stateDir: "rel-stale-live")
            let netns = try f.makeNetns("ul", count: 3)
            let marker = "29\(Int.random(in: 1000...9999)).5"
            // In the session, like the plugin: its identity (exe, start time) is readable there.
            let sleeper = try Background([Paths.cnitool, "--user", f.user.name, "session", "exec", "--",
                                          "/usr/bin/sleep", marker], seconds: 120)
            var victim: Procs.Info?
            defer {
                // Our own sleep, by pid (stopping the chain above it by signal alone is slow).
                if let v = victim { _ = Command.run(["kill", "-9", "\(v.pid)"], timeout: 10) }
                sleeper.stop()
            }
            for _ in 0..<100 where victim == nil {
                victim = Procs.live(uid: f.user.uid).first { $0.comm == "sleep" && $0.cmdline.contains(marker) }
                if victim == nil { usleep(20_000) }
            }
            let sleep = try #require(victim, "sleep \(marker) did not start")
            let startTime = try #require(RelRecord.startTime(sleep.pid))

            for (round, forged) in [(0, false), (1, true)] {
                let a = netns[round], b = netns[2]
                let addA = f.cni(conflist, "add", a, containerID: "rel-ul-a\(round)")
                try #require(addA.succeeded, "\(addA)")
                let helper = try #require(f.helpers().first)
                _ = Command.run(["kill", "-9", "\(helper.pid)"], timeout: 10)
                for _ in 0..<100 where Procs.isAlive(helper.pid) { usleep(20_000) }
                // Round 0: the pid was reused (start time and exe are still the helper's).
                // Round 1: the record names the sleep exactly (pid, start time, exe).
                try RelRecord.rewrite(stateDir, user: f.user) { rec in
                    rec["pid"] = Int(sleep.pid)
                    if forged { rec["startTime"] = startTime; rec["exe"] = "/usr/bin/sleep" }
                }
                let check = f.cni(conflist, "check", a, containerID: "rel-ul-a\(round)")
                #expect(check.json?["code"] as? Int == 51, "round \(round): a dead helper must show: \(check)")
                let addB = f.cni(conflist, "add", b, containerID: "rel-ul-b\(round)")
                #expect(addB.succeeded, "round \(round): \(addB)")
                #expect(f.helpers().count == 1, "round \(round): a real helper runs: \(f.helpers())")
                #expect(Procs.isAlive(sleep.pid), "round \(round): the unrelated process was killed")
                #expect(f.cni(conflist, "del", a, containerID: "rel-ul-a\(round)").succeeded)
                #expect(f.cni(conflist, "del", b, containerID: "rel-ul-b\(round)").succeeded)
                #expect(Procs.isAlive(sleep.pid), "round \(round): teardown killed the unrelated process")
                f.expectClean(stateDir, "round \(round) after DEL")
            }
        }

        @Test("state dir of an older run (session gone, no helper, stale record and leases): ADD works, every DEL succeeds, nothing left")
        func olderRun() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.bridgeConflist(stateDir: "rel-stale-old")
            let old = try f.makeNetns("or", count: 1)[0]
            let addOld = f.cni(conflist, "add", old, containerID: "rel-or-old")
            try #require(addOld.succeeded, "\(addOld)")
            let oldMountNS = f.session.pausePid.flatMap(Self.mountNamespace)
            // The session ends (its mounts go) and the helper dies with the machine, say.
            f.session.stop()
            for h in f.helpers() { _ = Command.run(["kill", "-9", "\(h.pid)"], timeout: 10) }
            // The kernel hands a freed namespace inode number to the next namespace made, so the
            // new session's mount namespace often gets the old one's number (and reaping then
            // worked by accident: CI got a new number and the old record stayed). Mount
            // namespaces held meanwhile take the freed numbers: the new session gets a new one.
            let holders = Self.holdMountNamespaces(8)
            defer { for pid in holders { _ = Command.run(["kill", "-9", "\(pid)"], timeout: 10) } }
            _ = try RootlessSession.start(f.user)
            let newMountNS = f.session.pausePid.flatMap(Self.mountNamespace)
            #expect(oldMountNS != nil && newMountNS != nil, "mount namespaces: \(String(describing: oldMountNS)) → \(String(describing: newMountNS))")
            let left = f.stateLeft(stateDir) ?? []
            #expect(left.contains("attachments") && left.contains("helper.json"), "\(left)")
            #expect(f.helpers().isEmpty)

            let new = try f.makeNetns("or", count: 1)[0]
            let add = f.cni(conflist, "add", new, containerID: "rel-or-new")
            try #require(add.succeeded, "\(add)")
            #expect(f.helpers().count == 1)
            // The shared namespace it was attached in is gone (a new one has another netns
            // cookie), so its veth pair is too: the new ADD released it, whatever the new
            // session's mount namespace inode (\(oldMountNS == newMountNS ? "recycled" : "new") here).
            #expect(f.attachmentCount(stateDir) == 1, "the old record is released by the next ADD")
            // The old container's DEL (its namespace is gone) and the new one's both succeed.
            let delOld = f.cni(conflist, "del", old, containerID: "rel-or-old")
            #expect(delOld.succeeded, "\(delOld)")
            #expect(f.cni(conflist, "del", new, containerID: "rel-or-new").succeeded)
            f.expectClean(stateDir, "after both DELs")
        }

        @Test("a corrupt attachment record does not make DEL fail forever")
        func corruptRecord() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.fakeConflist(stateDir: "rel-stale-corrupt")
            let netns = try f.makeNetns("cr", count: 2)
            for i in 0..<2 { try #require(f.cni(conflist, "add", netns[i], containerID: "rel-cr-\(i)").succeeded) }
            let record = stateDir + "/attachments/rel-cr-0@eth0.json"
            try Scratch.write("{\"containerID\": trunc", to: record, mode: 0o600)
            try f.user.chown(record)
            let del = f.cni(conflist, "del", netns[0], containerID: "rel-cr-0")
            #expect(del.succeeded, "\(del)")
            #expect(f.attachmentCount(stateDir) == 1)
            #expect(f.cni(conflist, "del", netns[1], containerID: "rel-cr-1").succeeded)
            f.expectClean(stateDir, "after DEL")
        }

        @Test("XDG_RUNTIME_DIR removed under a live namespace: ADD/CHECK fail clearly (loginctl enable-linger), DEL succeeds, ADD recovers once it is back")
        func runtimeDirRemoved() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let xdg = try Scratch.makeDirectory("rcni-rel-xdg-")
            f.extraRuntimeDirs.append(xdg)
            try f.user.chown(xdg)
            _ = Command.run(["chmod", "0700", xdg], timeout: 10)
            let (conflist, _) = try f.bridgeConflist(stateDir: "unused") { p in p.removeValue(forKey: "stateDir") }
            let conf = try f.pluginConf(conflist)
            let netns = try f.makeNetns("xd", count: 2)
            func run(_ cmd: String, _ i: Int) -> CommandResult {
                f.plugin(env: f.pluginEnv(cmd, containerID: "rel-xd-\(i)", netns: netns[i], ["XDG_RUNTIME_DIR": xdg]), stdin: conf)
            }
            let addA = run("ADD", 0)
            try #require(addA.succeeded, "\(addA)")
            #expect(FileManager.default.fileExists(atPath: xdg + "/rootless-netns/attachments/rootless-bridge+rel-xd-0@eth0.json"))
            #expect(f.helpers().count == 1)

            // Logout: the runtime dir goes.
            _ = Command.run(["rm", "-rf", xdg], timeout: 30)
            for (cmd, i) in [("ADD", 1), ("CHECK", 0)] {
                let r = run(cmd, i)
                #expect(!r.succeeded && r.json?["code"] as? Int == 5, "\(cmd): \(r)")
                #expect(r.stdout.contains("loginctl enable-linger") && r.stdout.contains(xdg), "\(cmd): \(r)")
            }
            let del = run("DEL", 0)
            #expect(del.succeeded, "\(del)")
            #expect(!FileManager.default.fileExists(atPath: xdg), "nothing may recreate the runtime dir")

            // Back (a new login): ADD recovers and replaces the stale helper of the lost namespace.
            try FileManager.default.createDirectory(atPath: xdg, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700])
            try f.user.chown(xdg)
            let addB = run("ADD", 1)
            try #require(addB.succeeded, "\(addB)")
            #expect(f.helpers().count == 1, "\(f.helpers())")
            let delB = run("DEL", 1)
            #expect(delB.succeeded, "\(delB)")
            f.expectClean(xdg + "/rootless-netns", netnsDir: xdg + "/netns", "after DEL")
        }

        /// The mount namespace of `pid` ("mnt:[4026532…]").
        static func mountNamespace(_ pid: Int32) -> String? {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/mnt")
        }

        /// `count` idle processes, each in a mount namespace of its own (made and waited for by
        /// python, which closes every inherited fd: a Foundation child keeps the test's internal
        /// sockets and stalls it); their pids.
        static func holdMountNamespaces(_ count: Int) -> [Int32] {
            let script = """
            import os, subprocess, sys, time
            mine = os.readlink("/proc/self/ns/mnt")
            ps = [subprocess.Popen(["unshare", "--mount", "sleep", "120"], start_new_session=True,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                  for _ in range(int(sys.argv[1]))]
            deadline = time.time() + 5
            for p in ps:
                while time.time() < deadline:
                    try:
                        if os.readlink(f"/proc/{p.pid}/ns/mnt") != mine: break
                    except OSError: break
                    time.sleep(0.01)
            print(" ".join(str(p.pid) for p in ps))
            """
            let r = Command.run(["python3", "-c", script, "\(count)"], timeout: 30)
            return r.stdout.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }
}

/// Edits helper.json as a stale or hostile record would look.
enum RelRecord {
    static func rewrite(_ stateDir: String, user: TestUser, _ edit: (inout [String: Any]) -> Void) throws {
        let path = stateDir + "/helper.json"
        var rec = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))) as? [String: Any] ?? [:]
        edit(&rec)
        try Scratch.write(try Scratch.jsonText(rec), to: path, mode: 0o600)
        try user.chown(path)
    }

    /// /proc/PID/stat field 22 (start time in clock ticks).
    static func startTime(_ pid: Int32) -> Int? {
        guard let stat = Procs.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? Int(fields[19]) : nil
    }
}
