import Glibc
import System
import Testing

@Suite struct SpawnTests {
    @Test func capturesOutputAndExitCode() throws {
        let r = try sh("echo out; echo err >&2; exit 3")
        #expect(r.status == .exited(3))
        #expect(text(r.stdout) == "out\n")
        #expect(text(r.stderr) == "err\n")
        #expect(!r.timedOut)
        #expect(r.setupError == nil)
    }

    @Test func bigOutputsAndInputNoDeadlock() throws {
        // 1 MiB on each of stdout and stderr while 1 MiB of stdin is still being written.
        let input = [UInt8](repeating: UInt8(ascii: "i"), count: 1 << 20)
        let r = try sh("head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2; wc -c", stdin: input)
        #expect(r.status == .exited(0))
        #expect(r.stdout.count == (1 << 20) + "1048576\n".count)
        #expect(text(Array(r.stdout.suffix(8))) == "1048576\n")
        #expect(r.stderr.count == 1 << 20)
    }

    @Test func stdinPassedAndEPIPEIgnored() throws {
        let r = try sh("cat", stdin: bytes("hello\n"))
        #expect(text(r.stdout) == "hello\n")
        // The child never reads its stdin and exits: the write gets EPIPE, not a SIGPIPE death.
        let big = [UInt8](repeating: 0, count: 4 << 20)
        let r2 = try sh("exec 0<&-; exit 0", stdin: big)
        #expect(r2.status == .exited(0))
    }

    @Test func signalStatus() throws {
        let r = try sh("kill -TERM $$")
        #expect(r.status == .signaled(SIGTERM))
    }

    @Test func timeoutKillsProcessGroup() throws {
        let start = Sys2.nowMs()
        // A grandchild holding stdout open must not keep us waiting either.
        let r = try sh("sleep 30 & sleep 30", timeoutMs: 200)
        let elapsed = Sys2.nowMs() - start
        #expect(r.timedOut)
        #expect(r.status == .signaled(SIGKILL))
        #expect(elapsed < 20_000)  // not the grandchild's 30 s
    }

    @Test func missingBinaryReportsExecve() throws {
        let r = try Spawn.run(SpawnRequest(path: "/nonexistent/bridge", argv: ["bridge"]))
        #expect(r.setupError == "execve /nonexistent/bridge: No such file or directory")
        #expect(r.setupFailure?.errno == ENOENT)
        #expect(r.status == .exited(127))
    }

    @Test func relativePathRejected() {
        #expect(throws: SystemError.self) { try Spawn.run(SpawnRequest(path: "sh")) }
    }

    @Test func environmentIsExactlyTheGivenOne() throws {
        let r = try Spawn.run(SpawnRequest(path: "/usr/bin/env", argv: ["env"], env: ["CNI_COMMAND=ADD", "B=two words"]))
        #expect(text(r.stdout) == "CNI_COMMAND=ADD\nB=two words\n")
        let empty = try Spawn.run(SpawnRequest(path: "/usr/bin/env", argv: ["env"]))
        #expect(empty.stdout.isEmpty)
    }

    @Test func argvPassedVerbatim() throws {
        let r = try Spawn.run(SpawnRequest(path: "/bin/sh", argv: ["custom0", "-c", "echo \"$0|$1\"", "a b", "c"]))
        #expect(text(r.stdout) == "a b|c\n")
        let script = "tr '\\0' '|' < /proc/$$/cmdline"
        let cmdline = try Spawn.run(SpawnRequest(path: "/bin/sh", argv: ["custom0", "-c", script], env: ["PATH=/usr/bin:/bin"]))
        #expect(text(cmdline.stdout) == "custom0|-c|\(script)|")
    }

    @Test func noFdsLeakIntoTheChild() throws {
        // An fd deliberately opened without O_CLOEXEC in this process must not reach the child.
        let leaky = open("/dev/null", O_RDONLY)
        #expect(leaky >= 3)
        defer { close(leaky) }
        let r = try sh("ls -1 /proc/$$/fd")
        #expect(text(r.stdout).split(separator: "\n") == ["0", "1", "2"])
    }

    @Test func signalsResetInChild() throws {
        // SIGPIPE ignored in the parent must be default again in the child.
        let old = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, old) }
        let r = try sh("awk '/SigIgn/{print $2}' /proc/$$/status")
        let mask = try #require(UInt64(text(r.stdout).filter { $0 != "\n" }, radix: 16))
        #expect(mask & (1 << (UInt64(SIGPIPE) - 1)) == 0)
        #expect(mask & (1 << (UInt64(SIGTERM) - 1)) == 0)
    }

    @Test func mountOpsRequireUnshare() {
        let enter = EnterSpec(mounts: [.tmpfs(target: "/mnt")])
        #expect(throws: SystemError.self) { try sh("true", enter: enter) }
    }
}
