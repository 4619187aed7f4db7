import CShim
import Glibc

/// Internal helpers shared by the syscall wrappers: EINTR loops, C string arrays, clocks.
enum Sys {
    /// Repeats `body` while it fails with EINTR; returns its result (>= 0) or throws.
    @inline(__always)
    static func retry<T: BinaryInteger>(_ op: String, _ path: String? = nil, _ body: () -> T) throws(SystemError) -> T {
        while true {
            let r = body()
            if r >= 0 { return r }
            if Glibc.errno != EINTR { throw SystemError.last(op, path) }
        }
    }

    /// `open(2)` with O_CLOEXEC always added.
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0, op: String = "open") throws(SystemError) -> OwnedFD {
        let fd = try retry(op, path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
        return OwnedFD(adopting: fd)
    }

    /// `pipe2(2)` with O_CLOEXEC: raw (read, write); wrap both in `OwnedFD` at once.
    static func pipe() throws(SystemError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        if cshim_pipe_cloexec(&fds) != 0 { throw SystemError.last("pipe2") }
        return (fds[0], fds[1])
    }

    static func setNonBlocking(_ fd: Int32) throws(SystemError) {
        let fl = fcntl(fd, F_GETFL)
        if fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 { throw SystemError.last("fcntl O_NONBLOCK") }
    }

    /// Writes all of `bytes` to a blocking fd (EINTR retried), SIGPIPE suppressed.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], op: String, path: String?) throws(SystemError) {
        let failure = bytes.withUnsafeBytes { raw in
            FDIO.writeAll(fd, raw, op: op, path: path) { cshim_write_nosigpipe($0, $1, $2) }
        }
        if let failure { throw failure }
    }

    /// Reads up to `max` bytes once; `[]` at EOF. Throws EAGAIN for non-blocking fds with no data.
    static func readSome(_ fd: Int32, max: Int = 65536, op: String, path: String?) throws(SystemError) -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: max)
        let n = try retry(op, path) { buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
        buf.removeSubrange(n...)
        return buf
    }

    /// Milliseconds on CLOCK_MONOTONIC.
    static func nowMs() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int(ts.tv_sec) * 1000 + Int(ts.tv_nsec) / 1_000_000
    }

    static func sleepMs(_ ms: Int) {
        var req = timespec(tv_sec: ms / 1000, tv_nsec: (ms % 1000) * 1_000_000)
        var rem = timespec()
        while nanosleep(&req, &rem) != 0 && Glibc.errno == EINTR { req = rem }
    }

    /// `poll(2)` one fd for `events`, up to `timeoutMs` (negative: forever). Returns revents (0 on timeout).
    static func pollOne(_ fd: Int32, events: Int16, timeoutMs: Int) throws(SystemError) -> Int16 {
        var p = pollfd(fd: fd, events: events, revents: 0)
        let deadline = timeoutMs < 0 ? Int.max : nowMs() + timeoutMs
        while true {
            let wait = timeoutMs < 0 ? -1 : Int32(clamping: max(0, deadline - nowMs()))
            let r = poll(&p, 1, wait)
            if r > 0 { return p.revents }
            if r == 0 { return 0 }
            if Glibc.errno != EINTR { throw SystemError.last("poll") }
        }
    }
}

/// NUL-terminated copies of strings (and a NULL-terminated array of them) that live until
/// `deallocate()`: built before fork so the child never allocates.
struct CStrings {
    private(set) var pointers: [UnsafeMutablePointer<CChar>?] = []

    /// Appends a copy and returns it (stable until deallocate).
    mutating func add(_ s: String) -> UnsafeMutablePointer<CChar>? {
        let p = strdup(s)
        pointers.append(p)
        return p
    }

    func deallocate() {
        for p in pointers { free(p) }
    }
}

/// A NULL-terminated `char *const[]` of owned copies.
func makeCArray(_ strings: [String], into store: inout CStrings) -> [UnsafeMutablePointer<CChar>?] {
    var arr = strings.map { store.add($0) }
    arr.append(nil)
    return arr
}
