import Foundation
import Testing

/// Real runtimes' paths through rootless-netns, in a rootless session of a test user of its own:
/// a 1.1.0 conflist over Debian's 1.0.0-only reference plugins (version bridging), and
/// containerd's go-cni with a published port.
@Suite("rootless-netns: version bridging and go-cni", .serialized)
struct RuntimesVersionGoCNITests {
    static let enabled = RootlessNetnsTests.enabled

    /// The rootless-bridge example with bridge (+ host-local) and portmap only, at `version`.
    static func conflist(_ f: RootlessNetnsTests.Fixture, version: String) throws -> String {
        var conf = try Conflists.rootlessBridge(version: version) { p in
            let dels = p["delegates"] as? [[String: Any]] ?? []
            p["delegates"] = dels.filter { ["bridge", "portmap"].contains($0["type"] as? String ?? "") }
        }
        conf["name"] = "rcni-bridging"
        return try Conflists.write(conf, to: f.scratch)
    }

    /// CHECK of an attachment with port mappings, with Debian's portmap 1.1.1 on an IPv4-only
    /// container, fails in portmap itself: it looks for an ip6tables chain it never made
    /// (containernetworking/plugins#819, fixed in 1.2.0). Any other failure is a failure.
    static func checkPassed(_ r: CommandResult) -> Bool {
        r.succeeded || r.stderr.contains("could not check ipv6 dnat: chain CNI-DN-")
    }

