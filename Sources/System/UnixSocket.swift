import CShim
import Glibc

/// One-shot requests to a unix stream socket (the slirp4netns API style).
public enum UnixSocket {
    /// `socket(2)` AF_UNIX SOCK_STREAM|SOCK_CLOEXEC, `connect(2)`, write all of `bytes`,
    /// `shutdown(2)` SHUT_WR, read to EOF. The whole exchange must finish within `timeoutMs`
    /// (else ETIMEDOUT). Errors name the socket path.
    public static func request(path: String, _ bytes: [UInt8], passing passFD: Int32? = nil, timeoutMs: Int,
                               limit: Int = 1 << 20) throws(SystemError) -> [UInt8] {
        var addr = try address(path, op: "connect")
        let fd = try Sys.retry("socket", path) { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        let sock = OwnedFD(adopting: fd)
        try Sys.setNonBlocking(sock.raw)
        let deadline = Sys.nowMs() + max(0, timeoutMs)
        func waitFor(_ events: Int32, _ op: String) throws(SystemError) {
            let left = deadline - Sys.nowMs()
            if left <= 0 { throw SystemError(op: op, path: path, errno: ETIMEDOUT) }
            if try Sys.pollOne(sock.raw, events: Int16(events), timeoutMs: left) == 0 {
                throw SystemError(op: op, path: path, errno: ETIMEDOUT)
            }
        }

        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(sock.raw, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if r != 0 {
            let err = Glibc.errno
            guard err == EINPROGRESS || err == EAGAIN || err == EINTR else { throw SystemError(op: "connect", path: path, errno: err) }
            try waitFor(POLLOUT, "connect")
            var soErr: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(sock.raw, SOL_SOCKET, SO_ERROR, &soErr, &len)
            if soErr != 0 { throw SystemError(op: "connect", path: path, errno: soErr) }
        }

        var off = 0
        if let passFD {
            // The fd rides with the whole (small) request in one sendmsg (SCM_RIGHTS).
            try waitFor(POLLOUT, "write")
            let r = bytes.withUnsafeBytes { cshim_send_fd(sock.raw, passFD, $0.baseAddress, $0.count) }
            if r < 0 { throw SystemError(op: "send fd to", path: path, errno: -r) }
            off = bytes.count
        }
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { send(sock.raw, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n >= 0 { off += n; continue }
            if Glibc.errno == EINTR { continue }
            if Glibc.errno != EAGAIN { throw SystemError.last("write", path) }
            try waitFor(POLLOUT, "write")
        }
        if shutdown(sock.raw, Int32(SHUT_WR)) != 0 { throw SystemError.last("shutdown", path) }

        var out: [UInt8] = []
        while true {
            var buf = [UInt8](repeating: 0, count: 16384)
            let n = buf.withUnsafeMutableBytes { recv(sock.raw, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                out += buf[0..<n]
                if out.count > limit { throw SystemError(op: "read", path: path, errno: EMSGSIZE) }
                continue
            }
            if n == 0 { return out }
            if Glibc.errno == EINTR { continue }
            if Glibc.errno != EAGAIN { throw SystemError.last("read", path) }
            try waitFor(POLLIN, "read")
        }
    }

    /// The one `sockaddr_un` builder: `path` must fit sun_path with its NUL (else ENAMETOOLONG,
    /// reported as `op path`).
    static func address(_ path: String, op: String) throws(SystemError) -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        guard path.utf8.count < MemoryLayout.size(ofValue: addr.sun_path), !path.utf8.contains(0) else {
            throw SystemError(op: op, path: path, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in
            for (i, b) in path.utf8.enumerated() { buf[i] = b }
        }
        return addr
    }
}

/// The serving side (the port forwarder's control socket).
extension UnixSocket {
    /// A listening AF_UNIX stream socket at `path` (a stale socket file is replaced), mode 0600.
    public static func listen(path: String) throws(SystemError) -> OwnedFD {
        var addr = try address(path, op: "bind")
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
