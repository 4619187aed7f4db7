import Foundation
import Testing

/// Issue 6: reliability and security of rootless-netns, as an unprivileged user in a rootless
/// session. One parent suite, `.serialized`, so its nested suites (one file each) share the test
/// user `rcni-rel` without stepping on each other; other suites use other users and run in
/// parallel with this one.
@Suite("rootless-netns reliability", .serialized,
       .enabled(if: RelConditions.enabled, "needs root, user namespaces, reference plugins, iptables, slirp4netns"))
struct ReliabilityTests {
    static let userName = TestUser.perCheckout("rcni-rel")
}

enum RelConditions {
    static let enabled = RootlessNetnsTests.enabled
}

/// One user, session, scratch dir (plugins, conflists, caches) per test; everything the test
/// made is removed by `finish()`, whatever state the plugin left.
struct RelFixture {
    let user: TestUser
    let session: RootlessSession
    /// /tmp/rcni-rel-XXXXXX, owned by the user: conflists, caches, fake plugins, scripts.
    let scratch: String
    var plugins: String { scratch + "/plugins" }
    /// Container namespaces of this test live here (in the session's mount namespace).
    var containerNetnsDir: String { user.runtimeDir + "/netns" }
    var stateDirs: [String] = []
    var netns: [String] = []
    /// Extra runtime dirs a test pointed XDG_RUNTIME_DIR at.
    var extraRuntimeDirs: [String] = []

    init() throws {
        user = try TestUser.ensure(ReliabilityTests.userName)
        Self.killStrays(user)
        guard user.canExecute(Products.rootlessNetns) else {
            throw TestUser.Failure(description: "\(user.name) cannot execute \(Products.rootlessNetns): make the checkout world-traversable (scripts/test does)")
        }
        scratch = try Scratch.makeDirectory("rcni-rel-")
        try FileManager.default.createDirectory(atPath: scratch + "/plugins", withIntermediateDirectories: true)
        try RelPlugin.install(in: scratch + "/plugins")
        try Scratch.write(RelScripts.netnsBatch, to: scratch + "/netns_batch.py")
        try Scratch.write(RelScripts.crashLoop, to: scratch + "/crash_loop.py")
        try Scratch.write(RelScripts.umaskExec, to: scratch + "/umask_exec.py")
        try user.chown(scratch)
        Self.removeStaleNetnsFiles(user)
        session = try RootlessSession.start(user)
    }

    /// Shared namespace files an interrupted run left in the user's netns dir (plain files on
    /// the host: their mounts lived in a session), so one broken test does not fail the next.
    static func removeStaleNetnsFiles(_ user: TestUser) {
        let dir = user.runtimeDir + "/netns"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix("rootless-netns-") {
            try? FileManager.default.removeItem(atPath: dir + "/" + name)
        }
    }

    /// Processes of this test user left by an interrupted run (never anyone else's).
    static func killStrays(_ user: TestUser) {
        // By pid, from the same recognition the checks use (pasta runs as passt.avx2).
        for p in Procs.leftovers(uid: user.uid) + Procs.live(uid: user.uid).filter({ $0.comm == "sleep" }) {
            _ = Command.run(["kill", "-9", "\(p.pid)"], timeout: 10)
        }
    }

    /// A state dir under the user's runtime dir, remembered for cleanup.
    mutating func stateDir(_ name: String) -> String {
        let dir = user.runtimeDir + "/" + name
        stateDirs.append(dir)
        return dir
    }

    /// `count` container namespaces made in one `session exec` (lo up), in `containerNetnsDir`.
    mutating func makeNetns(_ prefix: String, count: Int) throws -> [String] {
        let names = (0..<count).map { _ in Scratch.uniqueName(prefix) }
        let r = session.exec(["/usr/bin/python3", scratch + "/netns_batch.py", "add", containerNetnsDir] + names,
                             timeout: 60 + Double(count))
        guard r.succeeded else { throw TestUser.Failure(description: "netns batch: \(r)") }
        let paths = r.stdout.split(separator: "\n").map(String.init)
        guard paths.count == count else { throw TestUser.Failure(description: "netns batch: \(r)") }
        netns += paths
        return paths
    }

    func writeConflist(_ conf: [String: Any], name: String = "net.conflist") throws -> String {
        let path = try Conflists.write(conf, to: scratch, name: name)
        try user.chown(path)
        return path
    }

    /// The example conflist (reference bridge chain) with a private stateDir.
    mutating func bridgeConflist(stateDir name: String, version: String = "1.0.0", backend: String = "slirp4netns",
                                 mutate: (inout [String: Any]) -> Void = { _ in }) throws -> (conflist: String, stateDir: String) {
        let dir = stateDir(name)
        let conf = try Conflists.rootlessBridge(version: version) { p in
            p["stateDir"] = dir
            p["backend"] = backend
            mutate(&p)
        }
        return (try writeConflist(conf, name: name + ".conflist"), dir)
    }

