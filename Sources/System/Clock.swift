import Glibc

/// The clock every deadline and rate uses: CLOCK_MONOTONIC, system-wide (so a deadline one
/// process records can be checked by another), never stepped by time changes.
public enum Clock {
    /// Milliseconds of `clock_gettime(2)` CLOCK_MONOTONIC.
    public static func monotonicMs() -> Int { Sys.nowMs() }

    /// Nanoseconds of the same clock (rate views).
    public static func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// `nanosleep(2)`, restarted on EINTR.
    public static func sleep(ms: Int) { Sys.sleepMs(ms) }

    /// Sleeps until `deadline` (a `monotonicNs()` value); returns at once if it has passed.
    public static func sleep(untilNs deadline: UInt64) {
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
    }
}

/// `poll(2)` on one fd, for callers outside this module (the forwarder's event loop).
public enum Poll {
    public struct Events: OptionSet, Sendable {
        public let rawValue: Int16
        public init(rawValue: Int16) { self.rawValue = rawValue }
        public static let readable = Events(rawValue: Int16(POLLIN))
        public static let writable = Events(rawValue: Int16(POLLOUT))
        public static let error = Events(rawValue: Int16(POLLERR))
        public static let hangup = Events(rawValue: Int16(POLLHUP))
    }

    /// Waits up to `timeoutMs` (negative: forever) for `events` on `fd` (EINTR restarted with the
    /// time left); returns what happened, empty on timeout.
    public static func wait(_ fd: Int32, for events: Events, timeoutMs: Int) throws(SystemError) -> Events {
        Events(rawValue: try Sys.pollOne(fd, events: events.rawValue, timeoutMs: timeoutMs))
    }
}
