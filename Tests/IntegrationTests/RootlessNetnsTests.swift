import Foundation
import Testing

/// rootless-netns end to end, as an unprivileged user in a rootless session, with the real
/// reference plugins (bridge + host-local + portmap + firewall + tuning) as delegates.
@Suite("rootless-netns: shared namespace lifecycle", .serialized)
struct RootlessNetnsTests {
    static let enabled = TestConditions.canTestRootless && TestConditions.hasReferencePlugins
        && TestConditions.hasIptables && Products.haveRootlessNetns
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/slirp4netns")

    /// One user, one session and scratch dir per test; everything removed in `finish()`.
    struct Fixture {
        let user: TestUser
        let session: RootlessSession
        let scratch: String
        var netns: [String] = []

        init(userName: String = TestUser.perCheckout("rcni-netns")) throws {
            user = try TestUser.ensure(userName)
            // Strays of an earlier, interrupted run of this test user (never anyone else's).
            _ = Command.run(["pkill", "-9", "-u", "\(user.uid)", "-f", "slirp4netns|pasta|passt|__forwarder"], timeout: 10)
            guard user.canExecute(Products.rootlessNetns) else {
                throw TestUser.Failure(description: "\(user.name) cannot execute \(Products.rootlessNetns): make the checkout world-traversable (scripts/test does)")
            }
            scratch = try Scratch.makeDirectory("rcni-rn-")
            try user.chown(scratch)
            session = try RootlessSession.start(user)
        }

        mutating func container(_ prefix: String = "ctr") throws -> String {
            let p = try session.makeNetns(prefix)
            netns.append(p)
            return p
        }

        func cni(_ conflist: String, _ verb: String, _ netnsPath: String, capArgs: String? = nil,
                 ifname: String = "eth0") -> CommandResult {
            var args = ["--conflist", conflist, "--cni-path", Products.cniPath, "--ifname", ifname,
                        "--cache-dir", scratch + "/cache", "--timeout", "120"]
            if let capArgs { args += ["--cap-args", capArgs] }
            return session.cnitool(args + [verb, netnsPath], timeout: 180)
        }

        /// A TCP/UDP server inside a container's netns (run in the session); ready file in scratch.
        func serverInContainer(_ netnsPath: String, script: String, port: Int, reply: String) throws -> Background {
            let ready = scratch + "/" + Scratch.uniqueName("ready-")
            return try Background([Paths.cnitool, "--user", user.name, "session", "exec", "--",
                                   "nsenter", "--net=\(netnsPath)", "/usr/bin/python3", "-c", script, "0.0.0.0", "\(port)", reply, ready],
                                  readyFile: ready)
        }

        func status(stateDir: String? = nil) -> [String: Any] {
            var args = ["status"]
            if let stateDir { args += ["--state-dir", stateDir] }
            return session.rootlessNetns(args).json ?? [:]
        }

        func inContainer(_ netnsPath: String, _ argv: [String], timeout: TimeInterval = 30) -> CommandResult {
            session.exec(["nsenter", "--net=\(netnsPath)"] + argv, timeout: timeout)
        }

        /// Forced cleanup of everything the test may have left, then the session.
        func finish(stateDirs: [String] = []) {
            for dir in stateDirs + [user.runtimeDir + "/rootless-netns"] {
                _ = session.rootlessNetns(["cleanup", "--state-dir", dir])
            }
            for p in netns { session.removeNetns(p) }
            session.stop()
            Scratch.removeDirectory(scratch)
            _ = Command.run(["rm", "-rf", user.runtimeDir + "/rootless-netns", user.runtimeDir + "/rootless-netns-nolo"])
        }
    }

    static func address(_ result: CommandResult) -> String? {
        ((result.json?["ips"] as? [[String: Any]])?.first?["address"] as? String)?
            .split(separator: "/").first.map(String.init)
    }

    static func helperPid(_ status: [String: Any]) -> Int? { (status["helper"] as? [String: Any])?["pid"] as? Int }

    /// Live helper processes (slirp4netns, pasta/passt, by argv[0] or comm; zombies are dead:
    /// this VM's init reaps orphans late) of the test user.
    static func slirpProcesses(_ user: TestUser) -> [String] {
        Procs.helpers(uid: user.uid).map(\.description)
    }

    static let backends: [String] = ["slirp4netns", "pasta"].filter {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/\($0)")
    }

