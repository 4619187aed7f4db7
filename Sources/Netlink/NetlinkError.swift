import System
#if canImport(Glibc)
import Glibc
#endif

/// Everything that can go wrong talking rtnetlink, with enough context to act on it.
public enum NetlinkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Opening the socket inside the namespace failed ("open netns /run/netns/x: No such file or
    /// directory", "setns /x: Operation not permitted").
    case namespace(SystemError)
    /// The path opened fine but `setns(2)` refused it as a network namespace.
    case notNetworkNamespace(path: String)
    /// A socket-level call failed: `operation` names it ("socket", "bind", "setsockopt NETLINK_GET_STRICT_CHK").
    case socket(operation: String, errno: Int32)
    case send(request: String, errno: Int32)
    case receive(request: String, errno: Int32)
    /// The kernel answered NLMSG_ERROR; `message` is its extended-ack text when it gave one.
    case kernel(errno: Int32, request: String, message: String? = nil)
    /// A reply carried another sequence number or port id than our request.
    case sequenceMismatch(request: String, expected: UInt32, got: UInt32)
    /// A reply did not parse (short header, bad length, truncated datagram).
    case malformed(request: String, detail: String)
    /// Every attempt of a dump was flagged NLM_F_DUMP_INTR (the tables kept changing).
    case dumpInterrupted(request: String, attempts: Int)

    public var description: String {
        switch self {
        case .namespace(let error): error.description
        case .notNetworkNamespace(let path): "\(path) is not a network namespace"
        case .socket(let op, let e): "netlink \(op): \(errnoText(e))"
        case .send(let r, let e): "\(r): send: \(errnoText(e))"
        case .receive(let r, let e): "\(r): receive: \(errnoText(e))"
        case .kernel(let e, let r, let m):
            "\(r): kernel error: \(errnoText(e))" + (m.map { " (\($0))" } ?? "")
        case .sequenceMismatch(let r, let exp, let got):
            "\(r): reply for sequence \(got), expected \(exp)"
        case .malformed(let r, let d): "\(r): malformed reply: \(d)"
        case .dumpInterrupted(let r, let n): "\(r): dump interrupted by concurrent changes \(n) times"
        }
    }

    /// Opening the namespace file failed with ENOENT (no such namespace path).
    public var isMissingNamespace: Bool {
        if case .namespace(let e) = self { return e.errno == ENOENT }
        return false
    }

    /// The errno this error carries, if any (for callers that map e.g. ENOENT specially).
    public var errno: Int32? {
        switch self {
        case .namespace(let error): error.errno
        case .socket(_, let e),
            .send(_, let e), .receive(_, let e), .kernel(let e, _, _):
            e
        default: nil
        }
    }
}

/// "No such file or directory" for ENOENT: the strerror text, as `ip` and the Go tools print it.
func errnoText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}
