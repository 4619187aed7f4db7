import Glibc

/// Whole-buffer reads and writes on a raw fd (EINTR retried): the one write-all and read-all
/// loop for stdin/stdout/stderr and plain files.
public enum FDIO {
    public static let standardInput: Int32 = STDIN_FILENO
    public static let standardOutput: Int32 = STDOUT_FILENO
    public static let standardError: Int32 = STDERR_FILENO

    /// write(2) until every byte is out.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
        var failure: SystemError?
        bytes.withUnsafeBytes { raw in failure = writeAll(fd, raw) }
        if let failure { throw failure }
    }

    /// The same for a string's UTF-8 (no copy into an array first).
    public static func writeAll(_ fd: Int32, _ text: String) throws(SystemError) {
        var text = text
        var failure: SystemError?
        text.withUTF8 { utf8 in failure = writeAll(fd, UnsafeRawBufferPointer(utf8)) }
        if let failure { throw failure }
    }

    /// The loop itself; `write` is write(2) or, for pipes to children, a SIGPIPE-free write.
    static func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer, op: String = "write", path: String? = nil,
                         write: (Int32, UnsafeRawPointer, Int) -> Int = { Glibc.write($0, $1, $2) }) -> SystemError? {
        var offset = 0
        while offset < raw.count, let base = raw.baseAddress {
            let n = write(fd, base + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return SystemError.last(op, path ?? "fd \(fd)")
            }
            // A zero-byte write of a non-empty buffer would loop forever.
            if n == 0 { return SystemError(op: op, path: path ?? "fd \(fd)", errno: EIO) }
            offset += n
        }
        return nil
    }

    /// read(2) until end of file or until `max` bytes are in (then stops, returning `max`).
    public static func read(_ fd: Int32, upTo max: Int) throws(SystemError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while out.count < max {
            let want = Swift.min(chunk.count, max - out.count)
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, want) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError.last("read", "fd \(fd)")
            }
            if n == 0 { break }
            out += chunk[..<n]
        }
        return out
    }

    /// read(2) to end of file; more than `limit` bytes is an EFBIG error.
    public static func readAll(_ fd: Int32, limit: Int) throws(SystemError) -> [UInt8] {
        let out = try read(fd, upTo: limit + 1)
        if out.count > limit { throw SystemError(op: "read (more than \(limit) bytes)", path: "fd \(fd)", errno: EFBIG) }
        return out
    }
}

/// Best-effort output for the executables' stdout/stderr (a closed stream is nobody's error).
public enum StdIO {
    public static func writeStdout(_ text: String) { try? FDIO.writeAll(FDIO.standardOutput, text) }
    public static func writeStderr(_ text: String) { try? FDIO.writeAll(FDIO.standardError, text) }
    public static func write(fd: Int32, _ bytes: [UInt8]) { try? FDIO.writeAll(fd, bytes) }
}
