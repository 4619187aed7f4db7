import Foundation

/// The executables built alongside this test bundle (same build directory).
enum Products {
    static let binDir: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }()
    static var rootlessNetns: String { binDir + "/rootless-netns" }
    static var netstatInspect: String { binDir + "/netstat-inspect" }
    static var haveRootlessNetns: Bool { FileManager.default.isExecutableFile(atPath: rootlessNetns) }
    /// CNI_PATH for chains that use our plugins and the reference ones.
    static var cniPath: String { binDir + ":" + Paths.cniPath }
}

/// A user's rootless session driven through scripts/cnitool (pause process holding a user
/// namespace with the user mapped to root, plus a mount namespace).
struct RootlessSession {
    let user: TestUser

    static func start(_ user: TestUser) throws -> RootlessSession {
        let s = RootlessSession(user: user)
        _ = Cnitool.run(["--user", user.name, "session", "stop"], timeout: 60)
        let r = Cnitool.run(["--user", user.name, "session", "start"], timeout: 60)
        guard r.succeeded else { throw TestUser.Failure(description: "session start: \(r)") }
        return s
    }

    var pausePid: Int32? {
        let r = Cnitool.run(["--user", user.name, "session", "status"], timeout: 30)
        return (r.json?["pid"] as? Int).map(Int32.init)
    }

    /// Runs argv inside the session (uid 0 in the user namespace, the session's mounts).
    func exec(_ argv: [String], timeout: TimeInterval = 60, env: [String: String] = [:],
              input: String? = nil) -> CommandResult {
        var args = ["--user", user.name, "session", "exec"]
        for (k, v) in env.sorted(by: { $0.key < $1.key }) { args += ["--env", "\(k)=\(v)"] }
        return Cnitool.run(args + ["--"] + argv, timeout: timeout, input: input)
    }

    /// scripts/cnitool ARGS run inside the session.
    func cnitool(_ args: [String], timeout: TimeInterval = 120) -> CommandResult {
        Cnitool.run(["--rootless", "--user", user.name] + args, timeout: timeout)
    }

