import Glibc

/// A failed system call, with what we were doing and on which path.
///
/// `description` reads like `open netns /run/user/1000/netns/x: No such file or directory`
/// (the message comes from `strerror(3)`).
public struct SystemError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What we were doing, e.g. `open netns`, `setns`, `mount --bind /etc/resolv.conf`.
    public var op: String
    /// The path (or other object) the operation was about, if any.
    public var path: String?
    /// The `errno` value.
    public var errno: Int32

    public init(op: String, path: String? = nil, errno: Int32) {
        self.op = op
        self.path = path
        self.errno = errno
    }

    /// Captures the current thread's `errno`.
    static func last(_ op: String, _ path: String? = nil) -> SystemError {
        SystemError(op: op, path: path, errno: Glibc.errno)
    }

    /// ENOENT for `op path`: something we expected to find is missing.
    public static func notFound(_ op: String, _ path: String?) -> SystemError {
        SystemError(op: op, path: path, errno: ENOENT)
    }

    /// The `strerror(3)` text for `errno`.
    public var message: String { SystemError.describe(errno: errno) }

    public var description: String {
        if let path { return "\(op) \(path): \(message)" }
        return "\(op): \(message)"
    }

    public var isENOENT: Bool { errno == ENOENT }
    public var isENOTDIR: Bool { errno == ENOTDIR }
    public var isTimeout: Bool { errno == ETIMEDOUT }

    /// `strerror(3)`; falls back to `errno N` if the C library has no text.
    public static func describe(errno: Int32) -> String {
        guard let text = strerror(errno) else { return "errno \(errno)" }
        return String(cString: text)
    }
}

/// Lets `catch let e as SystemError where e ~= ENOENT` style matching read naturally.
public func ~= (code: Int32, error: SystemError) -> Bool { error.errno == code }
