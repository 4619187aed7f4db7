import CShim
import Glibc

/// A program to run to completion (a CNI delegate invocation).
public struct SpawnRequest: Sendable {
    /// Absolute path of the program (no PATH search).
    public var path: String
    /// Full argv, argv[0] included.
    public var argv: [String]
    /// The child's entire environment, `K=V` entries; nothing is inherited.
    public var env: [String]
    public var stdin: [UInt8]
    /// nil: run in the caller's namespaces.
    public var enter: EnterSpec?
    /// On expiry the child's process group is sent SIGKILL and the result says `timedOut`.
    public var timeoutMs: Int?
    /// Open fds the child keeps, as fds 3, 4, ... (e.g. a held lock: an flock lives as long as
    /// any fd of its open file description, so a child that outlives us keeps it held).
    public var inheritedFDs: [Int32] = []
    /// Called with the child's pid once it runs (before its output is read).
    public var onStart: (@Sendable (pid_t) -> Void)?
    /// Join these namespaces (set up once) instead of applying an `enter` spec.
    public var join: NamespaceHolder?

    public init(path: String, argv: [String]? = nil, env: [String] = [], stdin: [UInt8] = [],
                enter: EnterSpec? = nil, timeoutMs: Int? = nil, join: NamespaceHolder? = nil) {
        self.path = path
        self.argv = argv ?? [path]
        self.env = env
        self.stdin = stdin
        self.enter = enter
        self.timeoutMs = timeoutMs
        self.join = join
    }
}

public struct SpawnResult: Sendable {
    public var status: ExitStatus
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    public var timedOut: Bool
    /// The child's enter/exec failure, e.g. `execve /usr/lib/cni/bridge: No such file or directory`
    /// (the child then exits 127).
    public var setupFailure: SystemError?
    public var setupError: String? { setupFailure?.description }
}

public enum Spawn {
    /// After the child exits, how long to keep reading output that its leftover descendants may
    /// still hold open, before giving up on EOF.
    static let drainAfterExitMs = 250

    /// Runs `req` to completion: `fork(2)` in C (own process group; the EnterSpec is applied in
    /// the child), then the parent writes stdin and reads stdout/stderr concurrently with `poll(2)`
    /// (no deadlock on large outputs; EPIPE on stdin is ignored), honours the timeout and reaps
    /// the child with `waitpid(2)`. Throws only if the child could not be started at all.
    public static func run(_ req: SpawnRequest) throws(SystemError) -> SpawnResult {
        let (inR, inW) = try Sys.pipe()
        let stdinRead = OwnedFD(adopting: inR)
        var stdinWrite: OwnedFD? = OwnedFD(adopting: inW)
        let (outR, outW) = try Sys.pipe()
        let stdoutRead = OwnedFD(adopting: outR)
        let stdoutWrite = OwnedFD(adopting: outW)
        let (errR, errW) = try Sys.pipe()
        let stderrRead = OwnedFD(adopting: errR)
        let stderrWrite = OwnedFD(adopting: errW)

        let plan = ChildPlan(path: req.path, argv: req.argv, env: req.env,
                             fds: [(inR, 0), (outW, 1), (errW, 2)]
                                 + req.inheritedFDs.enumerated().map { ($0.element, Int32(3 + $0.offset)) },
                             session: .processGroup, enter: req.enter,
                             join: req.join)
        let child = try ChildLauncher.launch(plan)
        _ = consume stdinRead
        _ = consume stdoutWrite
        _ = consume stderrWrite
        let pid = child.pid
        req.onStart?(pid)

        var io = PipeSet()
        io.add(stdoutRead.raw, .stdout)
        io.add(stderrRead.raw, .stderr)
        io.add(child.errorPipe.raw, .setup)
        let pidfd = cshim_pidfd_open(pid)
        let pidfdOwned: OwnedFD? = pidfd >= 0 ? OwnedFD(adopting: pidfd) : nil
        if pidfd >= 0 { io.add(pidfd, .exit) }
        if req.stdin.isEmpty {
            stdinWrite = nil
        } else if let w = stdinWrite.raw {
            try? Sys.setNonBlocking(w)
            io.add(w, .stdin)
        }
        for fd in [stdoutRead.raw, stderrRead.raw, child.errorPipe.raw] { try? Sys.setNonBlocking(fd) }

        let deadline = req.timeoutMs.map { Sys.nowMs() + max(0, $0) }
        var timedOut = false
        do throws(SystemError) {
            try io.run(stdin: req.stdin, deadline: deadline, drainAfterExitMs: drainAfterExitMs,
                       closeStdin: { stdinWrite = nil }, timedOut: &timedOut)
        } catch {
            killGroup(pid)
            _ = try? ChildLauncher.wait(pid)
            throw error
        }
        stdinWrite = nil
        if timedOut || io.exitSeen && !io.allClosed { killGroup(pid) }
        let status = try ChildLauncher.wait(pid) ?? .signaled(SIGKILL)
        io.drainNow()
        _ = consume pidfdOwned
        return SpawnResult(status: status, stdout: io.stdout, stderr: io.stderr, timedOut: timedOut,
                           setupFailure: ChildLauncher.decode(io.setup, plan: plan))
    }

