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

    /// A client namespace and veth pair of the test's own: host side .1, client side .2 of a /30.
    struct ClientNet {
        let ns: String, hostIf: String
        let hostIP: String, clientIP: String

        init() throws {
            let tag = String(UInt32.random(in: 0..<0xFFFFFF), radix: 16)
            let x = Int.random(in: 0..<256), y = Int.random(in: 0..<64) * 4
            ns = "rcni-fwc-\(tag)"; hostIf = "rfv\(tag)"
            hostIP = "10.251.\(x).\(y + 1)"; clientIP = "10.251.\(x).\(y + 2)"
            let steps: [[String]] = [
                ["ip", "netns", "add", ns],
                ["ip", "link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", ns],
                ["ip", "addr", "add", "\(hostIP)/30", "dev", hostIf],
                ["ip", "link", "set", hostIf, "up"],
                ["ip", "-n", ns, "addr", "add", "\(clientIP)/30", "dev", "eth0"],
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
        let items = mappings.map { #"{"hostPort":\#($0.port),"containerPort":8080,"protocol":"tcp","hostIP":"\#($0.host)"}"# }
        return #"{"portMappings":[\#(items.joined(separator: ","))]}"#
    }

    @Test("a TCP client in its own namespace is seen by the container as itself; a loopback client as the namespace's address; sourceIP false hides both",
          .enabled(if: enabled, "needs root, user namespaces, reference plugins, iptables, slirp4netns or pasta"),
          arguments: backends)
    func sourceAddressKept(_ backend: String) throws {
        let net = try ClientNet()
        defer { net.remove() }
        for sourceIP in [true, false] {
            var f = try RootlessNetnsTests.Fixture(userName: "rcni-fsi")
            defer { f.finish() }
            let conflist = try Conflists.write(try Conflists.rootlessBridge { p in
                p["backend"] = backend
                p["sourceIP"] = sourceIP
                ForwardRestoreTests.dropPortmap(&p)
            }, to: f.scratch)
            let a = try f.container("fsi-")
            let vethPort = Int.random(in: 20000..<30000), loPort = TCP.freePort()
            let caps = Self.caps([(net.hostIP, vethPort), ("127.0.0.1", loPort)])
            let add = f.cni(conflist, "add", a, capArgs: caps)
            try #require(add.succeeded, "\(add)")
            let server = try f.serverInContainer(a, script: Self.peerServer, port: 8080, reply: "")
            defer { server.stop() }
            try #require(TCP.waitReady(server))

            let remote = net.run(Self.lineClient, [net.hostIP, "\(vethPort)"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let local = Command.run(["/usr/bin/python3", "-c", Self.lineClient, "127.0.0.1", "\(loPort)"], timeout: 20)
                .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!remote.hasPrefix("ERR") && !local.hasPrefix("ERR"), "remote \(remote), local \(local)")
            if sourceIP {
                #expect(remote == net.clientIP, "\(backend): the container saw \(remote), the client is \(net.clientIP)")
            } else {
                #expect(remote != net.clientIP && !remote.isEmpty, "\(backend) sourceIP false: the container saw \(remote)")
            }
            #expect(local != "127.0.0.1" && !local.isEmpty, "a loopback client is shown as the namespace's address: \(local)")
            #expect(f.cni(conflist, "del", a, capArgs: caps).succeeded)
            #expect(ForwardProbe.canBind(loPort) && ForwardProbe.canBind(vethPort, addr: net.hostIP), "host ports free after the last DEL")
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
        #expect(!(out["fourth"] ?? "ERR").hasPrefix("ERR") && !(out["fourth"] ?? "").isEmpty, "a freed slot is reused: \(r)")
        #expect(f.cni(conflist, "del", a, capArgs: caps).succeeded)
        #expect(ForwardProbe.canBind(port), "host port free after the last DEL")
    }
}
