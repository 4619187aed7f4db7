import Foundation
import Testing

/// Port forwards survive helper and forwarder restarts, identified by their host socket
/// (issue 10 item 5, issue 12). Real bridge chain, servers inside the containers, clients on
/// the host's loopback.
@Suite("port forwards: restore after restarts", .serialized)
struct ForwardRestoreTests {
    static let enabled = RootlessNetnsTests.enabled

    /// backend / portForwarder pairs.
    static let variants: [String] = ["slirp4netns/slirp4netns", "slirp4netns/builtin", "pasta/builtin"].filter {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/" + $0.split(separator: "/")[0])
    }

    static func caps(_ port: Int, containerPort: Int = 8080) -> String {
        #"{"portMappings":[{"hostPort":\#(port),"containerPort":\#(containerPort),"protocol":"tcp","hostIP":"127.0.0.1"}]}"#
    }

    /// Our forwarder connects to the container itself: portmap's DNAT is not needed (and the
    /// reference portmap's CHECK fails on its missing IPv6 chains).
    static func dropPortmap(_ p: inout [String: Any]) {
        p["delegates"] = (p["delegates"] as? [[String: Any]] ?? []).filter { $0["type"] as? String != "portmap" }
    }

    /// Live forwarder processes of the test user.
    static func forwarders(_ user: TestUser) -> [Procs.Info] {
        Procs.live(uid: user.uid).filter { $0.cmdline.contains("__forwarder") }
    }

    /// The old code: slirp4netns restarted its ids at 1, nothing re-added A's forward, DEL A
    /// removed B's, DEL B then failed forever. pasta: a killed forwarder was never restarted
    /// with the other containers' mappings.
    @Test("ADD A, kill the helper and the forwarder, ADD B: A's forward works again, DEL A leaves B's, DEL B succeeds",
          .enabled(if: enabled, "needs root, user namespaces, reference plugins, iptables, slirp4netns"),
          arguments: variants)
    func restartRestores(_ variant: String) throws {
        let parts = variant.split(separator: "/").map(String.init)
        var f = try RootlessNetnsTests.Fixture(userName: "rcni-fwd")
        defer { f.finish() }
        let conflist = try Conflists.write(try Conflists.rootlessBridge { p in
            p["backend"] = parts[0]
            p["portForwarder"] = parts[1]
            if parts[1] == "builtin" { Self.dropPortmap(&p) }
        }, to: f.scratch)
        let a = try f.container("fra-"), b = try f.container("frb-")
        let ports = TCP.freePorts(2)
        let portA = ports[0], portB = ports[1]
        let addA = f.cni(conflist, "add", a, capArgs: Self.caps(portA))
        try #require(addA.succeeded, "\(addA)")
        let sA = try f.serverInContainer(a, script: TCP.serverScript, port: 8080, reply: "from-A")
        defer { sA.stop() }
        let sB = try f.serverInContainer(b, script: TCP.serverScript, port: 8080, reply: "from-B")
        defer { sB.stop() }
        #expect(TCP.waitReady(sA) && TCP.waitReady(sB))
        #expect(TCP.fetchFromHost(port: portA).stdout.contains("from-A"))

        // Kill the helper and (when there is one) the forwarder.
        let helper = try #require(RootlessNetnsTests.helperPid(f.status()))
        var victims = [Int32(helper)]
        if parts[1] == "builtin" {
            let fw = Self.forwarders(f.user)
            #expect(fw.count == 1, "one forwarder: \(fw)")
            victims += fw.map(\.pid)
        }
        for pid in victims { _ = Command.run(["kill", "-9", "\(pid)"], timeout: 10) }
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline && victims.contains(where: Procs.isAlive) { usleep(20_000) }

        let addB = f.cni(conflist, "add", b, capArgs: Self.caps(portB))
        try #require(addB.succeeded, "\(addB)")
        let gotA = TCP.fetchFromHost(port: portA)
        #expect(gotA.stdout.contains("from-A"), "A's forward is back: \(gotA)")
        #expect(TCP.fetchFromHost(port: portB).stdout.contains("from-B"))
        if parts[1] == "builtin" {
            let check = f.cni(conflist, "check", a)
            #expect(check.succeeded, "CHECK A: \(check)")
        }

        let delA = f.cni(conflist, "del", a, capArgs: Self.caps(portA))
        #expect(delA.succeeded, "\(delA)")
        let gotB = TCP.fetchFromHost(port: portB)
        #expect(gotB.stdout.contains("from-B"), "DEL A left B's forward: \(gotB)")
        #expect(ForwardProbe.canBind(portA), "A's host port is free")
        let delB = f.cni(conflist, "del", b, capArgs: Self.caps(portB))
        #expect(delB.succeeded, "\(delB)")
        #expect(ForwardProbe.canBind(portB), "B's host port is free after the last DEL")
        #expect(Self.forwarders(f.user).isEmpty, "forwarder left: \(Self.forwarders(f.user))")
    }

    @Test("CHECK reports a forward that is not in place",
          .enabled(if: enabled, "needs root, user namespaces, reference plugins, iptables, pasta"),
          arguments: variants.filter { $0.hasSuffix("builtin") })
    func checkReportsMissing(_ variant: String) throws {
        let parts = variant.split(separator: "/").map(String.init)
        var f = try RootlessNetnsTests.Fixture(userName: "rcni-fwd")
        defer { f.finish() }
        let conflist = try Conflists.write(try Conflists.rootlessBridge { p in
            p["backend"] = parts[0]
            Self.dropPortmap(&p)
        }, to: f.scratch)
        let a = try f.container("frc-")
        let port = TCP.randomPort()
        try #require(f.cni(conflist, "add", a, capArgs: Self.caps(port)).succeeded)
        #expect(f.cni(conflist, "check", a).succeeded)
        for p in Self.forwarders(f.user) { _ = Command.run(["kill", "-9", "\(p.pid)"], timeout: 10) }
        usleep(300_000)
        let check = f.cni(conflist, "check", a)
        #expect(!check.succeeded && check.stdout.contains("not in place"), "\(check)")
        #expect(f.cni(conflist, "del", a, capArgs: Self.caps(port)).succeeded)
        #expect(ForwardProbe.canBind(port))
    }
}