    /// A container netns made inside the session; returns its path.
    func makeNetns(_ prefix: String) throws -> String {
        let r = cnitool(["netns", "add", Scratch.uniqueName(prefix)])
        guard r.succeeded else { throw TestUser.Failure(description: "netns add: \(r)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func removeNetns(_ path: String) {
        _ = cnitool(["netns", "del", URL(fileURLWithPath: path).lastPathComponent])
    }

    /// `rootless-netns ARGS` (CLI mode) inside the session.
    func rootlessNetns(_ args: [String]) -> CommandResult { exec([Products.rootlessNetns] + args) }

    func stop() { _ = Cnitool.run(["--user", user.name, "session", "stop"], timeout: 60) }
}

/// A command left running while the test goes on (servers); always under `timeout`.
/// Servers signal readiness by creating `readyFile` (see `TCP.serverScript`).
final class Background: @unchecked Sendable {
    let process = Process()
    let readyFile: String

    init(_ argv: [String], readyFile: String = "", seconds: Int = 60) throws {
        self.readyFile = readyFile
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["--kill-after=2", "\(seconds)s"] + argv
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = Command.searchPath(env["PATH"])
        for k in env.keys where k.hasPrefix("CNI_") { env.removeValue(forKey: k) }
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Kills the whole chain (timeout → cnitool → nsenter → server) by its unique ready-file
    /// argument, so nothing outlives the test even when a signal would not be forwarded.
    func stop() {
        if !readyFile.isEmpty {
            _ = Command.run(["pkill", "-9", "-f", readyFile], timeout: 10)
            try? FileManager.default.removeItem(atPath: readyFile)
        }
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(10_000) }
    }

    deinit { stop() }
}

/// Loopback-only TCP helpers for the host side, run through python3 under a timeout.
enum TCP {
    /// A one-line-per-connection server on 127.0.0.1:port answering `reply`.
    static func server(port: Int, reply: String, seconds: Int = 60) throws -> Background {
        let ready = FileManager.default.temporaryDirectory.appendingPathComponent(Scratch.uniqueName("rcni-ready-")).path
        return try Background(["/usr/bin/python3", "-c", serverScript, "127.0.0.1", "\(port)", reply, ready],
                              readyFile: ready, seconds: seconds)
    }

    static let serverScript = """
        import socket, sys
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(16)
        open(sys.argv[4], "w").close()
        while True:
            c, _ = s.accept(); c.sendall(sys.argv[3].encode() + b"\\n"); c.close()
        """

    static let udpServerScript = """
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((sys.argv[1], int(sys.argv[2])))
        open(sys.argv[4], "w").close()
        while True:
            data, peer = s.recvfrom(2048); s.sendto(sys.argv[3].encode() + b"\\n", peer)
        """

    static let clientScript = """
        import socket, sys
        try:
            c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
            c.settimeout(float(sys.argv[3])); print(c.recv(200).decode().strip())
        except Exception as e:
            print("ERR", type(e).__name__, e); sys.exit(1)
        """

    static let udpClientScript = """
        import socket, sys
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.settimeout(float(sys.argv[3]))
        try:
            for _ in range(5):
                c.sendto(b"ping", (sys.argv[1], int(sys.argv[2])))
                try:
                    print(c.recv(200).decode().strip()); sys.exit(0)
                except socket.timeout:
                    continue
            print("ERR timeout"); sys.exit(1)
        except OSError as e:
            print("ERR", e); sys.exit(1)
        """

    /// What a client connecting from the host to 127.0.0.1:port reads ("ERR ..." on failure).
    static func fetchFromHost(port: Int, timeout: Double = 3) -> CommandResult {
        Command.run(["/usr/bin/python3", "-c", clientScript, "127.0.0.1", "\(port)", "\(timeout)"], timeout: timeout + 10)
    }

    /// Polls for the server's ready file (written after bind/listen).
    static func waitReady(_ bg: Background, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && bg.process.isRunning {
            if FileManager.default.fileExists(atPath: bg.readyFile) { return true }
            usleep(20_000)
        }
        return FileManager.default.fileExists(atPath: bg.readyFile)
    }

    /// A loopback port free for TCP and UDP right now, picked by the kernel (bind to port 0):
    /// suites running in parallel never draw the same one, as they could from a random range.
    static func freePort() -> Int {
        for _ in 0..<100 {
            guard let port = bindZero(SOCK_STREAM), bound(SOCK_DGRAM, port) else { continue }
            return port
        }
        return Int.random(in: 20000...29999)  // not reached on a sane host; the test then shows the bind error
    }

    /// `count` distinct free ports.
    static func freePorts(_ count: Int) -> [Int] {
        var ports: [Int] = []
        while ports.count < count {
            let p = freePort()
            if !ports.contains(p) { ports.append(p) }
        }
        return ports
    }

    /// Kept for callers written before `freePort()`.
    static func randomPort() -> Int { freePort() }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        return a
    }

    /// Binds a socket of `type` to 127.0.0.1:`port` and closes it; the port it got, or nil.
    private static func bindPort(_ type: __socket_type, _ port: Int) -> Int? {
        let fd = socket(AF_INET, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var a = loopback(port)
        let ok = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { return nil }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let got = withUnsafeMutablePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return got == 0 ? Int(UInt16(bigEndian: a.sin_port)) : nil
    }

    private static func bindZero(_ type: __socket_type) -> Int? { bindPort(type, 0) }
    private static func bound(_ type: __socket_type, _ port: Int) -> Bool { bindPort(type, port) == port }
}

/// The example conflist with test-specific changes applied.
enum Conflists {
    static func rootlessBridge(version: String = "1.0.0", mutate: (inout [String: Any]) -> Void = { _ in })
        throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Paths.confExample("rootless-bridge.conflist")))
        var conf = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        conf["cniVersion"] = version
        var plugins = conf["plugins"] as? [[String: Any]] ?? []
        if !plugins.isEmpty { mutate(&plugins[0]) }
        conf["plugins"] = plugins
        return conf
    }

    /// Writes `conf` into `dir` (readable by the test user).
    static func write(_ conf: [String: Any], to dir: String, name: String = "net.conflist") throws -> String {
        let path = dir + "/" + name
        try Scratch.write(try Scratch.jsonText(conf), to: path)
        return path
    }
}
