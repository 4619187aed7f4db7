import Glibc
import System
import Testing
import TestSupport

@Suite struct DaemonTests {
    func start(_ script: String, log: String? = nil) throws -> Daemon {
        try Daemons.start(DaemonRequest(path: "/bin/sh", argv: ["sh", "-c", script], env: ["PATH=/usr/bin:/bin"],
                                        logPath: log, readyFD: true))
    }

    @Test func readyAfterDelay() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let d = try start("echo starting; sleep 0.2; printf 1 >&3; exec sleep 30", log: dir.sub("log"))
        defer {
            kill(d.pid, SIGKILL)
            _ = Daemons.waitExit(pid: d.pid, timeoutMs: 2000)
        }
        #expect(try Daemons.waitReady(d, timeoutMs: 5000, expect: bytes("1")) == .ready(bytes("1")))
        #expect(Processes.isAlive(d.pid))
        #expect(try FS.readText(dir.sub("log")) == "starting\n")
        // setsid: own session.
        #expect(getsid(d.pid) == d.pid)
    }

    @Test func exitsEarly() throws {
        let d = try start("echo boom >&2; exit 4")
        #expect(try Daemons.waitReady(d, timeoutMs: 5000) == .exited(.exited(4)))
        #expect(!Processes.isAlive(d.pid))  // reaped
    }

    @Test func neverReady() throws {
        let d = try start("exec sleep 30")
        defer {
            kill(d.pid, SIGKILL)
            _ = Daemons.waitExit(pid: d.pid, timeoutMs: 2000)
        }
        let start = Sys2.nowMs()
        #expect(try Daemons.waitReady(d, timeoutMs: 300) == .timedOut)
        #expect(Sys2.nowMs() - start < 2000)
    }

    @Test func unexpectedReadyBytes() throws {
        let d = try start("printf X >&3; exec sleep 30")
        defer {
            kill(d.pid, SIGKILL)
            _ = Daemons.waitExit(pid: d.pid, timeoutMs: 2000)
        }
        #expect(try Daemons.waitReady(d, timeoutMs: 5000, expect: bytes("1")) == .unexpected(bytes("X")))
    }

    @Test func closesReadyFdWithoutWriting() throws {
        let d = try start("exec 3>&-; exec sleep 30")
        defer {
            kill(d.pid, SIGKILL)
            _ = Daemons.waitExit(pid: d.pid, timeoutMs: 2000)
        }
        #expect(try Daemons.waitReady(d, timeoutMs: 3000) == .closedWithoutReady)
    }

    @Test func inheritsRequestedFds() throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let w = fds[1]
        let d = try Daemons.start(DaemonRequest(path: "/bin/sh", argv: ["sh", "-c", "echo via-$0 > /proc/self/fd/\(w)", "fd"], inheritFDs: [w]))
        close(w)
        #expect(Daemons.waitExit(pid: d.pid, timeoutMs: 5000) == .exited(0))
        var buf = [UInt8](repeating: 0, count: 64)
        let n = read(fds[0], &buf, 64)
        #expect(n > 0 && text(Array(buf[0..<max(0, n)])) == "via-fd\n")
    }

    @Test func startFailureIsThrown() {
        #expect(throws: SystemError(op: "execve", path: "/nonexistent/slirp4netns", errno: ENOENT)) {
            _ = try Daemons.start(DaemonRequest(path: "/nonexistent/slirp4netns"))
        }
        #expect(throws: SystemError.self) {
            _ = try Daemons.start(DaemonRequest(path: "/bin/true", readyFD: true, inheritFDs: [3]))
        }
    }
}

@Suite struct ProcessesTests {
    @Test func identityOfSelf() throws {
        let me = try #require(Processes.identity(of: getpid()))
        #expect(me.pid == getpid())
        #expect(me.startTime > 0)
        #expect(me.exe == (try FS.readlink("/proc/self/exe")))
        #expect(ProcessIdentity(encoded: me.encoded + "\n") == me)
        #expect(ProcessIdentity(encoded: "12 34 /usr/bin/with space") == ProcessIdentity(pid: 12, startTime: 34, exe: "/usr/bin/with space"))
        #expect(ProcessIdentity(encoded: "garbage") == nil)
        #expect(ProcessIdentity(encoded: "1 x /bin/sh") == nil)
        #expect(Processes.identity(of: 0) == nil)
    }

    @Test func commWithParensAndSpaces() throws {
        // Field parsing must start after the last ')': exec under a nasty argv[0]/comm.
        let dir = try TempDir()
        defer { dir.cleanup() }
        let prog = dir.sub("a) b (c")
        #expect(symlink("/bin/sleep", prog) == 0)
        let d = try Daemons.start(DaemonRequest(path: prog, argv: ["x", "30"]))
        defer {
            kill(d.pid, SIGKILL)
            _ = Daemons.waitExit(pid: d.pid, timeoutMs: 2000)
        }
        let id = try #require(Processes.identity(of: d.pid))
        #expect(id.exe == (try FS.readlink("/proc/\(d.pid)/exe")))
        #expect(id.startTime >= (Processes.identity(of: getpid())?.startTime ?? 0))
    }

    @Test func signalRefusesMismatchAndTerminateWorks() throws {
        let d = try Daemons.start(DaemonRequest(path: "/bin/sleep", argv: ["sleep", "30"]))
        defer {
            kill(d.pid, SIGKILL)
            _ = Daemons.waitExit(pid: d.pid, timeoutMs: 2000)
        }
        var id = try #require(Processes.identity(of: d.pid))
        #expect(id.exe.hasSuffix("sleep"))
        var wrong = id
        wrong.startTime += 1
        #expect(try Processes.signalIfMatches(d.pid, expected: wrong, signal: SIGKILL) == false)
        wrong = id
        wrong.exe = "/usr/bin/slirp4netns"
        #expect(try Processes.signalIfMatches(d.pid, expected: wrong, signal: SIGKILL) == false)
        #expect(Processes.isAlive(d.pid))
        #expect(try Processes.signalIfMatches(d.pid, expected: id, signal: 0) == true)

        let start = Sys2.nowMs()
        try Processes.terminate(d.pid, expected: id, graceMs: 30_000)
        // sleep dies on SIGTERM: no wait for the grace (a margin wide enough for any load).
        #expect(Sys2.nowMs() - start < 15_000)
        #expect(!Processes.isAlive(d.pid))
        #expect(Processes.identity(of: d.pid) == nil)
        id.pid = d.pid
        #expect(try Processes.signalIfMatches(d.pid, expected: id, signal: SIGTERM) == false)
    }

    @Test func terminateEscalatesToKill() throws {
        let d = try Daemons.start(DaemonRequest(path: "/bin/sh", argv: ["sh", "-c", "trap '' TERM; printf 1 >&3; while :; do sleep 0.05; done"], readyFD: true))
        defer {
            kill(-d.pid, SIGKILL)
            _ = Daemons.waitExit(pid: d.pid, timeoutMs: 2000)
        }
        #expect(try Daemons.waitReady(d, timeoutMs: 5000) == .ready(bytes("1")))
        let id = try #require(Processes.identity(of: d.pid))
        let start = Sys2.nowMs()
        try Processes.terminate(d.pid, expected: id, graceMs: 300)
        let elapsed = Sys2.nowMs() - start
        #expect(elapsed >= 250 && elapsed < 20_000)  // the grace, then KILL (not forever)
        #expect(!Processes.isAlive(d.pid))
    }
}
