import Foundation
import Glibc
import System
import Testing
import TestSupport

/// Timed lock waits block in the kernel (woken when the holder lets go) with a per-call timer
/// that signals the waiting thread only: waits in parallel threads must each end on their own
/// timeout, and not hang when another wait's timer is set or deleted.
@Suite struct LockWaitTests {
    final class Results: @unchecked Sendable {
        private var values: [Int: String] = [:]
        private let lock = NSLock()
        private let done = DispatchSemaphore(value: 0)
        private var started = 0

        /// Runs `body` on a thread of its own.
        func start(_ body: @escaping @Sendable () -> String) {
            let i = started
            started += 1
            Thread {
                let r = body()
                self.lock.lock(); self.values[i] = r; self.lock.unlock()
                self.done.signal()
            }.start()
        }

        /// Every result in start order; nil when one did not finish within `limitMs` (a lost
        /// timeout leaves its thread blocked until the lock is free).
        func join(limitMs: Int = 20_000) -> [String]? {
            for _ in 0..<started where done.wait(timeout: .now() + .milliseconds(limitMs)) == .timedOut { return nil }
            lock.lock(); defer { lock.unlock() }
            return (0..<started).map { values[$0] ?? "missing" }
        }
    }

    static func outcome(_ body: () throws(SystemError) -> Void) -> String {
        do { try body(); return "locked" } catch { return error.errno == ETIMEDOUT ? "timeout" : "\(error)" }
    }

    static func flockWait(_ path: String, _ ms: Int) -> String {
        outcome { () throws(SystemError) in _ = try Lock.exclusive(path, timeoutMs: ms) }
    }

    static func byteWait(_ path: String, _ byte: Int64, _ ms: Int, shared: Bool = false) -> String {
        outcome { () throws(SystemError) in try RangeLocks(path: path).lock(byte, shared: shared, timeoutMs: ms) }
    }

    @Test func parallelTimedWaitsEachTimeOut() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.sub("lock")
        let held = try Lock.exclusive(path)
        let holder = try RangeLocks(path: path)
        #expect(try holder.tryLock(7, shared: false))
        let r = Results()
        for ms in [150, 400, 250] {
            r.start { Self.flockWait(path, ms) }
            r.start { Self.byteWait(path, 7, ms, shared: ms == 400) }
        }
        let results = try #require(r.join())
        #expect(results == Array(repeating: "timeout", count: 6))
        held.release()
        holder.unlock(7)
    }

    @Test func blockedWaitersGetTheLocksWhenReleased() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.sub("lock")
        let held = try Lock.exclusive(path)
        let holder = try RangeLocks(path: path)
        #expect(try holder.tryLock(3, shared: false))
        let r = Results()
        r.start { Self.flockWait(path, 60_000) }
        r.start { Self.byteWait(path, 3, 60_000) }
        // Both still wait while the locks are held (they would have failed or returned otherwise).
        #expect(r.join(limitMs: 300) == nil)
        held.release()
        holder.unlock(3)
        #expect(r.join() == ["locked", "locked"])
    }

    @Test func whileWaitingRunsDuringABlockedWait() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.sub("lock")
        let holder = try RangeLocks(path: path)
        #expect(try holder.tryLock(9, shared: false))
        var calls = 0
        let waiter = try RangeLocks(path: path)
        #expect(throws: SystemError.self) { try waiter.lock(9, shared: false, timeoutMs: 2500) { calls += 1 } }
        #expect(calls >= 1)
        holder.unlock(9)
        try waiter.lock(9, shared: false, timeoutMs: 1000)
    }
}
