import Foundation
import Testing

extension ReliabilityTests {
    /// Paths and permissions, what delegates see, which processes get signalled.
    @Suite("security")
    struct Security {
        @Test("a stateDir that is a symlink, another user's, or group/world-writable is refused; nothing is created in it")
        func unsafeStateDirs() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let ns = try f.makeNetns("us", count: 1)[0]
            let base = f.scratch + "/dirs"
            let fm = FileManager.default
            try fm.createDirectory(atPath: base + "/real", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try fm.createSymbolicLink(atPath: base + "/link", withDestinationPath: base + "/real")
            for (name, mode) in [("group-w", 0o770), ("world-w", 0o777), ("sticky-world", 0o1777)] {
                try fm.createDirectory(atPath: base + "/" + name, withIntermediateDirectories: true, attributes: [:])
                try fm.setAttributes([.posixPermissions: mode], ofItemAtPath: base + "/" + name)
            }
            try f.user.chown(base)
            _ = Command.run(["chown", "-h", "\(f.user.uid):\(f.user.gid)", base + "/link"], timeout: 10)
            // Root's (shows as the overflow uid in the session); the user may traverse it.
            try fm.createDirectory(atPath: base + "/roots", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            // A file where the dir should be.
            try Scratch.write("", to: base + "/file", mode: 0o600)
            try f.user.chown(base + "/file")

            let cases: [(String, String)] = [("link", "symlink"), ("group-w", "writable"), ("world-w", "writable"),
                                             ("sticky-world", "writable"), ("roots", "owned by"), ("file", "not a directory")]
            for (name, fragment) in cases {
                let dir = base + "/" + name
                let before = (try? fm.contentsOfDirectory(atPath: dir)) ?? []
                let conf = try Scratch.jsonText(["cniVersion": "1.0.0", "name": "relsec", "type": "rootless-netns",
                                                 "stateDir": dir, "delegates": [["type": "relfake"]]] as [String: Any])
                let r = f.plugin(env: f.pluginEnv("ADD", containerID: "relsec", netns: ns), stdin: conf)
                let code = r.json?["code"] as? Int
                #expect(code == 7 || code == 5, "\(name): \(r)")
                #expect(r.stdout.contains(fragment), "\(name): want \(fragment): \(r.stdout)")
                #expect(((try? fm.contentsOfDirectory(atPath: dir)) ?? []) == before, "\(name): something was created in it")
                #expect(!fm.fileExists(atPath: base + "/real/lock"), "\(name): followed the symlink")
                #expect(f.helpers().isEmpty)
                // DEL does not create or follow either.
                let del = f.plugin(env: f.pluginEnv("DEL", containerID: "relsec", netns: ns), stdin: conf)
                #expect(!fm.fileExists(atPath: base + "/real/lock"), "\(name): DEL followed the symlink: \(del)")
            }
        }

        @Test("a netns dir that is a symlink, another user's or world-writable is refused")
        func unsafeNetnsDir() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let ns = try f.makeNetns("un", count: 1)[0]
            let fm = FileManager.default
            let elsewhere = try Scratch.makeDirectory("rcni-rel-elsewhere-")
            f.extraRuntimeDirs.append(elsewhere)
            try f.user.chown(elsewhere)
            for variant in ["symlink", "world-writable"] {
                let xdg = try Scratch.makeDirectory("rcni-rel-xdg-")
                f.extraRuntimeDirs.append(xdg)
                _ = Command.run(["chmod", "0700", xdg], timeout: 10)
                if variant == "symlink" {
                    try fm.createSymbolicLink(atPath: xdg + "/netns", withDestinationPath: elsewhere)
                } else {
                    try fm.createDirectory(atPath: xdg + "/netns", withIntermediateDirectories: false, attributes: [:])
                    try fm.setAttributes([.posixPermissions: 0o777], ofItemAtPath: xdg + "/netns")
                }
                try f.user.chown(xdg)
                _ = Command.run(["chown", "-h", "\(f.user.uid):\(f.user.gid)", xdg + "/netns"], timeout: 10)
                let conf = try Scratch.jsonText(["cniVersion": "1.0.0", "name": "relsec", "type": "rootless-netns",
                                                 "delegates": [["type": "relfake"]]] as [String: Any])
                let env = f.pluginEnv("ADD", containerID: "relsec", netns: ns, ["XDG_RUNTIME_DIR": xdg])
                let r = f.plugin(env: env, stdin: conf)
                let code = r.json?["code"] as? Int
                #expect(code == 7 || code == 5, "\(variant): \(r)")
                #expect(r.stdout.contains("netns"), "\(variant): \(r)")
                #expect(((try? fm.contentsOfDirectory(atPath: elsewhere)) ?? []).isEmpty, "\(variant): wrote through the symlink")
                #expect(f.helpers().isEmpty, "\(variant): \(f.helpers())")
                _ = f.plugin(env: f.pluginEnv("DEL", containerID: "relsec", netns: ns, ["XDG_RUNTIME_DIR": xdg]), stdin: conf)
                _ = f.session.exec(["env", "XDG_RUNTIME_DIR=\(xdg)", Products.rootlessNetns, "cleanup"])
            }
        }

