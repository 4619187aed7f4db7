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

extension UnixSocket {
    /// A listening AF_UNIX stream socket at `path` (a stale socket file is replaced), mode 0600.
    public static func listen(path: String) throws(SystemError) -> OwnedFD {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        guard path.utf8.count < MemoryLayout.size(ofValue: addr.sun_path), !path.utf8.contains(0) else {
            throw SystemError(op: "bind", path: path, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in
            for (i, b) in path.utf8.enumerated() { buf[i] = b }
        }
        let raw = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        if raw < 0 { throw SystemError.last("socket", path) }
        let sock = OwnedFD(adopting: raw)
        _ = unlink(path)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(sock.raw, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if r != 0 { throw SystemError.last("bind", path) }
        if chmod(path, 0o600) != 0 { throw SystemError.last("chmod", path) }
        if Glibc.listen(sock.raw, 16) != 0 { throw SystemError.last("listen", path) }
        return sock
    }

    /// Reads one request (to EOF, at most `limit` bytes) and the fd passed with it (-1 if
    /// none). The caller owns the returned fd.
    public static func receiveRequest(_ conn: Int32, limit: Int = 1 << 16, timeoutMs: Int) throws(SystemError) -> (bytes: [UInt8], fd: Int32) {
        var out: [UInt8] = []
        var passed: Int32 = -1
        defer { if passed >= 0 && out.count > limit { close(passed) } }
        let deadline = Sys.nowMs() + timeoutMs
        while out.count <= limit {
            let left = deadline - Sys.nowMs()
            let ready = left > 0 ? try Sys.pollOne(conn, events: Int16(POLLIN), timeoutMs: left) : 0
            if ready == 0 {
                if passed >= 0 { close(passed) }
                throw SystemError(op: "read request", path: nil, errno: ETIMEDOUT)
            }
            var buf = [UInt8](repeating: 0, count: 4096)
            var fd: Int32 = -1
            let n = buf.withUnsafeMutableBytes { cshim_recv_fd(conn, $0.baseAddress, $0.count, &fd) }
            if fd >= 0 {
                if passed < 0 { passed = fd } else { close(fd) }
            }
            if n < 0 {
                if -n == EAGAIN || -n == EINTR { continue }
                if passed >= 0 { close(passed) }
                throw SystemError(op: "read request", path: nil, errno: Int32(-n))
            }
            if n == 0 { return (out, passed) }
            out += buf[0..<Int(n)]
        }
        throw SystemError(op: "read request", path: nil, errno: EMSGSIZE)
    }
}
