import System

/// Something the event loop dispatches readiness to. Its token is `slot << 1 | side`, so a
/// member with two fds (a TCP pair) learns which one is ready without a lookup.
protocol LoopMember: AnyObject {
    func ready(_ events: Epoll.Events, side: Int, daemon: ForwarderDaemon)
}

/// The slots of the loop's members. A freed slot is reused only after the current batch of
/// events is dispatched: an event still in the batch must not reach the slot's next owner.
struct MemberTable {
    private(set) var members: [LoopMember?] = []
    private var free: [Int] = []
    private var freedThisBatch: [Int] = []

    mutating func insert(_ m: LoopMember) -> Int {
        if let i = free.popLast() { members[i] = m; return i }
        members.append(m)
        return members.count - 1
    }

    mutating func remove(_ slot: Int) {
        guard slot >= 0, slot < members.count, members[slot] != nil else { return }
        members[slot] = nil
        freedThisBatch.append(slot)
    }

    mutating func endBatch() {
        free.append(contentsOf: freedThisBatch)
        freedThisBatch.removeAll(keepingCapacity: true)
    }

    subscript(slot: Int) -> LoopMember? { slot < members.count ? members[slot] : nil }

    static func token(_ slot: Int, side: Int) -> UInt64 { UInt64(slot) << 1 | UInt64(side & 1) }
}

/// At most one line per second; what was dropped is counted in the next line, so a flood of
/// refused connections cannot grow the log without bound.
struct RateLimitedLog {
    private var last = -1_000_000
    private var dropped = 0

    mutating func write(_ text: String) {
        let now = Clock.monotonicMs()
        guard now - last >= 1000 else { dropped += 1; return }
        let note = dropped > 0 ? " (\(dropped) earlier messages dropped)" : ""
        last = now
        dropped = 0
        try? FDIO.writeAll(FDIO.standardError, "forwarder: " + text + note + "\n")
    }
}