    /// SIGKILL the child's process group (it called setpgid(0,0)) and the child itself.
    static func killGroup(_ pid: pid_t) {
        _ = kill(-pid, SIGKILL)
        _ = kill(pid, SIGKILL)
    }
}

/// The parent's side of a spawned child's pipes, multiplexed with `poll(2)`.
struct PipeSet {
    enum Role { case stdin, stdout, stderr, setup, exit }
    private var fds: [pollfd] = []
    private var roles: [Role] = []
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    var setup: [UInt8] = []
    private(set) var exitSeen = false
    private var written = 0

    mutating func add(_ fd: Int32, _ role: Role) {
        fds.append(pollfd(fd: fd, events: Int16(role == .stdin ? POLLOUT : POLLIN), revents: 0))
        roles.append(role)
    }

    /// True once every output pipe reached EOF.
    var allClosed: Bool { !zip(fds, roles).contains { $0.0.fd >= 0 && $0.1 != .exit && $0.1 != .stdin } }

    mutating func run(stdin: [UInt8], deadline: Int?, drainAfterExitMs: Int,
                      closeStdin: () -> Void, timedOut: inout Bool) throws(SystemError) {
        var exitDeadline: Int?
        while !allClosed {
            let now = Sys.nowMs()
            let limit = [deadline, exitDeadline].compactMap { $0 }.min()
            if let limit, now >= limit {
                if let deadline, now >= deadline { timedOut = true }
                return
            }
            let wait = limit.map { Int32(clamping: $0 - now) } ?? -1
            let r = poll(&fds, nfds_t(fds.count), wait)
            if r < 0 {
                if Glibc.errno == EINTR { continue }
                throw SystemError.last("poll")
            }
            for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
                switch roles[i] {
                case .stdin:
                    if writeStdin(i, stdin) { fds[i].fd = -1; closeStdin() }
                case .exit:
                    exitSeen = true
                    fds[i].fd = -1
                    exitDeadline = Sys.nowMs() + drainAfterExitMs
                case .stdout, .stderr, .setup:
                    readAvailable(i)
                }
            }
        }
    }

    /// Returns true when stdin is finished (all written, or the child closed its end).
    private mutating func writeStdin(_ i: Int, _ bytes: [UInt8]) -> Bool {
        if fds[i].revents & Int16(POLLERR | POLLHUP) != 0 && fds[i].revents & Int16(POLLOUT) == 0 { return true }
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { cshim_write_nosigpipe(fds[i].fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                return Glibc.errno != EAGAIN  // EPIPE and friends: the child does not want more
            }
            written += n
        }
        return true
    }

    private mutating func readAvailable(_ i: Int) {
        while true {
            var buf = [UInt8](repeating: 0, count: 65536)
            let n = buf.withUnsafeMutableBytes { Glibc.read(fds[i].fd, $0.baseAddress, $0.count) }
            if n > 0 {
                switch roles[i] {
                case .stdout: stdout += buf[0..<n]
                case .stderr: stderr += buf[0..<n]
                default: setup += buf[0..<n]
                }
                continue
            }
            if n < 0 && Glibc.errno == EINTR { continue }
            if n < 0 && Glibc.errno == EAGAIN { return }
            fds[i].fd = -1  // EOF or error: done with this pipe (the owner closes it)
            return
        }
    }

    /// Reads whatever is already buffered in the remaining output pipes (after a kill).
    mutating func drainNow() {
        for i in fds.indices where fds[i].fd >= 0 && roles[i] != .stdin && roles[i] != .exit {
            readAvailable(i)
        }
    }
}