        @Test("state is created 0700/0600 and owned by the caller, even with umask 000; records stay inside attachments/")
        func statePermissions() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.fakeConflist(stateDir: "rel-perm")
            let conf = try f.pluginConf(conflist)
            let ns = try f.makeNetns("pm", count: 1)[0]
            // A runtime running with umask 000, an unusual but valid container ID and ifname.
            let cid = "c.d-e_F9", ifname = "x@y..z"
            // A fresh runtime dir: the netns dir in it is the plugin's own, made under umask 000.
            let xdg = try Scratch.makeDirectory("rcni-rel-xdg-")
            f.extraRuntimeDirs.append(xdg)
            try f.user.chown(xdg)
            _ = Command.run(["chmod", "0700", xdg], timeout: 10)
            var env = f.pluginEnv("ADD", containerID: cid, netns: ns, ["XDG_RUNTIME_DIR": xdg])
            env["CNI_IFNAME"] = ifname
            let vars = env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            let r = f.session.exec(["/usr/bin/env", "-i"] + vars + ["/usr/bin/python3", f.scratch + "/umask_exec.py", "000",
                                                                     Products.rootlessNetns], input: conf)
            try #require(r.succeeded, "\(r)")

            var bad: [String] = []
            let fm = FileManager.default
            let ours: Set<String> = ["lock", "helper.json", "helper.log", "resolv.conf", "run", "var", "attachments"]
            for name in (try? fm.contentsOfDirectory(atPath: stateDir)) ?? [] {
                let path = stateDir + "/" + name
                guard let attrs = try? fm.attributesOfItem(atPath: path) else { continue }
                let mode = (attrs[.posixPermissions] as? Int ?? 0) & 0o7777
                let owner = (attrs[.ownerAccountID] as? NSNumber)?.uint32Value
                let type = attrs[.type] as? FileAttributeType
                if owner != f.user.uid { bad.append("\(name) owned by \(owner ?? 0)") }
                if ours.contains(name) {
                    let want = type == .typeDirectory ? 0o700 : 0o600
                    if mode != want { bad.append("\(name) mode \(String(mode, radix: 8))") }
                } else if type != .typeSocket {
                    if mode & 0o022 != 0 { bad.append("\(name) mode \(String(mode, radix: 8))") }
                }
            }
            let root = (try? fm.attributesOfItem(atPath: stateDir))?[.posixPermissions] as? Int
            #expect(root.map { $0 & 0o7777 } == 0o700, "stateDir mode \(String(root ?? 0, radix: 8))")
            for sub in ["attachments", "run", "var/lib/cni"] {
                let m = (try? fm.attributesOfItem(atPath: stateDir + "/" + sub))?[.posixPermissions] as? Int ?? 0
                if m & 0o077 != 0 { bad.append("\(sub) mode \(String(m, radix: 8))") }
            }
            let records = (try? fm.contentsOfDirectory(atPath: stateDir + "/attachments")) ?? []
            #expect(records == ["relnet+\(cid)@\(ifname).json"], "\(records)")
            for rec in records {
                let m = (try? fm.attributesOfItem(atPath: stateDir + "/attachments/" + rec))?[.posixPermissions] as? Int ?? 0
                if m & 0o7777 != 0o600 { bad.append("attachments/\(rec) mode \(String(m, radix: 8))") }
            }
            #expect(bad.isEmpty, "\(bad)")
            let netnsDir = xdg + "/netns"
            let shared = f.sharedNetnsFiles(netnsDir)
            try #require(shared.count == 1, "shared netns files in \(netnsDir): \(shared)")
            let netnsFile = netnsDir + "/" + shared[0]
            let nsAttrs = try fm.attributesOfItem(atPath: netnsDir)
            let nsMode = (nsAttrs[.posixPermissions] as? Int ?? 0o777) & 0o7777
            #expect(nsMode & 0o022 == 0, "netns dir \(netnsDir) mode \(String(nsMode, radix: 8))")
            #expect((nsAttrs[.ownerAccountID] as? NSNumber)?.uint32Value == f.user.uid, "netns dir owner: \(nsAttrs)")
            let fileAttrs = try fm.attributesOfItem(atPath: netnsFile)
            #expect(((fileAttrs[.posixPermissions] as? Int ?? 0o777) & 0o022) == 0, "netns file \(fileAttrs)")

