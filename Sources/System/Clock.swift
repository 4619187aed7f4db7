/// The clock every deadline uses: CLOCK_MONOTONIC, system-wide (so a deadline one process
/// records can be checked by another), never stepped by time changes.
public enum Clock {
    /// Milliseconds of `clock_gettime(2)` CLOCK_MONOTONIC.
    public static func monotonicMs() -> Int { Sys.nowMs() }

    /// `nanosleep(2)`, restarted on EINTR.
    public static func sleep(ms: Int) { Sys.sleepMs(ms) }
}
