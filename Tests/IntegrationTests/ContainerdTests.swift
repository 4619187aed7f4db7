import Foundation
import Testing

/// A real runtime end to end: rootless containerd 1.6 (`ctr run --cni`) with rootless-netns in
/// /etc/cni/net.d, and the plain bridge conflist that fails there (the gap this project fills).
///
/// DEL: foreground `ctr run --rm --cni` calls go-cni Remove (CNI DEL, empty CNI_NETNS: the task
/// has exited) after the task exits; the tests rely on that for both containers (the one left
/// running is ended with `ctr task kill`, which makes its foreground `ctr run` return). Detached
/// `ctr run -d` never sends DEL (containerd#6604), so it is not used here.
@Suite("containerd: rootless ctr run --cni", .serialized)
struct ContainerdTests {
    static let enabled = TestConditions.canTestRootless && TestConditions.hasReferencePlugins
        && TestConditions.hasIptables && Products.haveRootlessNetns && RootlessContainerd.available
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/slirp4netns")

    static func plugins() -> [String: String] {
        var p: [String: String] = ["rootless-netns": Products.rootlessNetns]
        for name in ["bridge", "host-local", "portmap", "firewall", "tuning", "loopback"] {
            if let path = Paths.referencePlugin(name) { p[name] = path }
        }
        return p
    }

    static func user() throws -> TestUser {
        let user = try TestUser.ensure("rcni-ctd")
        guard user.canExecute(Products.rootlessNetns) else {
            throw TestUser.Failure(description: "\(user.name) cannot execute \(Products.rootlessNetns): make the checkout world-traversable (scripts/test does)")
        }
        return user
    }

