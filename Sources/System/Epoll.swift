import CShim

/// An epoll(7) instance (level-triggered): fds are registered with a 64-bit token that comes
/// back with their readiness, so the caller finds its object without a lookup table of fds.
public struct Epoll: ~Copyable {
    /// The readiness bits, as epoll_ctl(2) names them.
    public struct Events: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let readable = Events(rawValue: CSHIM_EPOLLIN)
        public static let writable = Events(rawValue: CSHIM_EPOLLOUT)
        public static let error = Events(rawValue: CSHIM_EPOLLERR)
        public static let hangup = Events(rawValue: CSHIM_EPOLLHUP)
        public static let readHangup = Events(rawValue: CSHIM_EPOLLRDHUP)
    }

    let fd: OwnedFD

    /// `epoll_create1(EPOLL_CLOEXEC)`.
    public init() throws(SystemError) {
        let raw = cshim_epoll_create()
        if raw < 0 { throw SystemError(op: "epoll_create1", errno: -raw) }
        fd = OwnedFD(adopting: raw)
    }

    public func add(_ target: borrowing OwnedFD, _ events: Events, token: UInt64) throws(SystemError) {
        try control(CSHIM_EPOLL_ADD, target.raw, events, token, "epoll_ctl ADD")
    }

    public func modify(_ target: borrowing OwnedFD, _ events: Events, token: UInt64) throws(SystemError) {
        try control(CSHIM_EPOLL_MODIFY, target.raw, events, token, "epoll_ctl MOD")
    }

    /// Deregisters (closing an fd also does, once no duplicate of it is left).
    public func remove(_ target: borrowing OwnedFD) {
        _ = cshim_epoll_ctl(fd.raw, Int32(CSHIM_EPOLL_DELETE.rawValue), target.raw, 0, 0)
    }

    private func control(_ op: cshim_epoll_op, _ target: Int32, _ events: Events, _ token: UInt64, _ name: String) throws(SystemError) {
        let r = cshim_epoll_ctl(fd.raw, Int32(op.rawValue), target, events.rawValue, token)
        if r < 0 { throw SystemError(op: name, path: "fd \(target)", errno: -r) }
    }

    /// Waits up to `timeoutMs` (-1: forever) and fills `batch`; returns how many are ready
    /// (0 on timeout or EINTR).
    public func wait(into batch: inout EpollBatch, timeoutMs: Int) throws(SystemError) -> Int {
        let n = cshim_epoll_wait(fd.raw, batch.events.baseAddress, Int32(batch.events.count), Int32(clamping: timeoutMs))
        if n < 0 { throw SystemError(op: "epoll_wait", errno: -n) }
        return Int(n)
    }
}

/// The readiness buffer of `Epoll.wait`, allocated once (no allocation per wait).
public struct EpollBatch: ~Copyable {
    let events: UnsafeMutableBufferPointer<cshim_epoll_ready>

    public init(capacity: Int) {
        events = .allocate(capacity: min(512, max(1, capacity)))
        events.initialize(repeating: cshim_epoll_ready())
    }

    public func token(_ i: Int) -> UInt64 { events[i].token }
    public func events(_ i: Int) -> Epoll.Events { Epoll.Events(rawValue: events[i].events) }

    deinit { events.deallocate() }
}
