import Foundation
import Testing

/// The forwarder v2 (issue 12): the container's server sees a TCP client's own address, a
/// mapping's connection cap refuses the N+1th idle connection while the others keep working.
/// The client lives in a namespace of the test's own, joined to the host by a veth pair the
/// test made (traffic only between the addresses the test assigned).
@Suite("port forwarder: source address and limits", .serialized)
struct ForwardSourceIPTests {
    static let enabled = RootlessNetnsTests.enabled
    static let backends = ["slirp4netns", "pasta"].filter { FileManager.default.isExecutableFile(atPath: "/usr/bin/" + $0) }

    /// Answers each connection with the peer's address, then echoes; connections stay open.
    static let peerServer = """
        import socket, sys, threading
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(64)
        open(sys.argv[4], "w").close()
        def serve(c, peer):
            c.sendall((peer[0] + "\\n").encode())
            while True:
                d = c.recv(100)
                if not d: break
                c.sendall(d)
            c.close()
        while True:
            c, peer = s.accept(); threading.Thread(target=serve, args=(c, peer), daemon=True).start()
        """

    /// The first line a connection to argv[1]:argv[2] reads ("ERR ..." if none).
    static let lineClient = """
        import socket, sys
        try:
            c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
            c.settimeout(5); print(c.makefile().readline().strip() or "ERR eof")
        except Exception as e:
            print("ERR", type(e).__name__, e)
        """

    /// Opens two connections (both read their line), a third (must read nothing), checks the
    /// first two still echo, closes one, and a fourth then works.
    static let capClient = """
        import json, socket, sys, time
        addr = (sys.argv[1], int(sys.argv[2]))
        def line(c):
            try: return c.makefile().readline().strip()
            except Exception as e: return "ERR " + type(e).__name__
        def conn():
            c = socket.create_connection(addr, timeout=5); c.settimeout(5); return c
        out = {}
        a, b = conn(), conn()
        out["a"], out["b"] = line(a), line(b)
        c = conn(); out["third"] = line(c); c.close()
        a.sendall(b"ping\\n"); b.sendall(b"pong\\n")
        out["echoA"], out["echoB"] = line(a), line(b)
        a.close(); time.sleep(0.5)
        d = conn(); out["fourth"] = line(d)
        print(json.dumps(out))
        """

    /// A client namespace and veth pair of the test's own: host side .1, client side .2 of a /30,
    /// and ::1 / ::2 of a ULA /64 (nodad: usable at once).
    struct ClientNet {
        let ns: String, hostIf: String
        let hostIP: String, clientIP: String
        let hostIP6: String, clientIP6: String

        init() throws {
            let tag = String(UInt32.random(in: 0..<0xFFFFFF), radix: 16)
            let x = Int.random(in: 0..<256), y = Int.random(in: 0..<64) * 4
            ns = "rcni-fwc-\(tag)"; hostIf = "rfv\(tag)"
            hostIP = "10.251.\(x).\(y + 1)"; clientIP = "10.251.\(x).\(y + 2)"
            let net6 = "fd00:251:\(String(x, radix: 16)):\(String(y, radix: 16))"
            hostIP6 = net6 + "::1"; clientIP6 = net6 + "::2"
            let steps: [[String]] = [
                ["ip", "netns", "add", ns],
                ["ip", "link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", ns],
                ["ip", "addr", "add", "\(hostIP)/30", "dev", hostIf],
                ["ip", "-6", "addr", "add", "\(hostIP6)/64", "dev", hostIf, "nodad"],
                ["ip", "link", "set", hostIf, "up"],
                ["ip", "-n", ns, "addr", "add", "\(clientIP)/30", "dev", "eth0"],
                ["ip", "-n", ns, "-6", "addr", "add", "\(clientIP6)/64", "dev", "eth0", "nodad"],
                ["ip", "-n", ns, "link", "set", "eth0", "up"],
                ["ip", "-n", ns, "link", "set", "lo", "up"],
            ]
            for s in steps {
                let r = Command.run(s, timeout: 20)
                if !r.succeeded { remove(); throw TestUser.Failure(description: "\(s.joined(separator: " ")): \(r)") }
            }
        }

        func run(_ script: String, _ args: [String]) -> CommandResult {
            Command.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", script] + args, timeout: 40)
        }

        /// Deleting the namespace deletes the veth pair with it.
        func remove() {
            _ = Command.run(["ip", "link", "del", hostIf], timeout: 20)
            _ = Command.run(["ip", "netns", "del", ns], timeout: 20)
        }
    }

    static func caps(_ mappings: [(host: String, port: Int)]) -> String {
        caps(mappings.map { ($0.host, $0.port, "tcp", 8080) })
    }