    /// A 1.1.0 conflist whose delegates are `relfake` plugins (ADD/DEL/CHECK/STATUS/GC all work).
    mutating func fakeConflist(stateDir name: String, delegates: [[String: Any]] = [["type": "relfake"]],
                               mutate: (inout [String: Any]) -> Void = { _ in }) throws -> (conflist: String, stateDir: String) {
        let dir = stateDir(name)
        var plugin = RelPlugin.rootlessEntry(stateDir: dir, delegates: delegates)
        mutate(&plugin)
        let conf: [String: Any] = ["cniVersion": "1.1.0", "name": "relnet", "plugins": [plugin]]
        return (try writeConflist(conf, name: name + ".conflist"), dir)
    }

    /// The single-plugin config a runtime would pipe to rootless-netns for this conflist
    /// (its first plugin with the list's name and cniVersion), plus `extra` keys.
    func pluginConf(_ conflist: String, _ extra: [String: Any] = [:]) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: conflist))
        let list = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        var conf = (list["plugins"] as? [[String: Any]])?.first ?? [:]
        conf["cniVersion"] = list["cniVersion"]
        conf["name"] = list["name"]
        for (k, v) in extra { conf[k] = v }
        return try Scratch.jsonText(conf)
    }

    /// cnitool in the session. `containerID` nil: cnitool derives one from the netns path.
    func cni(_ conflist: String, _ verb: String, _ netnsPath: String? = nil, containerID: String? = nil,
             cniPath: String? = nil, extra: [String] = [], timeout: TimeInterval = 120) -> CommandResult {
        var args = ["--conflist", conflist, "--cni-path", cniPath ?? (plugins + ":" + Products.cniPath),
                    "--ifname", "eth0", "--cache-dir", scratch + "/cache", "--timeout", "60"] + extra
        if let containerID { args += ["--container-id", containerID] }
        args.append(verb)
        if let netnsPath { args.append(netnsPath) }
        return session.cnitool(args, timeout: timeout)
    }

    /// Runs the plugin binary directly in the session with exactly `env` (`env -i`, no shell).
    func plugin(env: [String: String], stdin: String, timeout: TimeInterval = 60) -> CommandResult {
        let vars = env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return session.exec(["/usr/bin/env", "-i"] + vars + [Products.rootlessNetns], timeout: timeout, input: stdin)
    }

    /// The CNI env of a direct run (PATH, XDG_RUNTIME_DIR, CNI_PATH, CNI_IFNAME) plus `extra`.
    func pluginEnv(_ command: String, containerID: String = "relctr", netns: String = "",
                   _ extra: [String: String] = [:]) -> [String: String] {
        var env = ["PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "XDG_RUNTIME_DIR": user.runtimeDir,
                   "CNI_COMMAND": command, "CNI_CONTAINERID": containerID, "CNI_IFNAME": "eth0",
                   "CNI_PATH": plugins + ":" + Products.cniPath]
        if !netns.isEmpty { env["CNI_NETNS"] = netns }
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// `rootless-netns status --state-dir DIR` as JSON.
    func status(_ stateDir: String) -> [String: Any] {
        session.rootlessNetns(["status", "--state-dir", stateDir]).json ?? [:]
    }

    func attachmentCount(_ stateDir: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: stateDir + "/attachments")) ?? [])
            .filter { $0.hasSuffix(".json") && !$0.contains(".tmp-") }.count
    }

    /// The live helpers (slirp4netns/pasta) of the test user.
    func helpers() -> [Procs.Info] { Procs.helpers(uid: user.uid) }

    /// Mounts of shared namespaces in the session (none once everything is torn down).
    func sharedNetnsMounts() -> [String] {
        guard let pause = session.pausePid else { return ["(no session)"] }
        return Self.sharedNetnsMounts(pause: pause)
    }

    /// The host's loopback as seen from a container: slirp4netns's 10.0.2.2, or pasta's gateway.
    func hostAddress(backend: String, stateDir: String) -> String {
        guard backend == "pasta" else { return "10.0.2.2" }
        let r = session.rootlessNetns(["enter", "--state-dir", stateDir, "--", "ip", "-j", "-4", "route", "show", "default"])
        let routes = Command.jsonValue(r.stdout) as? [[String: Any]]
        return (routes?.first?["gateway"] as? String) ?? "unknown-gateway"
    }

    /// Mounts of shared namespaces in the mount namespace of `pause` (read to EOF).
    static func sharedNetnsMounts(pause: Int32) -> [String] {
        guard let text = Procs.read("/proc/\(pause)/mountinfo") else { return ["(cannot read /proc/\(pause)/mountinfo)"] }
        return text.split(separator: "\n").map(String.init).filter { $0.contains("/rootless-netns-") }
    }

    /// What the delegates left inside the shared namespace of `stateDir`: `ip -o link`,
    /// `iptables -t nat -S` (run there with `rootless-netns enter`) and host-local's leases
    /// (IP -> container ID) in the state dir's IPAM dir for `network`.
    struct SharedView: CustomStringConvertible {
        var links: [String], nat: [String], leases: [String: String]
        var veths: [String] { links.filter { $0.contains("veth") } }
        var description: String { "links \(links)\nnat \(nat)\nleases \(leases)" }
    }

    func sharedView(_ stateDir: String, network: String) -> SharedView {
        func enter(_ argv: [String]) -> [String] {
            let r = session.rootlessNetns(["enter", "--state-dir", stateDir, "--"] + argv)
            return r.succeeded ? r.stdout.split(separator: "\n").map(String.init) : ["(failed: \(r))"]
        }
        let dir = stateDir + "/var/lib/cni/networks/" + network
        var leases: [String: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        where name != "lock" && !name.hasPrefix("last_reserved_ip") {
            let text = (try? String(contentsOfFile: dir + "/" + name, encoding: .utf8)) ?? ""
            leases[name] = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        }
        return SharedView(links: enter(["ip", "-o", "link"]), nat: enter(["iptables", "-t", "nat", "-S"]), leases: leases)
    }

    /// After DELs that left others attached: nothing of the `gone` containers is left in the
    /// shared namespace (lease, veth, NAT rule), and what the `attached` ones (ID -> IP) hold is
    /// still there (so the check can see what it looks for).
    func expectOnly(attached: [String: String], gone: [String], stateDir: String, network: String,
                    _ where_: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let v = sharedView(stateDir, network: network)
        #expect(v.leases == attached.reduce(into: [:]) { $0[$1.value] = $1.key },
                "\(where_): leases \(v.leases), attached \(attached)", sourceLocation: sourceLocation)
        #expect(v.veths.count == attached.count, "\(where_): \(v.veths.count) veths for \(attached.count) attached: \(v.links)",
                sourceLocation: sourceLocation)
        // iptables -S prints the comment quoted: --comment "name: \"net\" id: \"ID\"".
        let tag = { (id: String) in "id: \\\"\(id)\\\"" }
        for id in gone {
            let rules = v.nat.filter { $0.contains(tag(id)) }
            #expect(rules.isEmpty, "\(where_): NAT rules of \(id) left: \(rules)", sourceLocation: sourceLocation)
        }
        for id in attached.keys {
            #expect(v.nat.contains { $0.contains(tag(id)) }, "\(where_): no NAT rule of attached \(id): \(v.nat)",
                    sourceLocation: sourceLocation)
        }
    }

    /// Shared namespace files in a netns dir.
    func sharedNetnsFiles(_ netnsDir: String? = nil) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: netnsDir ?? containerNetnsDir)) ?? [])
            .filter { $0.hasPrefix("rootless-netns-") }
    }

    /// What is left in a state dir (nil when it does not exist).
    func stateLeft(_ stateDir: String) -> [String]? {
        try? FileManager.default.contentsOfDirectory(atPath: stateDir).sorted()
    }

    /// Nothing of the shared namespace left: no helper, no netns file or mount, state reduced to the lock.
    func expectClean(_ stateDir: String, netnsDir: String? = nil, _ where_: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        let procs = Procs.leftovers(uid: user.uid)
        #expect(procs.isEmpty, "\(where_): helpers, forwarders or delegates left: \(procs)", sourceLocation: sourceLocation)
        #expect(sharedNetnsFiles(netnsDir).isEmpty, "\(where_): netns files left: \(sharedNetnsFiles(netnsDir))",
                sourceLocation: sourceLocation)
        #expect(sharedNetnsMounts().isEmpty, "\(where_): mounts left: \(sharedNetnsMounts())", sourceLocation: sourceLocation)
        let left = stateLeft(stateDir)
        #expect(left == nil || left == ["lock"], "\(where_): state left in \(stateDir): \(left ?? [])",
                sourceLocation: sourceLocation)
    }

    /// Forced cleanup of everything the test may have left, then the session.
    func finish() {
        for dir in stateDirs + [user.runtimeDir + "/rootless-netns"] where FileManager.default.fileExists(atPath: dir) {
            _ = session.rootlessNetns(["cleanup", "--state-dir", dir])
        }
        if !netns.isEmpty {
            _ = session.exec(["/usr/bin/python3", scratch + "/netns_batch.py", "del", containerNetnsDir]
                             + netns.map { URL(fileURLWithPath: $0).lastPathComponent }, timeout: 60)
        }
        session.stop()
        Self.killStrays(user)
        Self.removeStaleNetnsFiles(user)
        for dir in stateDirs + extraRuntimeDirs { Scratch.removeDirectory(dir) }
        for p in netns { try? FileManager.default.removeItem(atPath: p) }
        Scratch.removeDirectory(scratch)
    }
}
