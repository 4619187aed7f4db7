import Foundation

/// What an external command did.
struct CommandResult: Sendable, CustomStringConvertible {
    /// Exit status (128+N when killed by signal N, as a shell reports it).
    let status: Int32
    let stdout: String
    let stderr: String
    /// True when the command was killed for running past its timeout.
    let timedOut: Bool
    let argv: [String]

    var succeeded: Bool { status == 0 && !timedOut }

    /// stdout parsed as a JSON object (nil if it is not one).
    var json: [String: Any]? { Command.jsonObject(stdout) }

    /// Multi-line summary for `#expect(r.succeeded, "\(r)")` messages.
    var description: String {
        "`\(argv.joined(separator: " "))` -> status \(status)\(timedOut ? " (TIMED OUT)" : "")\n"
            + "stdout: \(stdout)\nstderr: \(stderr)"
    }
}

/// Runs external commands with a timeout. Every external command in the
/// integration tests goes through here.
enum Command {
    /// Run `argv` (argv[0] looked up in PATH, /usr/sbin and /sbin included)
    /// and wait for it, at most `timeout` seconds.
    ///
    /// The command runs under coreutils `timeout --kill-after=5`, which puts it
    /// in its own process group and signals the whole group (TERM, then KILL)
    /// when time is up, so children die with it (detached ones started with
    /// setsid, like the rootless pause process, are not touched). stdout and
    /// stderr go to temp files, not pipes: a daemon that inherits them cannot
    /// make us hang.
    ///
    /// - Parameters:
    ///   - environment: variables set on top of this process's environment
    ///     (a value of "" still sets the variable; use `unset` to remove).
    ///   - unset: variables removed from the child's environment.
    ///   - input: bytes for stdin (default: /dev/null).
    ///   - cwd: working directory (default: ours).
    static func run(_ argv: [String], timeout: TimeInterval = 60,
                    environment: [String: String] = [:], unset: [String] = [],
                    input: String? = nil, cwd: String? = nil) -> CommandResult {
        precondition(!argv.isEmpty, "empty argv")
        let fm = FileManager.default
        let tmp = fm.temporaryDirectory.appendingPathComponent("rcni-cmd-\(UUID().uuidString)")
        try? fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: tmp) }
        let outURL = tmp.appendingPathComponent("stdout")
        let errURL = tmp.appendingPathComponent("stderr")
        let inURL = tmp.appendingPathComponent("stdin")
        _ = fm.createFile(atPath: outURL.path, contents: nil)
        _ = fm.createFile(atPath: errURL.path, contents: nil)
        _ = fm.createFile(atPath: inURL.path, contents: Data((input ?? "").utf8))

        let fail = { (msg: String) in
            CommandResult(status: 127, stdout: "", stderr: msg, timedOut: false, argv: argv)
        }
        guard let out = FileHandle(forWritingAtPath: outURL.path),
              let err = FileHandle(forWritingAtPath: errURL.path),
              let inp = FileHandle(forReadingAtPath: inURL.path) else {
            return fail("cannot create temp files in \(tmp.path)")
        }
        defer { try? out.close(); try? err.close(); try? inp.close() }

        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        for k in unset { env.removeValue(forKey: k) }
        env["PATH"] = searchPath(env["PATH"])

        let seconds = max(1, Int(timeout.rounded(.up)))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: timeoutBinary)
        p.arguments = ["--kill-after=5", "\(seconds)s"] + argv
        p.environment = env
        p.standardInput = input == nil ? FileHandle.nullDevice : inp
        p.standardOutput = out
        p.standardError = err
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let started = Date()
        do { try p.run() } catch { return fail("cannot start \(timeoutBinary): \(error)") }

        // Backstop in case `timeout` itself hangs: poll, then terminate it.
        let hardDeadline = started.addingTimeInterval(TimeInterval(seconds) + 20)
        while p.isRunning && Date() < hardDeadline { usleep(10_000) }
        var killedByUs = false
        if p.isRunning {
            p.terminate()
            killedByUs = true
            while p.isRunning { usleep(10_000) }
        }
        let elapsed = Date().timeIntervalSince(started)
        var status = p.terminationStatus
        if p.terminationReason == .uncaughtSignal { status += 128 }
        // timeout(1): 124 = timed out (TERM worked), 137 = needed KILL.
        let timedOut = killedByUs || ((status == 124 || status == 137) && elapsed >= Double(seconds) - 0.5)
        let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        return CommandResult(status: status, stdout: stdout, stderr: stderr, timedOut: timedOut, argv: argv)
    }

    /// PATH with /usr/local/sbin, /usr/sbin and /sbin added (Debian's user
    /// PATH lacks them; `ip`, `useradd` live there).
    static func searchPath(_ path: String?) -> String {
        var parts = (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        for d in ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"] where !parts.contains(d) {
            parts.append(d)
        }
        return parts.joined(separator: ":")
    }

    /// Absolute path of an executable in `searchPath`, or nil.
    static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for dir in searchPath(ProcessInfo.processInfo.environment["PATH"]).split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Parse a JSON object out of text (nil if it is not one).
    static func jsonObject(_ text: String) -> [String: Any]? {
        guard let data = text.data(using: .utf8),
              let obj = try? JSONSerialization.jsonObject(with: data) else { return nil }
        return obj as? [String: Any]
    }

    /// Parse any JSON value out of text.
    static func jsonValue(_ text: String) -> Any? {
        guard let data = text.data(using: .utf8) else { return nil }
        return try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    }

    private static let timeoutBinary: String = which("timeout") ?? "/usr/bin/timeout"
}
