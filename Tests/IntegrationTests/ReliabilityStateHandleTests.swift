import Foundation
import Testing

extension ReliabilityTests {
    /// Issue 10 items 7, 8, 10: the state dir used through one verified fd, one spelling of a
    /// runtime dir, records that are not regular files, teardown without the backend binary.
    @Suite("state dir handle")
    struct StateHandle {
        /// Every entry below `dir` with its content (files) or type, to compare before/after.
        static func snapshot(_ dir: String) -> [String: String] {
            var out: [String: String] = [:]
            guard let e = FileManager.default.enumerator(atPath: dir) else { return out }
            while let rel = e.nextObject() as? String {
                let p = dir + "/" + rel
                let type = (try? FileManager.default.attributesOfItem(atPath: p))?[.type] as? FileAttributeType
                out[rel] = type == .typeRegular ? ((try? String(contentsOfFile: p, encoding: .utf8)) ?? "?") : "\(type.map { $0.rawValue } ?? "?")"
            }
            return out
        }

        /// The shared namespace path of `stateDir` (from `rootless-netns status`, which creates nothing).
        static func netnsPath(_ f: RelFixture, _ stateDir: String, env: [String] = []) throws -> String {
            let r = f.session.exec(["/usr/bin/env"] + env + [Products.rootlessNetns, "status", "--state-dir", stateDir])
            return try #require(r.json?["netns"] as? String, "\(r)")
        }

        /// Helpers of this namespace only: other sessions may run tests as the same user.
        static func helpers(_ f: RelFixture, _ netns: String) -> [Procs.Info] {
            f.helpers().filter { $0.cmdline.contains(netns) }
        }

        /// Nothing of this namespace left: helper, netns file or mount; the state is the lock at most.
        static func expectClean(_ f: RelFixture, _ stateDir: String, _ netns: String, _ where_: String,
                                sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(helpers(f, netns).isEmpty, "\(where_): \(helpers(f, netns))", sourceLocation: sourceLocation)
            #expect(!FileManager.default.fileExists(atPath: netns), "\(where_): \(netns) left", sourceLocation: sourceLocation)
            #expect(!f.sharedNetnsMounts().contains { $0.contains(netns) }, "\(where_): mounted", sourceLocation: sourceLocation)
            let left = f.stateLeft(stateDir)
            #expect(left == nil || left == ["lock"], "\(where_): \(left ?? [])", sourceLocation: sourceLocation)
        }

