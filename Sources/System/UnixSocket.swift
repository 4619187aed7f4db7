import CShim
import Glibc

/// One-shot requests to a unix stream socket (the slirp4netns API style).
public enum UnixSocket {
    /// `socket(2)` AF_UNIX SOCK_STREAM|SOCK_CLOEXEC, `connect(2)`, write all of `bytes`,
    /// `shutdown(2)` SHUT_WR, read to EOF. The whole exchange must finish within `timeoutMs`
    /// (else ETIMEDOUT). Errors name the socket path.
    public static func request(path: String, _ bytes: [UInt8], passing passFD: Int32? = nil, timeoutMs: Int,
                               limit: Int = 1 << 20) throws(SystemError) -> [UInt8] {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard path.utf8.count < capacity, !path.utf8.contains(0) else {
            throw SystemError(op: "connect", path: path, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in
            for (i, b) in path.utf8.enumerated() { buf[i] = b }
        }
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
}