    static func caps(_ mappings: [(host: String, port: Int, proto: String, container: Int)]) -> String {
        let items = mappings.map {
            #"{"hostPort":\#($0.port),"containerPort":\#($0.container),"protocol":"\#($0.proto)","hostIP":"\#($0.host)"}"#
        }
        return #"{"portMappings":[\#(items.joined(separator: ","))]}"#
    }

    /// Dual-stack: TCP on argv[2] and UDP on argv[3] (both on "::") answer with the peer's
    /// address (a v4 peer without its ::ffff: prefix; UDP: then its port); TCP connections then echo.
    static let peerServerDual = """
        import socket, sys, threading
        def name(peer): return peer[0][7:] if peer[0].startswith("::ffff:") else peer[0]
        def sock(kind):
            s = socket.socket(socket.AF_INET6, kind); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); return s
        t = sock(socket.SOCK_STREAM); t.bind(("::", int(sys.argv[2]))); t.listen(64)
        u = sock(socket.SOCK_DGRAM); u.bind(("::", int(sys.argv[3])))
        open(sys.argv[4], "w").close()
        def udp():
            while True:
                d, peer = u.recvfrom(2048); u.sendto((name(peer) + " " + str(peer[1]) + "\\n").encode(), peer)
        def serve(c, peer):
            c.sendall((name(peer) + "\\n").encode())
            while True:
                d = c.recv(100)
                if not d: break
                c.sendall(d)
            c.close()
        threading.Thread(target=udp, daemon=True).start()
        while True:
            c, peer = t.accept(); threading.Thread(target=serve, args=(c, peer), daemon=True).start()
        """

    /// The address the server saw, if it saw the client's own port too; else what it saw.
    static let udpPeerClient = """
        import socket, sys
        fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
        c = socket.socket(fam, socket.SOCK_DGRAM); c.settimeout(1)
        for _ in range(5):
            c.sendto(b"ping", (sys.argv[1], int(sys.argv[2])))
            try:
                addr, port = c.recv(200).decode().split()
            except socket.timeout:
                continue
            print(addr if int(port) == c.getsockname()[1] else f"{addr} port {port}, not {c.getsockname()[1]}")
            sys.exit(0)
        print("ERR timeout")
        """

