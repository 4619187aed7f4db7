import CNI
import System

/// How operations of one state dir exclude each other, so that chains of different containers
/// run concurrently (Kubernetes and compose start many at once) and nothing breaks:
///
/// - the **state lock** (flock on `lock`): namespace and helper lifecycle, forwards, records,
///   the teardown decision. Held briefly, before and after a chain, never during one (except
///   GC, reaping and rollback, which are rare). An ADD without forwards saves its record
///   without it, while its chain still holds the chains byte (so no teardown decision passes).
/// - **container byte** (OFD byte-range lock on the same file, exclusive, byte 1 + hash of the
///   record name): one operation per attachment at a time, taken first, held throughout.
/// - **chains byte** (byte 0, shared): held by every chain inside the namespace. Teardown needs
///   it exclusively, so it never runs while any chain is inside.
///
/// - **network setup byte** (byte 2^41 + hash of the network name, exclusive): taken after the
///   state lock is released by ADDs that found no attachment of their network yet, so a
///   network's first chains (which create its bridge and iptables chains) run one at a time.
///
/// Order: container byte, then state lock, then chains byte (taken under the state lock, where
/// it never waits: only teardown takes it exclusively, also under the state lock, without
/// waiting). Delegates inherit the byte-range locks, so an orphaned delegate of a killed plugin
/// keeps its chain "inside" until it exits (RunningDelegate bounds how long).
final class HeldLocks {
    var ranges: RangeLocks?
    var owner: ProcessIdentity?
}

extension Operation {
    static let chainsByte: Int64 = 0