    @Test("containers get bridge addresses, ping each other, reach host loopback; DEL tears down",
          .enabled(if: enabled, "needs root, user namespaces, containerd, runc, rootlesskit, busybox-static, slirp4netns, reference plugins"), .timeLimit(.minutes(5)))
    func rootlessNetnsChain() throws {
        let ctd = try RootlessContainerd(user: try Self.user())
        defer { ctd.stop() }
        let conf = try Conflists.rootlessBridge { plugin in plugin["stateDir"] = ctd.xdg + "/rootless-netns" }
        try ctd.start(cniPlugins: Self.plugins(), conflist: try Scratch.jsonText(conf))

        // A server on the host's loopback, reached through slirp4netns (allowHostLoopback).
        var server: Background?
        var port = 0
        for _ in 0..<5 where server == nil {
            port = TCP.randomPort()
            if let s = try? TCP.server(port: port, reply: "hello-from-host"), TCP.waitReady(s) { server = s }
        }
        defer { server?.stop() }
        #expect(server != nil, "no host server")

        // Container b stays up and writes its address where the test reads it.
        let b = try ctd.runInBackground("ctr-b", ["sh", "-c", "ip -4 -o addr show eth0 > /out/b.addr; exec sleep 120"])
        defer { if b.isRunning { b.terminate() } }
        let deadline = Date().addingTimeInterval(60)
        var bAddr: String?
        while bAddr == nil && Date() < deadline && b.isRunning {
            bAddr = Self.ipv4(in: ctd.log("out/b.addr"))
            if bAddr == nil { usleep(100_000) }
        }
        let bIP = try #require(bAddr, "container b got no address: \(ctd.log("ctr-b.log"))")
        #expect(bIP.hasPrefix("10.89.0."), "b: \(bIP)")

        let status1 = ctd.inside([Products.rootlessNetns, "status"]).json
        #expect(status1?["health"] as? String == "up", "\(String(describing: status1))")
        #expect((status1?["attachments"] as? [Any])?.count == 1, "\(String(describing: status1))")

        // From outside rootlesskit (the user's plain shell, and root with --state-dir) the CLI
        // joins the session by itself: before, status said "down" and enter found no namespace.
        let stateDir = ctd.xdg + "/rootless-netns"
        let outside = ctd.user.run([Products.rootlessNetns, "status"], timeout: 30, environment: ["XDG_RUNTIME_DIR": ctd.xdg]).json
        #expect(outside?["health"] as? String == "up", "\(String(describing: outside))")
        #expect((outside?["session"] as? [String: Any])?["joined"] as? Bool == true, "\(String(describing: outside))")
        let asRoot = Command.run([Products.rootlessNetns, "status", "--state-dir", stateDir], timeout: 30, unset: ["XDG_RUNTIME_DIR"]).json
        #expect(asRoot?["health"] as? String == "up", "\(String(describing: asRoot))")
        let entered = ctd.user.run([Products.rootlessNetns, "enter", "--", "ip", "-4", "-o", "addr", "show", "cni-rootless0"],
                                   timeout: 30, environment: ["XDG_RUNTIME_DIR": ctd.xdg])
        #expect(entered.succeeded && entered.stdout.contains("10.89.0.1/24"), "\(entered)")

        // Container a: its address, a ping to b, the host's loopback through the helper.
        let a = ctd.run("ctr-a", ["sh", "-c", "ip -4 -o addr show eth0; ping -c 2 -W 3 \(bIP) && echo PING-OK; "
                                  + "nc -w 5 10.0.2.2 \(port) </dev/null"])
        #expect(a.succeeded, "\(a)")
        let aIP = Self.ipv4(in: a.stdout)
        #expect(aIP?.hasPrefix("10.89.0.") == true && aIP != bIP, "\(a)")
        #expect(a.stdout.contains("PING-OK"), "\(a)")
        #expect(a.stdout.contains("hello-from-host"), "\(a)")

        // a's run sent DEL: only b is attached now.
        let status2 = ctd.inside([Products.rootlessNetns, "status"]).json
        let attached = (status2?["attachments"] as? [[String: Any]])?.compactMap { $0["containerID"] as? String }
        #expect(attached == ["default-ctr-b"], "\(String(describing: status2))")

        // Killing b makes its foreground ctr run return and send DEL: the last one tears down.
        let kill = ctd.ctr(["task", "kill", "-s", "SIGKILL", "ctr-b"])
        #expect(kill.succeeded, "\(kill)")
        let gone = Date().addingTimeInterval(60)
        while b.isRunning && Date() < gone { usleep(100_000) }
        #expect(!b.isRunning, "ctr run of b did not return: \(ctd.log("ctr-b.log"))")
        let status3 = ctd.inside([Products.rootlessNetns, "status"]).json
        #expect((status3?["attachments"] as? [Any])?.isEmpty == true, "\(String(describing: status3))")
        #expect(status3?["health"] as? String == "down", "\(String(describing: status3))")
        #expect(ctd.ctr(["container", "ls", "-q"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    }

    @Test("a plain bridge conflist fails with EPERM in rootless containerd",
          .enabled(if: enabled, "needs root, user namespaces, containerd, runc, rootlesskit, busybox-static, slirp4netns, reference plugins"), .timeLimit(.minutes(3)))
    func plainBridgeFails() throws {
        let ctd = try RootlessContainerd(user: try Self.user())
        defer { ctd.stop() }
        let bridge = Scratch.uniqueName("rcnip")
        let conf: [String: Any] = [
            "cniVersion": "1.0.0", "name": "plain",
            "plugins": [["type": "bridge", "bridge": bridge, "isGateway": true,
                         "ipam": ["type": "host-local", "ranges": [[["subnet": "10.93.0.0/24"]]]]]],
        ]
        try ctd.start(cniPlugins: Self.plugins(), conflist: try Scratch.jsonText(conf))
        let r = ctd.run("ctr-plain", ["sh", "-c", "exit 0"])
        #expect(!r.succeeded && !r.timedOut, "\(r)")
        #expect(r.stderr.contains("operation not permitted"), "\(r)")
        #expect(r.stderr.contains(bridge), "\(r)")
    }

    /// The first IPv4 address in `ip -4 -o addr` output.
    static func ipv4(in text: String) -> String? {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard let i = words.firstIndex(of: "inet"), i + 1 < words.count else { return nil }
        return words[i + 1].split(separator: "/").first.map(String.init)
    }
}