    static func json(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    /// Debian 12's plugins stop at 1.0.0: without bridging this ADD fails at the bridge with
    /// "incompatible CNI versions" (the state before the bridge existed).
    @Test("a 1.1.0 conflist with 1.0.0 reference delegates: ADD, CHECK, STATUS, GC, DEL; results are 1.1.0",
          .enabled(if: enabled, "needs root, user namespaces, reference plugins, iptables, slirp4netns"))
    func bridgedChain() throws {
        var f = try RootlessNetnsTests.Fixture(userName: "rcni-vbridge")
        defer { f.finish() }
        let conflist = try Self.conflist(f, version: "1.1.0")
        let a = try f.container("vb-a-"), b = try f.container("vb-b-")
        func cni(_ verb: String, _ netns: String?, id: String? = nil, extra: [String] = []) -> CommandResult {
            var args = ["--conflist", conflist, "--cni-path", Products.cniPath, "--cache-dir", f.scratch + "/cache",
                        "--timeout", "120"] + extra
            if let id { args += ["--container-id", id] }
            return f.session.cnitool(args + [verb] + (netns.map { [$0] } ?? []), timeout: 180)
        }
        let port = TCP.randomPort()
        let caps = #"{"portMappings":[{"HostPort":\#(port),"ContainerPort":8080,"Protocol":"tcp","HostIP":"127.0.0.1"}]}"#
        let addA = cni("add", a, id: "vb-a", extra: ["--cap-args", caps])
        try #require(addA.succeeded, "\(addA)")
        let result = try #require(Self.json(addA.stdout), "\(addA)")
        #expect(result["cniVersion"] as? String == "1.1.0")
        let ips = result["ips"] as? [[String: Any]] ?? []
        #expect(ips.first?["address"] as? String ?? "" != "" && ips.allSatisfy { $0["version"] == nil }, "\(result)")
        #expect((result["interfaces"] as? [[String: Any]] ?? []).contains { $0["sandbox"] as? String == a }, "\(result)")
        let addB = cni("add", b, id: "vb-b")
        try #require(addB.succeeded, "\(addB)")
        #expect(Self.json(addB.stdout)?["cniVersion"] as? String == "1.1.0")

        // The 1.0.0 portmap got canonical keys from the go-cased capability args: the port works.
        let server = try f.serverInContainer(a, script: TCP.serverScript, port: 8080, reply: "bridged-A")
        defer { server.stop() }
        #expect(TCP.waitReady(server))
        let got = TCP.fetchFromHost(port: port)
        #expect(got.stdout.contains("bridged-A"), "\(got)")

        // Each delegate's VERSION is cached per user, next to the helper feature cache.
        let cache = f.user.runtimeDir + "/rootless-netns-delegates.json"
        // (The file is the user's: other tests' delegates may have entries too; one of these binaries
        // answered up to 1.0.0.)
        let cached = (try? String(contentsOfFile: cache, encoding: .utf8)) ?? ""
        let entries = (Self.json(cached)?["entries"] as? [[String: Any]] ?? []).map { $0["supportedVersions"] as? [String] ?? [] }
        #expect(entries.contains { $0.contains("1.0.0") && !$0.contains("1.1.0") }, "\(cache): \(cached)")

        let check = cni("check", a, id: "vb-a")
        #expect(Self.checkPassed(check), "\(check)")
        let checkB = cni("check", b, id: "vb-b")   // no port mappings: must pass outright
        #expect(checkB.succeeded, "\(checkB)")
        let status = cni("status", nil)
        #expect(status.succeeded, "\(status)")

        // GC keeping only A: B's attachment is stale and DELeted through its (1.0.0) chain.
        let gc = cni("gc", nil, extra: ["--valid-attachments", #"[{"containerID":"vb-a","ifname":"eth0"}]"#])
        #expect(gc.succeeded, "\(gc)")
        let left = (f.status()["attachments"] as? [[String: Any]] ?? []).compactMap { $0["containerID"] as? String }
        #expect(left == ["vb-a"], "\(f.status())")
        let gone = f.inContainer(b, ["ip", "-o", "-4", "addr", "show", "dev", "eth0"])
        #expect(!gone.stdout.contains("inet "), "\(gone)")
        let checkAgain = cni("check", a, id: "vb-a")
        #expect(Self.checkPassed(checkAgain), "\(checkAgain)")

        let del = cni("del", a, id: "vb-a")
        #expect(del.succeeded, "\(del)")
        let after = TCP.fetchFromHost(port: port, timeout: 2)
        #expect(!after.stdout.contains("bridged-A"), "\(after)")
        #expect((f.status()["attachments"] as? [Any])?.isEmpty ?? false, "\(f.status())")
    }

    // MARK: go-cni

    static let goCNISource = Paths.repoRoot + "/scripts/lib/gocni"
    static let goPath = "/usr/share/gocode"
    static let haveGoCNI = FileManager.default.isExecutableFile(atPath: "/usr/bin/go")
        && FileManager.default.fileExists(atPath: goPath + "/src/github.com/containerd/go-cni/cni.go")

    /// Builds scripts/lib/gocni against Debian's go-cni into .build/gocni (kept between runs).
    static func buildProbe() throws -> String {
        let out = Paths.repoRoot + "/.build/gocni"
        let bin = out + "/gocni-probe"
        let r = Command.run(["/usr/bin/go", "build", "-o", bin, "."], timeout: 300,
                            environment: ["GO111MODULE": "off", "GOPATH": goPath, "GOCACHE": out + "/cache",
                                          "CGO_ENABLED": "0"],
                            cwd: goCNISource)
        guard r.succeeded else { throw TestUser.Failure(description: "building the go-cni probe: \(r)") }
        _ = Command.run(["chmod", "-R", "o+rX", out], timeout: 30)
        return bin
    }

    /// containerd's path: go-cni Setup/Check/Remove with WithCapabilityPortMap, whose Go-cased
    /// keys rootless-netns refused before it read them as Go does. As in rootless containerd
    /// (rootlesskit --copy-up=/var/lib), /var/lib is writable in the session for libcni's cache.
    @Test("go-cni Setup/Check/Remove with WithCapabilityPortMap: the mapped port reaches the container, and is gone after Remove",
          .enabled(if: enabled && haveGoCNI,
                   "needs root, user namespaces, reference plugins, iptables, slirp4netns, golang-go and golang-github-containerd-go-cni-dev"))
    func goCNIPortMapping() throws {
        let probe = try Self.buildProbe()
        var f = try RootlessNetnsTests.Fixture(userName: "rcni-gocni")
        defer { f.finish() }
        let conflist = try Self.conflist(f, version: "1.0.0")   // Debian's libcni speaks up to 1.0.0
        let varLib = f.scratch + "/varlib"
        try FileManager.default.createDirectory(atPath: varLib + "/cni", withIntermediateDirectories: true)
        _ = Command.run(["chown", "-R", "\(f.user.uid)", varLib], timeout: 10)
        let bind = f.session.exec(["mount", "--bind", varLib, "/var/lib"])
        try #require(bind.succeeded, "\(bind)")
        let a = try f.container("gc-a-")
        let port = TCP.randomPort()
        func run(_ verb: String) -> CommandResult {
            f.session.exec([probe, verb, conflist, a, "gocni-a", "\(port)", "8080", Products.cniPath], timeout: 180)
        }
        let setup = run("setup")
        try #require(setup.succeeded, "\(setup)")
        let eth0 = Self.json(setup.stdout)?["eth0"] as? [String: Any]
        #expect(eth0?["sandbox"] as? String == a && !((eth0?["ips"] as? [String]) ?? []).isEmpty, "\(setup)")

        let server = try f.serverInContainer(a, script: TCP.serverScript, port: 8080, reply: "gocni-A")
        defer { server.stop() }
        #expect(TCP.waitReady(server))
        let got = TCP.fetchFromHost(port: port)
        #expect(got.stdout.contains("gocni-A"), "\(got)")

        let check = run("check")
        #expect(Self.checkPassed(check), "\(check)")
        let remove = run("remove")
        #expect(remove.succeeded, "\(remove)")
        let after = TCP.fetchFromHost(port: port, timeout: 2)
        #expect(!after.stdout.contains("gocni-A"), "\(after)")
        #expect((f.status()["attachments"] as? [Any])?.isEmpty ?? false, "\(f.status())")
    }
}