    /// Byte of the attachment `key` (a collision only serialises two containers).
    static func byte(of key: AttachmentKey) -> Int64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key.fileName.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return 1 + Int64(h % (1 << 40))
    }

    /// Runs `body` holding this attachment's container byte (and, with it, the fd the chain locks live on).
    func withContainer<T>(_ body: () throws(RootlessError) -> T) throws(RootlessError) -> T {
        try context.state.prepareRoot()
        let ranges: RangeLocks
        do { ranges = try RangeLocks(in: context.state.requireHandle(), "lock") } catch { throw .from(error) }
        let root = context.state.root, name = key.fileName
        do {
            try ranges.lock(Self.byte(of: key), shared: false, timeoutMs: context.lockTimeoutMs) {
                RunningDelegate.enforceDeadline(path: StateDir(root: root).running + "/" + name)
            }
        } catch {
            if error.isTimeout { throw .lockTimeout(context.state.chainLocks) }
            throw .system(error)
        }
        PhaseTrace.mark("container-locked")
        held.ranges = ranges
        held.owner = Processes.current()
        defer { held.ranges = nil }
        return try body()
    }

    /// Runs `body` under the state lock.
    func locked<T>(_ body: () throws(RootlessError) -> T) throws(RootlessError) -> T {
        try context.state.prepareRoot()
        PhaseTrace.mark("state-wait")
        let lock = try context.state.lockExclusive(timeoutMs: context.lockTimeoutMs)
        PhaseTrace.mark("state-locked")
        // GC takes no container byte: it still needs the fd for the chains byte.
        let opened = held.ranges == nil
        if opened {
            do { held.ranges = try RangeLocks(in: context.state.requireHandle(), "lock") } catch { throw .from(error) }
            held.owner = Processes.current()
        }
        defer { if opened { held.ranges = nil } }
        try context.state.prepareLayout()
        let result = try body()
        lock.release()
        PhaseTrace.mark("state-unlocked")
        return result
    }

    /// Marks this operation's chain as inside the namespace (call under the state lock).
    func enterChains() throws(RootlessError) {
        guard let ranges = held.ranges else { return }
        do { try ranges.lock(Self.chainsByte, shared: true, timeoutMs: 10_000) } catch { throw .system(error) }
    }

    func leaveChains() { held.ranges?.unlock(Self.chainsByte) }

    /// The byte serialising a network's first chains (see addShared); above every container byte.
    var networkSetupByte: Int64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in chain.name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return (1 << 41) + Int64(h % (1 << 40))
    }

    /// Waits (without the state lock) for the network's setup byte.
    func lockNetworkSetup() throws(RootlessError) {
        guard let ranges = held.ranges else { return }
        do { try ranges.lock(networkSetupByte, shared: false, timeoutMs: context.lockTimeoutMs) } catch {
            if error.isTimeout { throw .lockTimeout(context.state.chainLocks) }
            throw .system(error)
        }
    }

    func unlockNetworkSetup() { held.ranges?.unlock(networkSetupByte) }

    /// Another attachment's byte, if nobody operates on it now (GC, reaping); nil: skip it.
    func tryContainer(_ other: AttachmentKey) -> Int64? {
        guard other != key, let ranges = held.ranges else { return nil }
        let byte = Self.byte(of: other)
        guard byte != Self.byte(of: key), (try? ranges.tryLock(byte, shared: false)) == true else { return nil }
        return byte
    }

    func releaseContainer(_ byte: Int64) { held.ranges?.unlock(byte) }

    /// Tears the shared namespace down when no attachment (of any network) is left and no chain
    /// is inside. Call under the state lock. `.busy`: chains are in flight (each checks again
    /// as it leaves; see `teardownWhenIdle`).
    enum TeardownOutcome { case notUnused, busy, done([RootlessError]) }

    @discardableResult
    func teardownIfUnused() -> TeardownOutcome {
        guard (try? attachments.isEmpty()) ?? false else { return .notUnused }
        guard let ranges = held.ranges, (try? ranges.tryLock(Self.chainsByte, shared: false)) == true else {
            RunningDelegate.enforceDeadlines(stateDir: context.state.root)
            return .busy
        }
        defer { ranges.unlock(Self.chainsByte) }
        return .done(netns.teardown())
    }

    /// A chain's end, under the state lock: leave the namespace, tear it down if unused. Pass
    /// the outcome to `finishTeardown(_:)` after the lock is released.
    func leaveChainsAndTearDownIfUnused() -> TeardownOutcome {
        leaveChains()
        return teardownIfUnused()
    }

    /// After the lock: a teardown that found chains still inside waits for them; else its errors.
    func finishTeardown(_ outcome: TeardownOutcome) -> [RootlessError] {
        outcome.isBusy ? teardownWhenIdle() : outcome.errors
    }

    /// After the last attachment left while other chains were still inside (typically an
    /// orphaned delegate of a killed plugin, or other containers' first ADDs): wait for them,
    /// without the state lock, then decide again. Returns early once an attachment exists.
    func teardownWhenIdle() -> [RootlessError] {
        guard let ranges = held.ranges else { return [] }
        let root = context.state.root
        let deadline = Clock.monotonicMs() + context.lockTimeoutMs
        var nextCheck = 0
        while Clock.monotonicMs() < deadline {
            if (try? ranges.tryLock(Self.chainsByte, shared: false)) == true {
                ranges.unlock(Self.chainsByte)
                let outcome = (try? locked { () throws(RootlessError) -> TeardownOutcome in teardownIfUnused() }) ?? .notUnused
                switch outcome {
                case .busy: continue
                case .notUnused: return []
                case .done(let errors): return errors
                }
            }
            if Clock.monotonicMs() >= nextCheck {
                if !((try? attachments.isEmpty()) ?? true) { return [] }
                RunningDelegate.enforceDeadlines(stateDir: root)
                nextCheck = Clock.monotonicMs() + 1000
            }
            Clock.sleep(ms: 10)
        }
        return []
    }
}

extension Operation.TeardownOutcome {
    var errors: [RootlessError] { if case .done(let e) = self { return e } else { return [] } }
    var isBusy: Bool { if case .busy = self { return true } else { return false } }
}
