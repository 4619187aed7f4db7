import CMnl
import CNetlinkShim
import System
#if canImport(Glibc)
import Glibc
#endif

let EAGAIN_VALUE: Int32 = EAGAIN

/// A NETLINK_ROUTE socket opened inside a network namespace, driven through libmnl.
///
/// The namespace is entered only for the `socket(2)` call (`NetnsSocket.open`, in C); the
/// socket stays bound to it afterwards. The fd is CLOEXEC and closed when this object goes away.
public final class MnlSocket: NetlinkSocket {
    private let handle: OpaquePointer
    public let portID: UInt32
    /// Receive buffer size: at least MNL_SOCKET_DUMP_SIZE-sized (32 KiB, what the kernel fills per
    /// dump datagram when the reader offers that much); grown on demand after a MSG_PEEK|MSG_TRUNC probe.
    static let minimumReceiveBuffer = 32 * 1024

    /// Opens the socket in the namespace at `netnsPath` (nil: the caller's own namespace), binds it,
    /// and turns on strict checking and extended acks.
    public init(netnsPath: String?) throws(NetlinkError) {
        let fd: Int32
        do {
            fd = try NetnsSocket.open(netnsPath: netnsPath, family: AF_NETLINK, type: Int32(SOCK_RAW.rawValue),
                                      proto: NETLINK_ROUTE).take()
        } catch {
            // setns(2) answers EINVAL for an fd that is not a network namespace (e.g. a plain file).
            if let path = netnsPath, error.errno == EINVAL, error.op == "setns" {
                throw .notNetworkNamespace(path: path)
            }
            throw .namespace(error)
        }
        guard let nl = mnl_socket_fdopen(fd) else {
            let e = Glibc.errno
            close(fd)
            throw .socket(operation: "mnl_socket_fdopen", errno: e)
        }
        if mnl_socket_bind(nl, 0, pid_t(MNL_SOCKET_AUTOPID)) < 0 {
            let e = Glibc.errno
            mnl_socket_close(nl)
            throw .socket(operation: "bind", errno: e)
        }
        var on: Int32 = 1
        // Strict checking makes the kernel reject requests it would otherwise half-ignore; extended
        // acks give error text; capped acks keep error replies small.
        for (option, name) in [(NETLINK_GET_STRICT_CHK, "NETLINK_GET_STRICT_CHK"),
                               (NETLINK_EXT_ACK, "NETLINK_EXT_ACK"),
                               (NETLINK_CAP_ACK, "NETLINK_CAP_ACK")]
        where mnl_socket_setsockopt(nl, Int32(option), &on, socklen_t(MemoryLayout<Int32>.size)) < 0 {
            let e = Glibc.errno
            mnl_socket_close(nl)
            throw .socket(operation: "setsockopt \(name)", errno: e)
        }
        handle = nl
        portID = mnl_socket_get_portid(nl)
    }

    deinit { mnl_socket_close(handle) }

    /// The underlying file descriptor (owned by this object).
    public var fileDescriptor: Int32 { mnl_socket_get_fd(handle) }

    public func send(_ message: [UInt8], request: String) throws(NetlinkError) {
        while true {
            let n = message.withUnsafeBytes { mnl_socket_sendto(handle, $0.baseAddress, $0.count) }
            if n >= 0 { return }
            let e = Glibc.errno
            if e == EINTR { continue }
            throw .send(request: request, errno: e)
        }
    }

    public func receive(request: String) throws(NetlinkError) -> [UInt8] {
        let fd = mnl_socket_get_fd(handle)
        // Peek with MSG_TRUNC for the real datagram size, so a big one is never cut short.
        var size = 0
        while true {
            let n = recv(fd, nil, 0, Int32(MSG_PEEK | MSG_TRUNC))
            if n >= 0 { size = n; break }
            let e = Glibc.errno
            if e == EINTR { continue }
            throw .receive(request: request, errno: e)
        }
        var buffer = [UInt8](repeating: 0, count: max(size, Self.minimumReceiveBuffer))
        while true {
            let n = buffer.withUnsafeMutableBytes { mnl_socket_recvfrom(handle, $0.baseAddress, $0.count) }
            if n >= 0 { return Array(buffer[..<n]) }
            let e = Glibc.errno
            if e == EINTR { continue }
            throw .receive(request: request, errno: e)
        }
    }
}
