import Foundation
import Testing

/// The rootless session, as a throwaway unprivileged user: session start,
/// netns made inside it persisting across separate `session exec` calls, the
/// reference bridge chain run in a "host" netns the user owns, session stop
/// leaving nothing behind.
@Suite("cnitool: rootless session", .serialized)
struct HarnessRootlessTests {
    @Test("session lifecycle with a bridge chain inside",
          .enabled(if: TestConditions.canTestRootless, "needs root (to make a test user) and user namespaces"),
          .enabled(if: TestConditions.hasReferencePlugins, "needs containernetworking-plugins"),
          .enabled(if: TestConditions.hasIptables, "needs iptables"))
    func lifecycle() throws {
        let user = try TestUser.ensure(TestUser.perCheckout("rcni-test"))
        try #require(user.canExecute(Paths.cnitool),
                     "\(user.name) cannot execute \(Paths.cnitool): the checkout must be world-readable")
        let u = ["--user", user.name]
        func tool(_ args: [String], timeout: TimeInterval = 120) -> CommandResult {
            Cnitool.run(args, timeout: timeout)
        }
        func inSession(_ argv: [String]) -> CommandResult { tool(u + ["session", "exec", "--"] + argv) }

        // A clean slate, and a stop at the end whatever happens.
        _ = tool(u + ["session", "stop"])
        defer { _ = tool(u + ["session", "stop"]) }

        let start = tool(u + ["session", "start"])
        try #require(start.succeeded, "\(start)")
        let pid = try #require(Int32(start.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(start)")
        #expect(processAlive(pid))
        let hostUserNS = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/user")
        let pauseUserNS = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/user")
        #expect(pauseUserNS != hostUserNS)
        let pidfile = "\(user.runtimeDir)/cnitool-session.pid"
        #expect(FileManager.default.fileExists(atPath: pidfile))
        // start again: same session.
        let again = tool(u + ["session", "start"])
        #expect(again.stdout == start.stdout, "\(again)")

        // Inside: uid 0, cwd kept, PATH has /usr/sbin, runtime dir set.
        let id = Cnitool.run(u + ["session", "exec", "--env", "RCNI_MARK=42", "--", "sh", "-c",
                                  "id -u; pwd; echo $XDG_RUNTIME_DIR; echo $PATH; echo $RCNI_MARK"],
                             timeout: 60)
        try #require(id.succeeded, "\(id)")
        let lines = id.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(id)")
        if lines.count == 5 {
            #expect(lines[0] == "0")
            #expect(lines[2] == user.runtimeDir)
            #expect(lines[3].split(separator: ":").contains("/usr/sbin"))
            #expect(lines[4] == "42")
        }

        // Namespaces made inside the session.
        let hostName = Scratch.uniqueName("rh-"), ctrName = Scratch.uniqueName("rc-")
        let addHost = tool(["--rootless"] + u + ["netns", "add", hostName])
        try #require(addHost.succeeded, "\(addHost)")
        let hostPath = addHost.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(hostPath == "\(user.runtimeDir)/netns/\(hostName)")
        let addCtr = tool(["--rootless"] + u + ["netns", "add", ctrName])
        try #require(addCtr.succeeded, "\(addCtr)")
        let ctrPath = addCtr.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // The bind mounts live only in the session's mount namespace.
        // Read to EOF (String(contentsOfFile:) returns only the first page of a /proc file).
        let hostMounts = try #require(Procs.read("/proc/self/mountinfo"))
        #expect(hostMounts.contains(" / "), "mountinfo read: \(hostMounts.prefix(200))")
        #expect(!hostMounts.contains(hostPath), "netns bind mount leaked into the host mount namespace")
        let listed = tool(["--rootless"] + u + ["netns", "list"])
        #expect(Set(listed.stdout.split(separator: "\n").map(String.init)).isSuperset(of: [hostName, ctrName]), "\(listed)")

        // The user calling cnitool directly (no --user) reaches the same session.
        let direct = user.run([Paths.cnitool, "--rootless", "netns", "path", hostName], cwd: user.home)
        #expect(direct.succeeded && direct.stdout.hasPrefix(hostPath), "\(direct)")
        let directStatus = user.run([Paths.cnitool, "session", "status"])
        #expect(directStatus.succeeded && directStatus.json?["pid"] as? Int == Int(pid), "\(directStatus)")

