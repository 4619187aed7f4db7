import CShim
import Glibc

/// A long-lived helper (slirp4netns, pasta) to start so that it outlives the plugin.
public struct DaemonRequest: Sendable {
    public var path: String
    public var argv: [String]
    /// The daemon's entire environment (`K=V`).
    public var env: [String]
    /// stdout and stderr are appended here (O_APPEND|O_CREAT, 0600); nil: /dev/null. stdin is /dev/null.
    public var logPath: String?
    /// Create a pipe whose write end is the daemon's fd 3 (put "3" in argv, e.g. `-r 3`).
    public var readyFD: Bool
    /// `setsid(2)`: own session and process group, so a terminal's signals do not reach it.
    public var newSession: Bool
    /// Extra fds kept open in the daemon under the same numbers (e.g. for slirp4netns `-e FD`).
    /// They must not be 0-2 (or 3 with `readyFD`).
    public var inheritFDs: [Int32]
    public var enter: EnterSpec?

    public init(path: String, argv: [String]? = nil, env: [String] = [], logPath: String? = nil,
                readyFD: Bool = false, newSession: Bool = true, inheritFDs: [Int32] = [], enter: EnterSpec? = nil) {
        self.path = path
        self.argv = argv ?? [path]
        self.env = env
        self.logPath = logPath
        self.readyFD = readyFD
        self.newSession = newSession
        self.inheritFDs = inheritFDs
        self.enter = enter
    }
}

/// A started daemon: its pid and the read end of its ready pipe.
public struct Daemon: ~Copyable {
    public let pid: pid_t
    public let readyFD: OwnedFD?
}

public enum ReadyOutcome: Equatable, Sendable {
    /// The daemon wrote to its ready fd (the bytes read).
    case ready([UInt8])
    /// It wrote something other than the expected bytes.
    case unexpected([UInt8])
    /// It exited (and was reaped) before becoming ready.
    case exited(ExitStatus)
    /// It closed its ready fd without writing but is still running.
    case closedWithoutReady
    case timedOut
}

public enum Daemons {
    /// Forks and execs the daemon (`cshim_spawn`: stdin /dev/null, stdout+stderr to the log, the
    /// ready pipe as fd 3, `setsid(2)`, the EnterSpec), then waits for the execve to succeed (the
    /// O_CLOEXEC error pipe reaches EOF). Setup failures (e.g. `execve /usr/bin/slirp4netns: No such
    /// file or directory`) are thrown after reaping the child. The daemon stays our child until we
    /// exit (then init or a subreaper adopts it); `waitReady`/`waitExit` reap it if it dies meanwhile.
    public static func start(_ req: DaemonRequest) throws(SystemError) -> Daemon {
        let reserved: Set<Int32> = req.readyFD ? [0, 1, 2, 3] : [0, 1, 2]
        if let bad = req.inheritFDs.first(where: { reserved.contains($0) || $0 < 0 }) {
            throw SystemError(op: "start daemon: cannot inherit fd \(bad) for", path: req.path, errno: EINVAL)
        }
        let devNull = try Sys.open("/dev/null", O_RDWR)
        let log: OwnedFD? = try req.logPath.map { (p: String) throws(SystemError) -> OwnedFD in
            try Sys.open(p, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, mode: 0o600, op: "open log")
        }
        let logRaw = log.raw ?? devNull.raw
        var fds: [(from: Int32, to: Int32)] = [(devNull.raw, 0), (logRaw, 1), (logRaw, 2)]
        var readyRead: OwnedFD? = nil
        var readyWrite: OwnedFD? = nil
        if req.readyFD {
            let (r, w) = try Sys.pipe()
            readyRead = OwnedFD(adopting: r)
            readyWrite = OwnedFD(adopting: w)
            fds.append((w, 3))
        }

        fds += req.inheritFDs.map { ($0, $0) }

        let plan = ChildPlan(path: req.path, argv: req.argv, env: req.env, fds: fds,
                             session: req.newSession ? .newSession : .none, enter: req.enter)
        let child = try ChildLauncher.launch(plan)
        _ = consume readyWrite  // the daemon holds the only write end: EOF = it closed or died
        _ = consume log
        _ = consume devNull
        var record: [UInt8] = []
        while true {
            guard let chunk = try? Sys.readSome(child.errorPipe.raw, max: 64, op: "read", path: nil), !chunk.isEmpty else { break }
            record += chunk
        }
        if let failure = ChildLauncher.decode(record, plan: plan) {
            _ = try? ChildLauncher.wait(child.pid)
            throw failure
        }
        return Daemon(pid: child.pid, readyFD: readyRead)
    }

    /// Polls the ready fd until the daemon writes ≥ 1 byte (slirp4netns writes "1"), closes it,
    /// exits (checked with `waitpid(2)` WNOHANG, which also reaps it) or `timeoutMs` passes.
    /// With `expect`, the bytes must start with it (read until that many arrived).
    public static func waitReady(_ d: borrowing Daemon, timeoutMs: Int, expect: [UInt8]? = nil) throws(SystemError) -> ReadyOutcome {
        guard let fd = d.readyFD.raw else {
            throw SystemError(op: "wait for daemon ready: no ready fd for pid", path: String(d.pid), errno: EINVAL)
        }
        let deadline = Sys.nowMs() + max(0, timeoutMs)
        var got: [UInt8] = []
        while true {
            // Data first: a daemon may write its ready byte and exit soon after.
            let rev = try Sys.pollOne(fd, events: Int16(POLLIN), timeoutMs: min(max(0, deadline - Sys.nowMs()), 50))
            if rev == 0 {
                if let status = try? ChildLauncher.wait(d.pid, nohang: true) { return .exited(status) }
                if Sys.nowMs() >= deadline { return .timedOut }
                continue
            }
            let chunk = try Sys.readSome(fd, max: 256, op: "read ready fd of pid", path: String(d.pid))
            if chunk.isEmpty {
                // EOF: the daemon closed fd 3 or is exiting; give the exit a moment to show.
                if let status = waitExit(pid: d.pid, timeoutMs: min(max(0, deadline - Sys.nowMs()), 1000)) {
                    return .exited(status)
                }
                return .closedWithoutReady
            }
            got += chunk
            guard let expect else { return .ready(got) }
            if !got.starts(with: expect.prefix(got.count)) { return .unexpected(got) }
            if got.count >= expect.count { return .ready(got) }
        }
    }

    /// Waits up to `timeoutMs` for our child `pid` to exit and reaps it (`waitpid(2)`; the wait
    /// sleeps on a pidfd when the kernel has them). nil if it is still running or not our child.
    public static func waitExit(pid: pid_t, timeoutMs: Int) -> ExitStatus? {
        let deadline = Sys.nowMs() + max(0, timeoutMs)
        let pidfd = cshim_pidfd_open(pid)
        let owned: OwnedFD? = pidfd >= 0 ? OwnedFD(adopting: pidfd) : nil
        while true {
            if let status = try? ChildLauncher.wait(pid, nohang: true) { return status }
            let left = deadline - Sys.nowMs()
            if left <= 0 { return nil }
            if let raw = owned.raw {
                _ = try? Sys.pollOne(raw, events: Int16(POLLIN), timeoutMs: left)
            } else {
                Sys.sleepMs(min(left, 5))
            }
        }
    }
}
