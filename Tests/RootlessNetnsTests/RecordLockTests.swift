import CNI
import Foundation
import JSON
import System
import Testing
@testable import RootlessNetns

/// Which ADDs need the state lock after their chain (issue 13, figure 9): one without port
/// mappings records itself while its chain still holds the chains byte (no teardown can pass),
/// so another process holding the state lock then does not delay it.
@Suite struct RecordLockTests {
    /// The state lock, taken by one thread and released by another.
    final class StateLockHolder: @unchecked Sendable {
        private var lock: Lock?
        private let guardLock = NSLock()
        private(set) var releasedByTimeout = false

        func take(_ path: String) throws {
            let l = try Lock.exclusive(path, timeoutMs: 10_000)
            guardLock.lock(); lock = consume l; guardLock.unlock()
        }

        func release(byTimeout: Bool) {
            guardLock.lock(); defer { guardLock.unlock() }
            if lock != nil && byTimeout { releasedByTimeout = true }
            lock = nil
        }
    }

    /// Regression (fails on 9766195, which took the state lock again to save every record: the
    /// ADD then waited until the safety release below).
    @Test func addWithoutMappingsRecordsWhileTheStateLockIsHeldElsewhere() throws {
        let w = try FakeWorld()
        defer { w.cleanup() }
        let conf = try w.config(delegates: delegateList("f1", "f2"))
        try w.add("c0", conf)
        let holder = StateLockHolder()
        let lockPath = w.stateDir + "/lock"
        var taken: (any Error)?
        w.delegates.onExecute = { plugin, command in
            guard plugin == "f2", command == "ADD" else { return }
            do { try holder.take(lockPath) } catch { taken = error }
            // A safety net for the old code (which would wait for the lock): never a hang.
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: 30)
                holder.release(byTimeout: true)
            }
        }
        try w.add("c1", conf)
        holder.release(byTimeout: false)
        #expect(taken == nil)
        #expect(!holder.releasedByTimeout)
        #expect(try w.records() == ["net1/c0", "net1/c1"])
        #expect(w.netns.teardowns == 0)
    }
}
