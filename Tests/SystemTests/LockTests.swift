import Glibc
import System
import Testing
import TestSupport

@Suite struct LockTests {
    @Test func exclusiveWithinProcess() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.sub("lock")
        let first = try Lock.exclusive(path)
        let start = Sys2.nowMs()
        #expect(throws: SystemError(op: "lock", path: path, errno: ETIMEDOUT)) {
            _ = try Lock.exclusive(path, timeoutMs: 150)
        }
        #expect(Sys2.nowMs() - start >= 140)
        #expect(try FS.stat(path)?.mode == 0o600)
        first.release()
        let again = try Lock.exclusive(path, timeoutMs: 100)
        _ = consume again
    }

    // flock(1) from util-linux holds the lock in another process.
    @Test(.enabled(if: FS.isExecutable("/usr/bin/flock"), "needs /usr/bin/flock (util-linux)"))
    func exclusiveAcrossProcesses() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.sub("lock")
        let holder = try Daemons.start(DaemonRequest(path: "/usr/bin/flock", argv: ["flock", path, "sleep", "30"]))
        defer {
            kill(-holder.pid, SIGKILL)  // the group: flock's sleep child holds the lock fd too
            _ = Daemons.waitExit(pid: holder.pid, timeoutMs: 2000)
        }
        // Wait until it holds the lock.
        var held = false
        for _ in 0..<200 {
            do {
                let probe = try Lock.exclusive(path, timeoutMs: 0)
                probe.release()
                Sys2.sleepMs(10)
            } catch {
                held = true
                break
            }
        }
        #expect(held)
        #expect(throws: SystemError.self) { _ = try Lock.exclusive(path, timeoutMs: 100) }
        kill(-holder.pid, SIGKILL)  // the group: flock's sleep child holds the lock fd too
        _ = Daemons.waitExit(pid: holder.pid, timeoutMs: 2000)
        let lock = try Lock.exclusive(path, timeoutMs: 2000)
        lock.release()
    }
}

enum Sys2 {
    static func nowMs() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int(ts.tv_sec) * 1000 + Int(ts.tv_nsec) / 1_000_000
    }

    static func sleepMs(_ ms: Int) { usleep(UInt32(ms * 1000)) }
}
