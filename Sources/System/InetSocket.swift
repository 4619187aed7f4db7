import CShim
import Glibc

/// Internet sockets for the port forwarder (`cshim_inet_*`: SOCK_CLOEXEC, text addresses).
public enum InetSocket {
    /// A bound socket on ip:port ("" = any IPv4 address); TCP sockets also listen.
    /// EADDRINUSE means the host port is taken.
    public static func bind(ip: String, port: Int, tcp: Bool, nonBlocking: Bool = true) throws(SystemError) -> OwnedFD {
        let type = tcp ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
        let fd = cshim_inet_bind(ip, Int32(port), type, nonBlocking ? 1 : 0)
        if fd < 0 { throw SystemError(op: "bind \(tcp ? "tcp" : "udp")", path: "\(ip.isEmpty ? "0.0.0.0" : ip):\(port)", errno: -fd) }
        return OwnedFD(adopting: fd)
    }

    /// A non-blocking socket connecting to ip:port; check `pendingError` when it becomes writable.
    public static func connect(ip: String, port: Int, tcp: Bool) throws(SystemError) -> OwnedFD {
        let type = tcp ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
        let fd = cshim_inet_connect(ip, Int32(port), type)
        if fd < 0 { throw SystemError(op: "connect \(tcp ? "tcp" : "udp")", path: "\(ip):\(port)", errno: -fd) }
        return OwnedFD(adopting: fd)
    }

    /// `getsockopt(SO_ERROR)`: the outcome of a non-blocking connect (0 = connected).
    public static func pendingError(_ fd: Int32) -> Int32 { cshim_socket_error(fd) }
}
