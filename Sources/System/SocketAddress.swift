import CShim
import Glibc

/// An IPv4 or IPv6 socket address (sockaddr_storage + length), kept by value: no allocation.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    var storage = sockaddr_storage()
    var length: socklen_t = 0

    public init() {}

    /// From text ("10.0.0.2", "::1") and a port; nil if the text is no address.
    public init?(ip: String, port: Int) {
        var len: socklen_t = 0
        guard cshim_fwd_make_addr(ip, Int32(port), &storage, &len) > 0 else { return nil }
        length = len
    }

    public var isIPv6: Bool { Int32(storage.ss_family) == AF_INET6 }
    public var isLoopback: Bool { withUnsafePointer(to: storage) { cshim_fwd_addr_is_loopback($0) } == 1 }

    /// True if the address is inside `network`/`prefix` (same family only).
    public func isIn(network: String, prefix: Int) -> Bool {
        withUnsafePointer(to: storage) { cshim_fwd_addr_in_subnet($0, network, Int32(prefix)) } == 1
    }

    /// The numeric address, without the port.
    public var ip: String { text.ip }
    public var port: Int { text.port }

    private var text: (ip: String, port: Int) {
        var buf = [CChar](repeating: 0, count: 64)
        var port: Int32 = 0
        let r = withUnsafePointer(to: storage) { cshim_fwd_addr_text($0, &buf, buf.count, &port) }
        guard r == 0 else { return ("?", 0) }
        return (String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), Int(port))
    }

    public var description: String { isIPv6 ? "[\(ip)]:\(port)" : "\(ip):\(port)" }

    // Equality and hashing over the bytes the length covers (the rest of sockaddr_storage is zero).
    public static func == (a: SocketAddress, b: SocketAddress) -> Bool {
        guard a.length == b.length else { return false }
        return withUnsafeBytes(of: a.storage) { x in
            withUnsafeBytes(of: b.storage) { y in x.prefix(Int(a.length)).elementsEqual(y.prefix(Int(a.length))) }
        }
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes(of: storage) { hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: $0.prefix(Int(length)))) }
    }
}