    /// The address a container uses to reach the host's loopback: slirp4netns's 10.0.2.2, or
    /// pasta's gateway, which pasta maps to the host's loopback (traffic never leaves the host).
    static func hostAddress(_ f: Fixture, backend: String, stateDir: String? = nil) -> String {
        guard backend == "pasta" else { return "10.0.2.2" }
        var args = ["enter"]
        if let stateDir { args += ["--state-dir", stateDir] }
        let r = f.session.rootlessNetns(args + ["--", "ip", "-j", "-4", "route", "show", "default"])
        let routes = Command.jsonValue(r.stdout) as? [[String: Any]]
        return (routes?.first?["gateway"] as? String) ?? "unknown-gateway"
    }

    @Test("two containers share one helper, reach each other, the host and a port mapping; last DEL cleans up",
          .enabled(if: enabled, "needs root, user namespaces, reference plugins, iptables, slirp4netns"),
          arguments: backends)
    func lifecycle(backend: String) throws {
        var f = try Fixture()
        defer { f.finish() }
        let conflist = try Conflists.write(try Conflists.rootlessBridge { $0["backend"] = backend }, to: f.scratch)
        let a = try f.container("a-"), b = try f.container("b-")

        // Container A: namespace + helper created; tap0 has 10.0.2.100; bridge inside; A has an address.
        let addA = f.cni(conflist, "add", a)
        try #require(addA.succeeded, "\(addA)")
        let ipA = try #require(Self.address(addA), "\(addA)")
        #expect(ipA.hasPrefix("10.89.0."))
        #expect((addA.json?["cniVersion"] as? String) == "1.0.0")
        let dns = ((addA.json?["dns"] as? [String: Any])?["nameservers"] as? [String]) ?? []
        #expect(dns.first == (backend == "pasta" ? "169.254.1.1" : "10.0.2.3"), "\(addA)")
        let st1 = f.status()
        #expect(st1["health"] as? String == "up", "\(st1)")
        let pid1 = try #require(Self.helperPid(st1), "\(st1)")
        if backend == "slirp4netns" {
            let tap = f.session.rootlessNetns(["enter", "--", "ip", "-j", "addr", "show", "tap0"])
            #expect(tap.stdout.contains("\"10.0.2.100\""), "\(tap)")
        }
        #expect((st1["helper"] as? [String: Any])?["backend"] as? String == backend, "\(st1)")
        let br = f.session.rootlessNetns(["enter", "--", "ip", "-j", "link", "show", "cni-rootless0"])
        #expect(br.succeeded, "\(br)")
        let eth0 = f.inContainer(a, ["ip", "-j", "addr", "show", "eth0"])
        #expect(eth0.stdout.contains("\"\(ipA)\""), "\(eth0)")
        // The host namespace was not touched: no bridge there.
        #expect(!Command.run(["ip", "link", "show", "cni-rootless0"], timeout: 10).succeeded)

        // Container B: same helper pid; A and B ping each other.
        let addB = f.cni(conflist, "add", b)
        try #require(addB.succeeded, "\(addB)")
        let ipB = try #require(Self.address(addB))
        #expect(Self.helperPid(f.status()) == pid1)
        #expect(Self.slirpProcesses(f.user).count == 1, "\(Self.slirpProcesses(f.user))")
        let ping1 = f.inContainer(a, ["ping", "-c", "2", "-W", "2", ipB])
        #expect(ping1.succeeded, "\(ping1)")
        let ping2 = f.inContainer(b, ["ping", "-c", "2", "-W", "2", ipA])
        #expect(ping2.succeeded, "\(ping2)")

        // CHECK passes for both.
        #expect(f.cni(conflist, "check", a).succeeded)
        #expect(f.cni(conflist, "check", b).succeeded)

        // allowHostLoopback: A reaches a server on host 127.0.0.1 via 10.0.2.2.
        let hostPort = TCP.freePort()
        let server = try TCP.server(port: hostPort, reply: "hello-host")
        defer { server.stop() }
        #expect(TCP.waitReady(server))
        let hostAddr = Self.hostAddress(f, backend: backend)
        let toHost = f.inContainer(a, ["/usr/bin/python3", "-c", TCP.clientScript, hostAddr, "\(hostPort)", "3"])
        #expect(toHost.stdout.contains("hello-host"), "\(toHost)")

        // DEL A leaves the helper; B still reaches the host.
        let delA = f.cni(conflist, "del", a)
        #expect(delA.succeeded, "\(delA)")
        #expect(Self.helperPid(f.status()) == pid1)
        let toHostB = f.inContainer(b, ["/usr/bin/python3", "-c", TCP.clientScript, hostAddr, "\(hostPort)", "3"])
        #expect(toHostB.stdout.contains("hello-host"), "\(toHostB)")

        // DEL B stops everything: no helper, no netns file, no mounts, only the lock file left.
        let stateDir = f.user.runtimeDir + "/rootless-netns"
        let netnsFile = (st1["netns"] as? String) ?? ""
        let delB = f.cni(conflist, "del", b)
        #expect(delB.succeeded, "\(delB)")
        let st2 = f.status()
        #expect(st2["health"] as? String == "down", "\(st2)")
        #expect(Self.slirpProcesses(f.user).isEmpty, "\(Self.slirpProcesses(f.user))")
        #expect(!FileManager.default.fileExists(atPath: netnsFile), "netns file \(netnsFile) left")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: stateDir)) ?? []
        #expect(left == ["lock"], "state left: \(left)")
        let pause = try #require(f.session.pausePid, "no session to look for mounts in")
        let mounts = try #require(Procs.read("/proc/\(pause)/mountinfo"))
        #expect(mounts.contains(" / "), "mountinfo read: \(mounts.prefix(200))")
        #expect(!mounts.contains("rootless-netns"), "mounts left in the session")

        // DEL again, and DEL of an unknown container, succeed and create nothing.
        #expect(f.cni(conflist, "del", b).succeeded)
        let ghost = try f.container("g-")
        #expect(f.cni(conflist, "del", ghost).succeeded)
        #expect(Self.slirpProcesses(f.user).isEmpty)
    }