            let st = f.status(stateDir)
            let listed = (st["attachments"] as? [[String: Any]])?.first
            #expect(listed?["containerID"] as? String == cid && listed?["ifName"] as? String == ifname, "\(st)")
            var del = f.pluginEnv("DEL", containerID: cid, netns: ns, ["XDG_RUNTIME_DIR": xdg])
            del["CNI_IFNAME"] = ifname
            #expect(f.plugin(env: del, stdin: conf).succeeded)
            f.expectClean(stateDir, netnsDir: netnsDir, "after DEL")
        }

        @Test("delegates get CNI_*, PATH and XDG_RUNTIME_DIR only, unless passEnvironment")
        func delegateEnvironment() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let ns = try f.makeNetns("de", count: 1)[0]
            for pass in [false, true] {
                let (conflist, stateDir) = try f.fakeConflist(stateDir: "rel-env-\(pass)") { p in p["passEnvironment"] = pass }
                let conf = try f.pluginConf(conflist)
                _ = Command.run(["rm", "-f", f.plugins + "/" + FakeDelegate.logName], timeout: 10)
                var env = f.pluginEnv("ADD", containerID: "relenv", netns: ns)
                env["SECRET_TOKEN"] = "hunter2"
                env["LD_PRELOAD"] = ""
                env["HOME"] = "/home/x"
                let r = f.plugin(env: env, stdin: conf)
                try #require(r.succeeded, "\(r)")
                // The ADD's environment (rootless-netns asks VERSION first, with the same variables).
                let seen = try #require(RelPlugin.log(f.plugins).first { $0["command"] as? String == "ADD" }?["env"] as? [String: String])
                let extra = seen.keys.filter { !$0.hasPrefix("CNI_") && $0 != "PATH" && $0 != "XDG_RUNTIME_DIR" }.sorted()
                if pass {
                    #expect(seen["SECRET_TOKEN"] == "hunter2", "\(seen)")
                } else {
                    #expect(extra.isEmpty, "delegate saw \(extra)")
                    #expect((seen["PATH"] ?? "").split(separator: ":").contains("/usr/sbin"))
                    #expect(!(seen["PATH"] ?? "").split(separator: ":").contains { !$0.hasPrefix("/") }, "relative PATH entry")
                }
                #expect(seen["CNI_COMMAND"] == "ADD" && seen["CNI_CONTAINERID"] == "relenv" && seen["CNI_NETNS"] == ns, "\(seen)")
                #expect(f.plugin(env: f.pluginEnv("DEL", containerID: "relenv", netns: ns), stdin: conf).succeeded)
                f.expectClean(stateDir, "passEnvironment \(pass)")
            }
        }

        @Test("slirp4netns runs sandboxed, with seccomp, host loopback off by default, in its own session")
        func helperHardening() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let (conflist, stateDir) = try f.fakeConflist(stateDir: "rel-hard")
            let ns = try f.makeNetns("hh", count: 1)[0]
            let add = f.cni(conflist, "add", ns, containerID: "relhard")
            try #require(add.succeeded, "\(add)")
            let helper = try #require(f.helpers().first)
            let help = Command.run(["slirp4netns", "--help"], timeout: 10).stdout
            #expect(helper.cmdline.contains("--disable-host-loopback"), "\(helper)")
            if help.contains("--enable-sandbox") { #expect(helper.cmdline.contains("--enable-sandbox"), "\(helper)") }
            if help.contains("--enable-seccomp") { #expect(helper.cmdline.contains("--enable-seccomp"), "\(helper)") }
            // setsid: its own session, so the runtime's terminal or process-group signals miss it.
            let stat = Procs.read("/proc/\(helper.pid)/stat") ?? ""
            let fields = stat[(stat.lastIndex(of: ")").map { stat.index(after: $0) } ?? stat.startIndex)...].split(separator: " ")
            #expect(fields.count > 3 && fields[3] == "\(helper.pid)", "session id: \(fields.prefix(5))")
            #expect(f.cni(conflist, "del", ns, containerID: "relhard").succeeded)
            f.expectClean(stateDir, "after DEL")
        }
    }
}
