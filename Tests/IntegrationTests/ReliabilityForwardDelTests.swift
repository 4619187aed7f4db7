import Foundation
import Testing

extension ReliabilityTests {
    /// Issue 10 item 5: a DEL retried after a transient chain failure must succeed, with a port
    /// mapping recorded. The old code removed slirp4netns forwards by its API id even when the
    /// chain DEL failed, so the retry asked for the same id again, got "bad arguments.id" and
    /// failed with code 5 forever.
    @Suite("DEL retried after a chain failure, with port mappings")
    struct ForwardDelRetry {
        /// A delegate whose DEL fails (code 11) while `fail-del-once` exists next to it, once.
        static let flakyPlugin = #"""
        #!/usr/bin/env python3
        import json, os, sys
        raw = sys.stdin.read()
        conf = json.loads(raw) if raw.strip() else {}
        here = os.path.dirname(os.path.abspath(__file__))
        cmd = os.environ.get("CNI_COMMAND", "")
        version = conf.get("cniVersion", "1.0.0")
        if cmd == "VERSION":
            print(json.dumps({"cniVersion": version, "supportedVersions": ["0.4.0", "1.0.0", "1.1.0"]})); sys.exit(0)
        marker = os.path.join(here, "fail-del-once")
        if cmd == "DEL" and os.path.exists(marker):
            os.unlink(marker)
            print(json.dumps({"cniVersion": version, "code": 11, "msg": "transient DEL failure"})); sys.exit(11)
        if cmd == "ADD":
            print(json.dumps({"cniVersion": version,
                              "interfaces": [{"name": os.environ.get("CNI_IFNAME", ""), "sandbox": os.environ.get("CNI_NETNS", "")}],
                              "ips": [{"address": "10.99.0.2/24", "interface": 0}]}))
        """#

        /// backend / portForwarder pairs: slirp4netns's API (the old failure), our forwarder on both.
        static let cases: [String] = ["slirp4netns/slirp4netns", "slirp4netns/builtin", "pasta/builtin"].filter {
            FileManager.default.isExecutableFile(atPath: "/usr/bin/" + $0.split(separator: "/")[0])
        }

        @Test("DEL fails once in the chain, the retry succeeds and releases the host port", arguments: cases)
        func delRetry(_ variant: String) throws {
            let parts = variant.split(separator: "/").map(String.init)
            var f = try RelFixture()
            defer { f.finish() }
            try Scratch.write(Self.flakyPlugin, to: f.plugins + "/fwdflaky", mode: 0o755)
            try f.user.chown(f.plugins + "/fwdflaky")
            let (conflist, stateDir) = try f.fakeConflist(stateDir: "rel-fwd-del", delegates: [["type": "fwdflaky"]]) { p in
                p["backend"] = parts[0]
                p["portForwarder"] = parts[1]
                p["capabilities"] = ["portMappings": true]
            }
            let netns = try f.makeNetns("fwdel", count: 1)
            let port = TCP.randomPort()
            let caps = #"{"portMappings":[{"hostPort":\#(port),"containerPort":8080,"protocol":"tcp","hostIP":"127.0.0.1"}]}"#
            let add = f.cni(conflist, "add", netns[0], containerID: "rel-fwd-1", extra: ["--cap-args", caps])
            try #require(add.succeeded, "\(add)")
            #expect(!ForwardProbe.canBind(port), "the mapping holds host port \(port)")

            try Scratch.write("", to: f.plugins + "/fail-del-once")
            try f.user.chown(f.plugins + "/fail-del-once")
            let del1 = f.cni(conflist, "del", netns[0], containerID: "rel-fwd-1", extra: ["--cap-args", caps])
            #expect(!del1.succeeded && del1.stdout.contains("transient"), "\(del1)")
            #expect(f.attachmentCount(stateDir) == 1, "the record stays for the retry")

            let del2 = f.cni(conflist, "del", netns[0], containerID: "rel-fwd-1", extra: ["--cap-args", caps])
            #expect(del2.succeeded, "the retry: \(del2)")
            let del3 = f.cni(conflist, "del", netns[0], containerID: "rel-fwd-1", extra: ["--cap-args", caps])
            #expect(del3.succeeded, "DEL again: \(del3)")
            #expect(ForwardProbe.canBind(port), "host port \(port) is free after the last DEL")
            // Only what is ours: the user's netns dir may hold other suites' namespaces.
            let left = f.stateLeft(stateDir)
            #expect(left == nil || left == ["lock"], "state left: \(left ?? [])")
        }
    }
}

/// Host-side probes for forwarding tests (loopback only).
enum ForwardProbe {
    /// Whether `addr:port` (TCP, or UDP) can be bound right now, i.e. nothing holds it.
    /// (A UDP socket bound by someone else makes the bind fail: no SO_REUSEPORT.)
    static func canBind(_ port: Int, addr: String = "127.0.0.1", udp: Bool = false) -> Bool {
        let script = """
            import socket, sys
            fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_DGRAM if sys.argv[3] == "udp" else socket.SOCK_STREAM)
            if fam == socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            # TIME_WAIT leftovers of the test's own connections do not count; a listener does.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((sys.argv[1], int(sys.argv[2]))); print("FREE")
            except OSError as e:
                print("TAKEN", e)
            """
        let r = Command.run(["/usr/bin/python3", "-c", script, addr, "\(port)", udp ? "udp" : "tcp"], timeout: 10)
        return r.stdout.contains("FREE")
    }
}
