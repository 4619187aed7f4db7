import CShim
import Glibc

/// The data path's socket calls (the port forwarder): accept with the peer's address, connect
/// (optionally from a transparent source address), non-blocking datagram and stream I/O.
/// Every fd is SOCK_CLOEXEC|SOCK_NONBLOCK; sends never raise SIGPIPE.
public enum ForwardSocket {
    public enum Accepted: ~Copyable {
        case connection(OwnedFD, SocketAddress)
        case wouldBlock
        case failed(Int32)
    }

    /// The plugin's host socket: bound on ip:port ("" = 0.0.0.0), TCP listening with
    /// SO_REUSEADDR, IPv6 V6ONLY (so "::" and "0.0.0.0" are separate mappings).
    public static func bindListener(ip: String, port: Int, tcp: Bool) throws(SystemError) -> OwnedFD {
        let type = tcp ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
        let fd = cshim_fwd_bind(ip, Int32(port), type)
        if fd < 0 {
            throw SystemError(op: "bind \(tcp ? "tcp" : "udp")", path: ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip.isEmpty ? "0.0.0.0" : ip):\(port)", errno: -fd)
        }
        return OwnedFD(adopting: fd)
    }

    /// `getsockname(2)`: the address a socket is bound to (port 0 binds learn their port here).
    public static func localAddress(_ fd: borrowing OwnedFD) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let r = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd.raw, $0, &length) }
        }
        guard r == 0 else { return nil }
        var a = SocketAddress()
        a.storage = storage
        a.length = length
        return a
    }

    public static func isAddressInUse(_ error: SystemError) -> Bool { error.errno == EADDRINUSE }

    public static func accept(_ listener: borrowing OwnedFD) -> Accepted {
        var peer = SocketAddress()
        let fd = cshim_fwd_accept(listener.raw, &peer.storage, &peer.length)
        if fd >= 0 { return .connection(OwnedFD(adopting: fd), peer) }
        return -fd == EAGAIN ? .wouldBlock : .failed(-fd)
    }

    /// A socket connecting to `destination` (in progress: wait for writable, then `pendingError`).
    /// With `source`: IP_TRANSPARENT, SO_MARK = `mark`, bound to source's address (TCP: port
    /// chosen by the kernel; UDP: source's own port), so the peer sees `source` as its client.
    /// Needs CAP_NET_ADMIN.
    public static func connect(to destination: SocketAddress, from source: SocketAddress? = nil,
                               tcp: Bool, mark: UInt32 = 0) throws(SystemError) -> OwnedFD {
        let type = tcp ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
        var dst = destination
        let fd: Int32
        if var src = source {
            fd = cshim_fwd_connect(&dst.storage, dst.length, &src.storage, src.length, type, mark, tcp ? 0 : 1)
        } else {
            fd = cshim_fwd_connect(&dst.storage, dst.length, nil, 0, type, 0, 0)
        }
        if fd < 0 {
            throw SystemError(op: "connect \(tcp ? "tcp" : "udp")\(source.map { " from \($0.ip)" } ?? "")",
                              path: destination.description, errno: -fd)
        }
        return OwnedFD(adopting: fd)
    }

    /// `getsockopt(SO_ERROR)`: the outcome of a non-blocking connect (0 = connected).
    public static func pendingError(_ fd: borrowing OwnedFD) -> Int32 { cshim_socket_error(fd.raw) }

    public static func shutdownWrite(_ fd: borrowing OwnedFD) { _ = cshim_fwd_shutdown_write(fd.raw) }

    public static func receive(_ fd: borrowing OwnedFD, into buffer: UnsafeMutableRawBufferPointer) -> Transfer {
        Transfer(cshim_fwd_recv(fd.raw, buffer.baseAddress, buffer.count))
    }

    public static func send(_ fd: borrowing OwnedFD, _ bytes: UnsafeRawBufferPointer) -> Transfer {
        Transfer(cshim_fwd_send(fd.raw, bytes.baseAddress, bytes.count))
    }

    /// One datagram and its sender (a zero-length datagram reads as `.endOfFile`).
    public static func receive(_ fd: borrowing OwnedFD, into buffer: UnsafeMutableRawBufferPointer,
                               from peer: inout SocketAddress) -> Transfer {
        Transfer(cshim_fwd_recvfrom(fd.raw, buffer.baseAddress, buffer.count, &peer.storage, &peer.length))
    }

    public static func send(_ fd: borrowing OwnedFD, _ bytes: UnsafeRawBufferPointer, to peer: SocketAddress) -> Transfer {
        var p = peer
        return Transfer(cshim_fwd_sendto(fd.raw, bytes.baseAddress, bytes.count, &p.storage, p.length))
    }

    /// Sets O_NONBLOCK (a socket handed over by another process may be blocking).
    public static func setNonBlocking(_ fd: borrowing OwnedFD) throws(SystemError) { try Sys.setNonBlocking(fd.raw) }

    /// SIGPIPE ignored process-wide: splice(2) into a socket whose peer is gone raises it
    /// (there is no MSG_NOSIGNAL for splice); the call then fails with EPIPE instead.
    public static func ignoreBrokenPipe() { _ = signal(SIGPIPE, SIG_IGN) }

    /// Raises the soft RLIMIT_NOFILE to the hard one; the new soft limit (nil if it failed).
    public static func raiseFileLimit() -> Int? {
        let r = cshim_fwd_raise_nofile()
        return r > 0 ? Int(r) : nil
    }
}