    @Test("port mappings from host 127.0.0.1 reach servers in the container (TCP and UDP) and go away on DEL",
          .enabled(if: enabled, "needs root, user namespaces, reference plugins, iptables, slirp4netns"),
          arguments: backends)
    func portMappings(backend: String) throws {
        var f = try Fixture()
        defer { f.finish() }
        let conflist = try Conflists.write(try Conflists.rootlessBridge { $0["backend"] = backend }, to: f.scratch)
        let a = try f.container("pa-"), b = try f.container("pb-")
        let ports = TCP.freePorts(3)
        let (tcpA, tcpB, udpB) = (ports[0], ports[1], ports[2])
        func caps(_ mappings: [(Int, Int, String)]) -> String {
            let items = mappings.map { #"{"hostPort":\#($0.0),"containerPort":\#($0.1),"protocol":"\#($0.2)","hostIP":"127.0.0.1"}"# }
            return #"{"portMappings":[\#(items.joined(separator: ","))]}"#
        }
        let addA = f.cni(conflist, "add", a, capArgs: caps([(tcpA, 8080, "tcp")]))
        try #require(addA.succeeded, "\(addA)")
        let addB = f.cni(conflist, "add", b, capArgs: caps([(tcpB, 8080, "tcp"), (udpB, 5353, "udp")]))
        try #require(addB.succeeded, "\(addB)")

        // Servers inside the containers (run in the session, in each container's netns).
        let sA = try f.serverInContainer(a, script: TCP.serverScript, port: 8080, reply: "from-A")
        defer { sA.stop() }
        let sB = try f.serverInContainer(b, script: TCP.serverScript, port: 8080, reply: "from-B")
        defer { sB.stop() }
        let uB = try f.serverInContainer(b, script: TCP.udpServerScript, port: 5353, reply: "udp-B")
        defer { uB.stop() }
        #expect(TCP.waitReady(sA) && TCP.waitReady(sB) && TCP.waitReady(uB))

        let gotA = TCP.fetchFromHost(port: tcpA)
        #expect(gotA.stdout.contains("from-A"), "\(gotA)")
        let gotB = TCP.fetchFromHost(port: tcpB)
        #expect(gotB.stdout.contains("from-B"), "\(gotB)")
        let gotU = Command.run(["/usr/bin/python3", "-c", TCP.udpClientScript, "127.0.0.1", "\(udpB)", "1"], timeout: 20)
        #expect(gotU.stdout.contains("udp-B"), "\(gotU)")

        // A duplicate host port is refused and rolls back (no record for C).
        let c = try f.container("pc-")
        let dup = f.cni(conflist, "add", c, capArgs: caps([(tcpA, 8080, "tcp")]))
        #expect(!dup.succeeded, "\(dup)")
        let attached = (f.status()["attachments"] as? [[String: Any]])?.count
        #expect(attached == 2, "\(f.status())")

        // DEL A: A's mapping is gone, B's keeps working.
        #expect(f.cni(conflist, "del", a).succeeded)
        let afterA = TCP.fetchFromHost(port: tcpA, timeout: 2)
        #expect(!afterA.stdout.contains("from-A"), "\(afterA)")
        let stillB = TCP.fetchFromHost(port: tcpB)
        #expect(stillB.stdout.contains("from-B"), "\(stillB)")
        #expect(f.cni(conflist, "del", b).succeeded)
        let afterB = TCP.fetchFromHost(port: tcpB, timeout: 2)
        #expect(!afterB.stdout.contains("from-B"), "\(afterB)")
    }

    @Test("without allowHostLoopback the host's loopback is unreachable",
          .enabled(if: enabled, "needs root, user namespaces, reference plugins, iptables, slirp4netns"))
    func hostLoopbackDisabled() throws {
        var f = try Fixture()
        let stateDir = f.user.runtimeDir + "/rootless-netns-nolo"
        defer { f.finish(stateDirs: [stateDir]) }
        let conf = try Conflists.rootlessBridge { p in
            p["allowHostLoopback"] = false
            p["stateDir"] = stateDir
        }
        let conflist = try Conflists.write(conf, to: f.scratch)
        let a = try f.container("nl-")
        let hostPort = TCP.freePort()
        let server = try TCP.server(port: hostPort, reply: "hello-host")
        defer { server.stop() }
        #expect(TCP.waitReady(server))
        let add = f.cni(conflist, "add", a)
        try #require(add.succeeded, "\(add)")
        let r = f.inContainer(a, ["/usr/bin/python3", "-c", TCP.clientScript, "10.0.2.2", "\(hostPort)", "2"])
        #expect(!r.stdout.contains("hello-host") && r.stdout.contains("ERR"), "\(r)")
        #expect(f.cni(conflist, "del", a).succeeded)
    }

    @Test("CHECK fails after the helper is killed; the next ADD restarts it and connectivity returns",
          .enabled(if: enabled, "needs root, user namespaces, reference plugins, iptables, slirp4netns"),
          arguments: backends)
    func helperRestart(backend: String) throws {
        var f = try Fixture()
        defer { f.finish() }
        let conflist = try Conflists.write(try Conflists.rootlessBridge(version: "0.4.0") { $0["backend"] = backend },
                                           to: f.scratch)
        let a = try f.container("ha-"), b = try f.container("hb-")
        let addA = f.cni(conflist, "add", a)
        try #require(addA.succeeded, "\(addA)")
        // 0.4.0 results carry ips[].version.
        #expect(((addA.json?["ips"] as? [[String: Any]])?.first?["version"] as? String) == "4", "\(addA)")
        #expect(addA.json?["cniVersion"] as? String == "0.4.0")
        #expect(f.cni(conflist, "check", a).succeeded)

        let pid = try #require(Self.helperPid(f.status()))
        _ = Command.run(["kill", "-9", "\(pid)"], timeout: 10)
        for _ in 0..<250 where Procs.isAlive(Int32(pid)) { usleep(20_000) }
        #expect(!Procs.isAlive(Int32(pid)), "helper \(pid) survived SIGKILL")
        let check = f.cni(conflist, "check", a)
        #expect(!check.succeeded, "\(check)")
        #expect(check.stdout.contains("\"code\":51") || check.stdout.contains("not running"), "\(check)")
        #expect(f.status()["health"] as? String == "helper-dead")

        let addB = f.cni(conflist, "add", b)
        try #require(addB.succeeded, "\(addB)")
        let newPid = try #require(Self.helperPid(f.status()))
        #expect(newPid != pid)
        #expect(f.cni(conflist, "check", a).succeeded)
        let hostPort = TCP.freePort()
        let server = try TCP.server(port: hostPort, reply: "back")
        defer { server.stop() }
        #expect(TCP.waitReady(server))
        let hostAddr = Self.hostAddress(f, backend: backend)
        for ctr in [a, b] {
            let r = f.inContainer(ctr, ["/usr/bin/python3", "-c", TCP.clientScript, hostAddr, "\(hostPort)", "3"])
            #expect(r.stdout.contains("back"), "\(r)")
        }
        #expect(f.cni(conflist, "del", a).succeeded)
        #expect(f.cni(conflist, "del", b).succeeded)
        #expect(Self.slirpProcesses(f.user).isEmpty)
    }
}
