import CNetlinkShim
import System
#if canImport(Glibc)
import Glibc
#endif

let EAGAIN_VALUE: Int32 = EAGAIN

/// A NETLINK_ROUTE socket opened inside a network namespace, talking to the kernel directly
/// (socket, bind, sendto, recv: no libmnl, so the executable can be fully static).
///
/// The namespace is entered only for the `socket(2)` call (`NetnsSocket.open`, in C); the
/// socket stays bound to it afterwards. The fd is CLOEXEC and closed when this object goes away.
public final class KernelNetlinkSocket: NetlinkSocket {
    private let fd: OwnedFD
    public let portID: UInt32
    /// Receive buffer: 32 KiB is what the kernel fills per dump datagram when the reader offers
    /// that much (netlink_dump caps at it); grown on demand after a MSG_PEEK|MSG_TRUNC probe.
    static let minimumReceiveBuffer = 32 * 1024
    private var buffer = [UInt8](repeating: 0, count: minimumReceiveBuffer)

    /// Opens the socket in the namespace at `netnsPath` (nil: the caller's own namespace), binds it
    /// (the kernel picks the port id), and turns on strict checking and extended acks.
    public init(netnsPath: String?) throws(NetlinkError) {
        let raw: Int32
        do {
            raw = try NetnsSocket.open(netnsPath: netnsPath, family: AF_NETLINK, type: Int32(SOCK_RAW.rawValue),
                                       proto: NETLINK_ROUTE).take()
        } catch {
            // setns(2) answers EINVAL for an fd that is not a network namespace (e.g. a plain file).
            if let path = netnsPath, error.stage == .enterNamespace, error.error.errno == EINVAL {
                throw .notNetworkNamespace(path: path)
            }
            throw .namespace(error.error)
        }
        let socket = OwnedFD(adopting: raw)
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        let length = socklen_t(MemoryLayout<sockaddr_nl>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket.raw, $0, length) }
        }
        if bound < 0 { throw .socket(operation: "bind", errno: Glibc.errno) }
        var assigned = sockaddr_nl()
        var assignedLength = length
        let named = withUnsafeMutablePointer(to: &assigned) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket.raw, $0, &assignedLength) }
        }
        if named < 0 { throw .socket(operation: "getsockname", errno: Glibc.errno) }
        var on: Int32 = 1
        // Strict checking makes the kernel reject requests it would otherwise half-ignore; extended
        // acks give error text; capped acks keep error replies small.
        for (option, name) in [(NETLINK_GET_STRICT_CHK, "NETLINK_GET_STRICT_CHK"),
                               (NETLINK_EXT_ACK, "NETLINK_EXT_ACK"),
                               (NETLINK_CAP_ACK, "NETLINK_CAP_ACK")]
        where setsockopt(socket.raw, SOL_NETLINK, Int32(option), &on, socklen_t(MemoryLayout<Int32>.size)) < 0 {
            throw .socket(operation: "setsockopt \(name)", errno: Glibc.errno)
        }
        fd = socket
        portID = assigned.nl_pid
    }

    public func send(_ message: [UInt8], request: String) throws(NetlinkError) {
        var kernel = sockaddr_nl()
        kernel.nl_family = sa_family_t(AF_NETLINK)
        while true {
            let n = message.withUnsafeBytes { raw in
                withUnsafePointer(to: &kernel) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd.raw, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
                    }
                }
            }
            if n >= 0 { return }
            let e = Glibc.errno
            if e == EINTR { continue }
            throw .send(request: request, errno: e)
        }
    }

    public func receive(request: String) throws(NetlinkError) -> [UInt8] {
        // Peek with MSG_TRUNC for the real datagram size, so a big one is never cut short.
        var size = 0
        while true {
            let n = recv(fd.raw, nil, 0, Int32(MSG_PEEK | MSG_TRUNC))
            if n >= 0 { size = n; break }
            let e = Glibc.errno
            if e == EINTR { continue }
            throw .receive(request: request, errno: e)
        }
        if size > buffer.count { buffer = [UInt8](repeating: 0, count: size) }
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd.raw, $0.baseAddress, $0.count, 0) }
            if n >= 0 { return Array(buffer[..<n]) }
            let e = Glibc.errno
            if e == EINTR { continue }
            throw .receive(request: request, errno: e)
        }
    }
}