    static func dualStackConflist(backend: String, sourceIP: Bool, scratch: String) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: Paths.confExample("rootless-bridge-dualstack.conflist")))
        var conf = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var plugins = conf["plugins"] as? [[String: Any]] ?? []
        try #require(!plugins.isEmpty)
        plugins[0]["backend"] = backend
        plugins[0]["sourceIP"] = sourceIP
        ForwardRestoreTests.dropPortmap(&plugins[0])
        conf["plugins"] = plugins
        return try Conflists.write(conf, to: scratch)
    }

    @Test("a client in its own namespace is seen by the container as itself (TCP and UDP, IPv4 and IPv6); loopback clients (127.0.0.1, ::1) as the namespace's address of their family; sourceIP false hides them all; ports free after DEL",
          .enabled(if: enabled, "needs root, user namespaces, reference plugins, iptables, slirp4netns or pasta"),
          arguments: backends)
    func sourceAddressKept(_ backend: String) throws {
        let net = try ClientNet()
        defer { net.remove() }
        // The switch is backend-independent: checked off on one backend only (suite time).
        for sourceIP in backend == "slirp4netns" ? [true, false] : [true] {
            var f = try RootlessNetnsTests.Fixture(userName: "rcni-fsi")
            defer { f.finish() }
            let conflist = try Self.dualStackConflist(backend: backend, sourceIP: sourceIP, scratch: f.scratch)
            let a = try f.container("fsi-")
            // Free on every address, TCP and UDP (the veth addresses are new: free there too).
            let tcp4 = Self.freeDualPort(), tcp6 = Self.freeDualPort(), udp4 = Self.freeDualPort()
            let udp6 = Self.freeDualPort(), loPort = Self.freeDualPort()
            let lo6 = Self.freeDualPort(), loUDP6 = Self.freeDualPort(), loUDP4 = Self.freeDualPort()
            let caps = Self.caps([(net.hostIP, tcp4, "tcp", 8080), (net.hostIP6, tcp6, "tcp", 8080),
                                  (net.hostIP, udp4, "udp", 8081), (net.hostIP6, udp6, "udp", 8081),
                                  ("127.0.0.1", loPort, "tcp", 8080), ("::1", lo6, "tcp", 8080),
                                  ("::1", loUDP6, "udp", 8081), ("127.0.0.1", loUDP4, "udp", 8081)])
            let add = f.cni(conflist, "add", a, capArgs: caps)
            try #require(add.succeeded, "\(add)")
            let server = try f.serverInContainer(a, script: Self.peerServerDual, port: 8080, reply: "8081")
            defer { server.stop() }
            try #require(TCP.waitReady(server))

            func seen(_ script: String, _ host: String, _ port: Int) -> String {
                net.run(script, [host, "\(port)"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let remote: [(what: String, seen: String, client: String)] = [
                ("tcp v4", seen(Self.lineClient, net.hostIP, tcp4), net.clientIP),
                ("tcp v6", seen(Self.lineClient, net.hostIP6, tcp6), net.clientIP6),
                ("udp v4", seen(Self.udpPeerClient, net.hostIP, udp4), net.clientIP),
                ("udp v6", seen(Self.udpPeerClient, net.hostIP6, udp6), net.clientIP6),
            ]
            func seenLocally(_ script: String, _ host: String, _ port: Int) -> String {
                Command.run(["/usr/bin/python3", "-c", script, host, "\(port)"], timeout: 20)
                    .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let local = seenLocally(Self.lineClient, "127.0.0.1", loPort)
            // Loopback clients on v6 host addresses land on the container's v6 address, on v4 on its v4 one.
            let local6 = seenLocally(Self.lineClient, "::1", lo6)
            let localUDP6 = seenLocally(Self.udpClient, "::1", loUDP6), localUDP4 = seenLocally(Self.udpClient, "127.0.0.1", loUDP4)
            for r in remote {
                #expect(!r.seen.hasPrefix("ERR") && !r.seen.isEmpty, "\(backend) \(r.what): \(r.seen)")
                if sourceIP {
                    #expect(r.seen == r.client, "\(backend) \(r.what): the container saw \(r.seen), the client is \(r.client)")
                } else {
                    #expect(r.seen != r.client, "\(backend) \(r.what) sourceIP false: the container saw \(r.seen)")
                }
            }
            #expect(!local.hasPrefix("ERR") && local != "127.0.0.1" && !local.isEmpty,
                    "a loopback client is shown as the namespace's address: \(local)")
            #expect(!local6.hasPrefix("ERR") && local6.contains(":") && local6 != "::1", "tcp ::1: \(local6)")
            #expect(!localUDP6.hasPrefix("ERR") && localUDP6.split(separator: " ").first?.contains(":") == true, "udp ::1: \(localUDP6)")
            #expect(!localUDP4.hasPrefix("ERR") && !localUDP4.isEmpty && localUDP4.split(separator: " ").first?.contains(":") == false,
                    "udp 127.0.0.1: \(localUDP4)")
            #expect(f.cni(conflist, "del", a, capArgs: caps).succeeded)
            #expect(ForwardProbe.canBind(loPort) && ForwardProbe.canBind(tcp4, addr: net.hostIP)
                    && ForwardProbe.canBind(udp6, addr: net.hostIP6, udp: true) && ForwardProbe.canBind(lo6, addr: "::1")
                    && ForwardProbe.canBind(loUDP6, addr: "::1", udp: true) && ForwardProbe.canBind(loUDP4, udp: true),
                    "host ports free after the last DEL")
        }
    }

    @Test("maxConnectionsPerForward 2: the third idle connection is refused, the two keep working, a slot freed is reused",
          .enabled(if: enabled, "needs root, user namespaces, reference plugins, iptables, slirp4netns or pasta"),
          arguments: backends)
    func connectionCap(_ backend: String) throws {
        var f = try RootlessNetnsTests.Fixture(userName: "rcni-fsi")
        defer { f.finish() }
        let conflist = try Conflists.write(try Conflists.rootlessBridge { p in
            p["backend"] = backend
            p["maxConnectionsPerForward"] = 2
            ForwardRestoreTests.dropPortmap(&p)
        }, to: f.scratch)
        let a = try f.container("fsc-")
        let port = TCP.freePort()
        let caps = Self.caps([("127.0.0.1", port)])
        try #require(f.cni(conflist, "add", a, capArgs: caps).succeeded)
        let server = try f.serverInContainer(a, script: Self.peerServer, port: 8080, reply: "")
        defer { server.stop() }
        try #require(TCP.waitReady(server))
        let r = Command.run(["/usr/bin/python3", "-c", Self.capClient, "127.0.0.1", "\(port)"], timeout: 40)
        let out = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: String] ?? [:]
        #expect(!(out["a"] ?? "ERR").hasPrefix("ERR") && !(out["a"] ?? "").isEmpty, "\(r)")
        #expect(!(out["b"] ?? "ERR").hasPrefix("ERR") && !(out["b"] ?? "").isEmpty, "\(r)")
        #expect(out["third"] == "", "the third connection is closed unanswered: \(r)")
        #expect(out["echoA"] == "ping" && out["echoB"] == "pong", "the first two keep working: \(r)")
        // Its pipes are those of the closed pair (reused when empty): nothing of that pair's bytes
        // may show up, it reads exactly its own first line.
        #expect(!(out["fourth"] ?? "ERR").hasPrefix("ERR") && out["fourth"] == out["a"], "a freed slot is reused: \(r)")
        #expect(f.cni(conflist, "del", a, capArgs: caps).succeeded)
        #expect(ForwardProbe.canBind(port), "host port free after the last DEL")
    }

    /// Dual-stack TCP (peer address reply) on argv[2] and UDP ("udp-ok") on argv[3], both on "::"
    /// (argv as serverInContainer passes it: address, port, reply, ready file).
    static let dualServer = """
        import socket, sys, threading
        t = socket.socket(socket.AF_INET6); t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("::", int(sys.argv[2]))); t.listen(16)
        u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        u.bind(("::", int(sys.argv[3])))
        open(sys.argv[4], "w").close()
        def udp():
            while True:
                d, peer = u.recvfrom(2048); u.sendto(b"udp-ok\\n", peer)
        threading.Thread(target=udp, daemon=True).start()
        while True:
            c, peer = t.accept(); c.sendall((peer[0] + "\\n").encode()); c.close()
        """

    static let udpClient = """
        import socket, sys
        fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
        c = socket.socket(fam, socket.SOCK_DGRAM); c.settimeout(1)
        for _ in range(5):
            c.sendto(b"ping", (sys.argv[1], int(sys.argv[2])))
            try:
                print(c.recv(200).decode().strip()); sys.exit(0)
            except socket.timeout:
                continue
        print("ERR timeout")
        """

    /// A port nothing holds on ::1 and 127.0.0.1, TCP and UDP.
    static func freeDualPort() -> Int {
        for _ in 0..<50 {
            let p = TCP.freePort()
            if ForwardProbe.canBind(p, addr: "::1") && ForwardProbe.canBind(p, addr: "::1", udp: true)
                && ForwardProbe.canBind(p, udp: true) { return p }
        }
        return TCP.freePort()
    }

    /// Two UDP clients get answers, a third (while both flows are young) none; once the flows
    /// have been idle past the timeout the third is answered.
    static let udpCapClient = """
        import json, socket, sys, time
        addr = (sys.argv[1], int(sys.argv[2]))
        def ask(timeout):
            c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.settimeout(timeout)
            c.sendto(b"ping", addr)
            try: return c.recv(100).decode().strip()
            except socket.timeout: return "timeout"
            finally: c.close()
        out = {"a": ask(5), "b": ask(5), "third": ask(1)}
        time.sleep(float(sys.argv[3]))
        out["later"] = ask(5)
        print(json.dumps(out))
        """

    @Test("UDP: maxConnectionsPerForward 2 refuses a third flow; after udpIdleTimeout the idle flows are dropped and it is answered",
          .enabled(if: enabled, "needs root, user namespaces, reference plugins, iptables, slirp4netns"))
    func udpIdleTimeout() throws {
        var f = try RootlessNetnsTests.Fixture(userName: "rcni-fsi")
        defer { f.finish() }
        // Idle timeout 5 s: the third flow is tried well inside it (the first two are < 1 s old),
        // the retry comes 9 s later (timeout + the 1 s sweep + margin).
        let conflist = try Conflists.write(try Conflists.rootlessBridge { p in
            p["backend"] = "slirp4netns"
            p["maxConnectionsPerForward"] = 2
            p["udpIdleTimeout"] = 5
            ForwardRestoreTests.dropPortmap(&p)
        }, to: f.scratch)
        let a = try f.container("fsu-")
        let port = Self.freeDualPort()
        let caps = #"{"portMappings":[{"hostPort":\#(port),"containerPort":8081,"protocol":"udp","hostIP":"127.0.0.1"}]}"#
        try #require(f.cni(conflist, "add", a, capArgs: caps).succeeded)
        let server = try f.serverInContainer(a, script: Self.dualServer, port: 8080, reply: "8081")
        defer { server.stop() }
        try #require(TCP.waitReady(server))
        let r = Command.run(["/usr/bin/python3", "-c", Self.udpCapClient, "127.0.0.1", "\(port)", "9"], timeout: 60)
        let out = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: String] ?? [:]
        #expect(out["a"] == "udp-ok" && out["b"] == "udp-ok", "\(r)")
        #expect(out["third"] == "timeout", "a third flow is refused while two are live: \(r)")
        #expect(out["later"] == "udp-ok", "idle flows dropped after udpIdleTimeout: \(r)")
        #expect(f.cni(conflist, "del", a, capArgs: caps).succeeded)
        #expect(ForwardProbe.canBind(port, udp: true), "no host port left bound after the last DEL")
    }
}