        @Test("an ancestor swapped for a symlink during ADD: the rollback never touches the victim's files")
        func ancestorSwappedMidAdd() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let ns = try f.makeNetns("sw", count: 1)[0]
            let anc = f.scratch + "/anc", victim = f.scratch + "/victim"
            let fm = FileManager.default
            try fm.createDirectory(atPath: anc + "/x", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            // The victim's own files, named like ours.
            for dir in ["x/state/run/user", "x/state/var/lib/cni", "x/state/attachments"] {
                try fm.createDirectory(atPath: victim + "/" + dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            for (name, text) in [("helper.json", "victim"), ("resolv.conf", "victim"), ("helper.log", "victim"),
                                 ("run/user/keep", "victim"), ("var/lib/cni/keep", "victim")] {
                try Scratch.write(text, to: victim + "/x/state/" + name, mode: 0o600)
            }
            _ = Command.run(["chown", "-R", "\(f.user.uid):\(f.user.gid)", f.scratch], timeout: 20)
            let before = Self.snapshot(victim)
            let stateDir = anc + "/x/state"
            f.stateDirs.append(anc + "/x.moved/state")
            defer { try? fm.removeItem(atPath: anc + "/x") }  // the symlink, never through it
            let conf = try Scratch.jsonText(["cniVersion": "1.0.0", "name": "relswap", "type": "rootless-netns",
                                             "backend": "slirp4netns", "stateDir": stateDir,
                                             "delegates": [["type": "relswap", "relSwapFrom": anc + "/x", "relSwapTo": victim + "/x"]]]
                                            as [String: Any])
            let shared = try Self.netnsPath(f, stateDir)
            let r = f.plugin(env: f.pluginEnv("ADD", containerID: "relswap", netns: ns), stdin: conf)
            #expect(!r.succeeded, "\(r)")
            #expect((try? fm.destinationOfSymbolicLink(atPath: anc + "/x")) == victim + "/x", "the delegate did not swap: \(r)")
            #expect(Self.snapshot(victim) == before, "the victim's files changed: \(r)")
            // The rollback happened where the state really was.
            let left = (try? fm.contentsOfDirectory(atPath: anc + "/x.moved/state")) ?? ["(missing)"]
            #expect(left == ["lock"], "\(left)")
            Self.expectClean(f, anc + "/x.moved/state", shared, "after the rollback")
        }

        @Test("a stateDir below a directory others may write (not sticky) is refused with code 7 naming it")
        func writableAncestorRefused() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let ns = try f.makeNetns("wa", count: 1)[0]
            let pub = f.scratch + "/pub"
            try FileManager.default.createDirectory(atPath: pub, withIntermediateDirectories: false)
            try f.user.chown(pub)
            try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: pub)
            let conf = try Scratch.jsonText(["cniVersion": "1.0.0", "name": "relsec", "type": "rootless-netns",
                                             "stateDir": pub + "/x/state", "delegates": [["type": "relfake"]]] as [String: Any])
            let r = f.plugin(env: f.pluginEnv("ADD", containerID: "relwa", netns: ns), stdin: conf)
            #expect(r.json?["code"] as? Int == 7, "\(r)")
            #expect(r.stdout.contains("refusing \(pub):"), "\(r.stdout)")
            #expect(r.stdout.contains("sticky"), "\(r.stdout)")
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: pub)) ?? ["?"]).isEmpty)
            #expect(RelPlugin.log(f.plugins).isEmpty, "a delegate ran")
        }

        @Test("ADD via /run/user/UID and via a symlinked spelling of it: one namespace, one helper, the first keeps connectivity")
        func twoSpellingsOneHelper() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, _) = try f.bridgeConflist(stateDir: "rel-spell") { $0.removeValue(forKey: "stateDir") }
            let conf = try f.pluginConf(conflist)
            let netns = try f.makeNetns("sp", count: 2)
            let link = f.scratch + "/xdg-link"
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: f.user.runtimeDir)
            _ = Command.run(["chown", "-h", "\(f.user.uid):\(f.user.gid)", link], timeout: 10)
            let stateDir = f.user.runtimeDir + "/rootless-netns"
            let shared = try Self.netnsPath(f, stateDir)

            let a = f.plugin(env: f.pluginEnv("ADD", containerID: "relsp-a", netns: netns[0]), stdin: conf)
            try #require(a.succeeded, "\(a)")
            let helpers = Self.helpers(f, shared)
            try #require(helpers.count == 1, "\(helpers)")
            let b = f.plugin(env: f.pluginEnv("ADD", containerID: "relsp-b", netns: netns[1], ["XDG_RUNTIME_DIR": link + "/"]),
                             stdin: conf)
            #expect(b.succeeded, "\(b)")
            #expect(f.helpers().filter { $0.cmdline.contains { $0.contains("/rootless-netns/") } }.map(\.pid) == helpers.map(\.pid),
                    "the second spelling replaced the helper or started another: \(f.helpers())")
            // The symlinked spelling names the same namespace (the old code hashed the spelling).
            let viaLink = try Self.netnsPath(f, link + "/rootless-netns", env: ["XDG_RUNTIME_DIR=" + link])
            #expect(viaLink == shared)
            // Both on one bridge in one namespace, and A still reaches its gateway.
            let ipB = ((b.json?["ips"] as? [[String: Any]])?.first?["address"] as? String)?.split(separator: "/").first.map(String.init)
            if let ipB {
                let ping = f.session.exec(["nsenter", "--net=\(netns[0])", "ping", "-c", "1", "-W", "2", ipB], timeout: 20)
                #expect(ping.succeeded, "A cannot reach B: \(ping)")
            } else {
                Issue.record("no address for B: \(b)")
            }
            let gw = f.session.exec(["nsenter", "--net=\(netns[0])", "ping", "-c", "1", "-W", "2", "10.89.0.1"], timeout: 20)
            #expect(gw.succeeded, "A lost its gateway: \(gw)")

            let delB = f.plugin(env: f.pluginEnv("DEL", containerID: "relsp-b", netns: netns[1], ["XDG_RUNTIME_DIR": link]), stdin: conf)
            #expect(delB.succeeded, "\(delB)")
            #expect(Self.helpers(f, shared).map(\.pid) == helpers.map(\.pid), "DEL of B stopped A's helper")
            let delA = f.plugin(env: f.pluginEnv("DEL", containerID: "relsp-a", netns: netns[0]), stdin: conf)
            #expect(delA.succeeded, "\(delA)")
            Self.expectClean(f, stateDir, shared, "after both DELs")
        }

        @Test("a FIFO in place of a record: DEL returns promptly and cleans up")
        func fifoRecord() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.fakeConflist(stateDir: "rel-fifo")
            let conf = try f.pluginConf(conflist)
            let ns = try f.makeNetns("ff", count: 1)[0]
            let shared = try Self.netnsPath(f, stateDir)
            let add = f.plugin(env: f.pluginEnv("ADD", containerID: "relfifo", netns: ns), stdin: conf)
            try #require(add.succeeded, "\(add)")
            let record = stateDir + "/attachments/relnet+relfifo@eth0.json"
            try #require(FileManager.default.fileExists(atPath: record))
            let mk = f.session.exec(["/usr/bin/python3", "-c", "import os, sys; os.unlink(sys.argv[1]); os.mkfifo(sys.argv[1], 0o600)", record])
            try #require(mk.succeeded, "\(mk)")
            // The old plugin blocked in open(2) under the lock, forever.
            let del = f.plugin(env: f.pluginEnv("DEL", containerID: "relfifo", netns: ns), stdin: conf, timeout: 30)
            #expect(del.succeeded, "\(del)")
            #expect(!FileManager.default.fileExists(atPath: record))
            Self.expectClean(f, stateDir, shared, "after DEL of a FIFO record")
        }

        @Test("teardown stops pasta's port forwarder even when the pasta binary is gone")
        func forwarderStoppedWithoutBinary() throws {
            var f = try RelFixture()
            defer { f.finish() }
            guard let pasta = ["/usr/bin/pasta", "/usr/local/bin/pasta", "/usr/sbin/pasta"].first(where: FileManager.default.isExecutableFile) else {
                Issue.record("pasta not installed")
                return
            }
            try FileManager.default.createDirectory(atPath: f.scratch + "/bin", withIntermediateDirectories: true)
            // /usr/bin/pasta is a symlink to passt, which acts as pasta when called so.
            try FileManager.default.copyItem(atPath: URL(fileURLWithPath: pasta).resolvingSymlinksInPath().path,
                                             toPath: f.scratch + "/bin/pasta")
            _ = Command.run(["chown", "-R", "\(f.user.uid):\(f.user.gid)", f.scratch + "/bin"], timeout: 10)
            let binary = f.scratch + "/bin/pasta"
            let (conflist, stateDir) = try f.fakeConflist(stateDir: "rel-fwd") { p in
                p["backend"] = "pasta"
                p["backendPath"] = binary
                p["capabilities"] = ["portMappings": true]
            }
            let ns = try f.makeNetns("fw", count: 1)[0]
            let shared = try Self.netnsPath(f, stateDir)
            var added: CommandResult?
            for _ in 0..<3 {
                let port = TCP.randomPort()
                let conf = try f.pluginConf(conflist, ["runtimeConfig": ["portMappings": [["hostPort": port, "containerPort": 80, "protocol": "tcp", "hostIP": "127.0.0.1"]]]])
                added = f.plugin(env: f.pluginEnv("ADD", containerID: "relfwd", netns: ns), stdin: conf)
                if added?.succeeded == true { break }
            }
            try #require(added?.succeeded == true, "\(added.map { "\($0)" } ?? "")")
            let socket = stateDir + "/forwarder.sock"
            let forwarders = { Procs.live(uid: f.user.uid).filter { $0.cmdline.contains("__forwarder") && $0.cmdline.contains(socket) } }
            try #require(!forwarders().isEmpty, "no forwarder was started: \(Procs.live(uid: f.user.uid))")
            try FileManager.default.removeItem(atPath: f.scratch + "/bin/pasta")
            let del = f.plugin(env: f.pluginEnv("DEL", containerID: "relfwd", netns: ns), stdin: try f.pluginConf(conflist))
            #expect(del.succeeded, "\(del)")
            var left = forwarders()
            let deadline = Date().addingTimeInterval(5)
            while !left.isEmpty && Date() < deadline { usleep(50_000); left = forwarders() }
            #expect(left.isEmpty, "forwarder left running: \(left)")
            Self.expectClean(f, stateDir, shared, "after DEL without the pasta binary")
        }

        @Test("CNI_NETNS naming a namespace that is not a network namespace is refused up front (code 4)")
        func nonNetworkNamespaceRefused() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.fakeConflist(stateDir: "rel-nstype")
            let conf = try f.pluginConf(conflist)
            for path in ["/proc/self/ns/user", "/proc/self/ns/mnt", "/proc/self/ns/uts"] {
                let r = f.plugin(env: f.pluginEnv("ADD", containerID: "relnstype", netns: path), stdin: conf)
                #expect(r.json?["code"] as? Int == 4, "\(path): \(r)")
                #expect(r.stdout.contains("not a network namespace"), "\(path): \(r.stdout)")
            }
            #expect(RelPlugin.log(f.plugins).isEmpty, "a delegate ran")
            #expect(f.stateLeft(stateDir) == nil, "state was created: \(f.stateLeft(stateDir) ?? [])")
        }

        @Test("one stateDir reached with another XDG_RUNTIME_DIR (another netns path): the live helper is never replaced")
        func liveHelperOfAnotherNamespaceKept() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.fakeConflist(stateDir: "rel-foreign")
            let conf = try f.pluginConf(conflist)
            let netns = try f.makeNetns("fo", count: 2)
            let otherXDG = f.scratch + "/xdg2"
            try FileManager.default.createDirectory(atPath: otherXDG, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700])
            try f.user.chown(otherXDG)
            let shared = try Self.netnsPath(f, stateDir)
            let a = f.plugin(env: f.pluginEnv("ADD", containerID: "relfo-a", netns: netns[0]), stdin: conf)
            try #require(a.succeeded, "\(a)")
            let helpers = Self.helpers(f, shared)
            try #require(helpers.count == 1, "\(helpers)")
            let b = f.plugin(env: f.pluginEnv("ADD", containerID: "relfo-b", netns: netns[1], ["XDG_RUNTIME_DIR": otherXDG]),
                             stdin: conf)
            #expect(b.json?["code"] as? Int == 7, "\(b)")
            #expect(b.stdout.contains("in use by the shared namespace \(shared)"), "\(b.stdout)")
            #expect(Self.helpers(f, shared).map(\.pid) == helpers.map(\.pid), "the helper was replaced")
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: otherXDG + "/netns")) ?? []).isEmpty)
            let del = f.plugin(env: f.pluginEnv("DEL", containerID: "relfo-a", netns: netns[0]), stdin: conf)
            #expect(del.succeeded, "\(del)")
            Self.expectClean(f, stateDir, shared, "after DEL")
        }
    }
}
