import Glibc

/// Whole-buffer reads and writes on a raw fd (EINTR retried), for the CLIs' stdin/stdout/stderr.
public enum FDIO {
    public static let standardInput: Int32 = STDIN_FILENO
    public static let standardOutput: Int32 = STDOUT_FILENO
    public static let standardError: Int32 = STDERR_FILENO

    /// write(2) until every byte is out.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return write(fd, base + offset, raw.count - offset)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError.last("write", "fd \(fd)")
            }
            offset += n
        }
    }

    /// The same for a string's UTF-8 (no copy into an array first).
    public static func writeAll(_ fd: Int32, _ text: String) throws(SystemError) {
        var text = text
        var failure: SystemError?
        text.withUTF8 { utf8 in
            var offset = 0
            while offset < utf8.count, let base = utf8.baseAddress {
                let n = write(fd, base + offset, utf8.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = SystemError.last("write", "fd \(fd)")
                    return
                }
                offset += n
            }
        }
        if let failure { throw failure }
    }

    /// read(2) to end of file; more than `limit` bytes is an EFBIG error.
    public static func readAll(_ fd: Int32, limit: Int) throws(SystemError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError.last("read", "fd \(fd)")
            }
            if n == 0 { return out }
            out += chunk[..<n]
            if out.count > limit { throw SystemError(op: "read (more than \(limit) bytes)", path: "fd \(fd)", errno: EFBIG) }
        }
    }
}

/// CLOCK_MONOTONIC, for rate views and intervals (never the wall clock, which can jump).
public enum MonotonicClock {
    public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Sleeps until `deadline` (a `nanoseconds()` value); returns at once if it has passed.
    public static func sleep(until deadline: UInt64) {
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
    }
}