        // State persists across separate exec calls: set lo up, then see it.
        let up = inSession(["nsenter", "--net=\(hostPath)", "ip", "link", "set", "lo", "up"])
        #expect(up.succeeded, "\(up)")
        let lo = inSession(["nsenter", "--net=\(hostPath)", "ip", "-j", "link", "show", "lo"])
        #expect(lo.succeeded && lo.stdout.contains("\"UP\""), "\(lo)")

        // The reference chain, in the user's own "host" netns.
        let scratch = try Scratch.makeDirectory("rcni-rl-")
        defer { Scratch.removeDirectory(scratch) }
        let example = try Data(contentsOf: URL(fileURLWithPath: Paths.confExample("reference-bridge.conflist")))
        var conf = try #require(try JSONSerialization.jsonObject(with: example) as? [String: Any])
        var plugins = try #require(conf["plugins"] as? [[String: Any]])
        var ipam = try #require(plugins[0]["ipam"] as? [String: Any])
        ipam["dataDir"] = scratch + "/ipam"
        plugins[0]["ipam"] = ipam
        conf["plugins"] = plugins
        let conflist = scratch + "/rootless.conflist"
        try Scratch.write(try Scratch.jsonText(conf), to: conflist)
        try user.chown(scratch)

        let chain = ["--rootless"] + u + ["--host-netns", hostName, "--conflist", conflist,
                                          "--cni-path", Paths.cniPath, "--timeout", "60"]
        var added = false
        defer { if added { _ = tool(chain + ["del", ctrName]) } }
        let add = tool(chain + ["--cap-args", #"{"portMappings":[{"hostPort":18081,"containerPort":80,"protocol":"tcp"}]}"#,
                                "add", ctrName])
        try #require(add.succeeded, "\(add)")
        added = true
        let cidr = try #require((add.json?["ips"] as? [[String: Any]])?.first?["address"] as? String, "\(add)")
        let addr = inSession(["nsenter", "--net=\(ctrPath)", "ip", "-j", "addr", "show", "dev", "eth0"])
        #expect(addr.succeeded && addr.stdout.contains(String(cidr.split(separator: "/")[0])), "\(addr)")
        // The default cache dir for a rootless user: $XDG_RUNTIME_DIR/cni.
        let results = (try? FileManager.default.contentsOfDirectory(atPath: "\(user.runtimeDir)/cni/results")) ?? []
        #expect(results.contains { $0.hasPrefix("reference-bridge-cnitool-") && $0.hasSuffix("-eth0") }, "\(results)")
        // (portmap without runtimeConfig: containernetworking/plugins#819)
        let check = tool(chain + ["--cap-args", "{}", "check", ctrName])
        #expect(check.succeeded, "\(check)")
        let del = tool(chain + ["del", ctrName])
        #expect(del.succeeded, "\(del)")
        added = !del.succeeded
        let del2 = tool(chain + ["del", ctrName])
        #expect(del2.succeeded, "\(del2)")

        // del of one netns inside the session, idempotent.
        #expect(tool(["--rootless"] + u + ["netns", "del", ctrName]).succeeded)
        #expect(tool(["--rootless"] + u + ["netns", "del", ctrName]).succeeded)

        // stop: pause process gone, status says so, netns files gone.
        let stop = tool(u + ["session", "stop"])
        #expect(stop.succeeded, "\(stop)")
        #expect(!processAlive(pid), "pause process \(pid) still alive")
        let status = tool(u + ["session", "status"])
        #expect(status.status == 1 && status.json?["running"] as? Bool == false, "\(status)")
        #expect(!FileManager.default.fileExists(atPath: pidfile))
        #expect(!FileManager.default.fileExists(atPath: hostPath), "netns file left after stop")
        let noSession = tool(["--rootless"] + u + ["netns", "list"])
        #expect(noSession.status != 0 && noSession.stderr.contains("session start"), "\(noSession)")
    }

    /// Alive and not a zombie (a zombie is dead, just not yet reaped).
    private func processAlive(_ pid: Int32) -> Bool {
        guard let stat = Procs.read("/proc/\(pid)/stat"),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].split(separator: " ").first ?? ""
        return state != "Z" && state != "X"
    }
}
