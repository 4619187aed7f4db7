#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address as the kernel carries it (4 or 16 bytes, network order).
public struct InetAddress: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// Accepts exactly 4 or 16 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses dotted-quad or RFC 5952 text with `inet_pton(3)`.
    public init?(_ text: String) {
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, text, &v4) == 1 { self.bytes = v4; return }
        var v6 = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET6, text, &v6) == 1 { self.bytes = v6; return }
        return nil
    }

    public var isIPv4: Bool { bytes.count == 4 }
    /// AF_INET or AF_INET6.
    public var family: Int32 { isIPv4 ? AF_INET : AF_INET6 }

    /// Text form from `inet_ntop(3)` ("10.88.0.2", "fe80::1").
    public var description: String {
        var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &out, socklen_t(out.count)) }
        guard ok != nil else { return "?" }
        return String(decoding: out.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Link-local unicast (169.254/16, fe80::/10) or link-local multicast (224.0.0/24, ff02::/16):
    /// the addresses podman leaves out of a network status.
    public var isLinkLocal: Bool {
        if isIPv4 {
            return (bytes[0] == 169 && bytes[1] == 254) || (bytes[0] == 224 && bytes[1] == 0 && bytes[2] == 0)
        }
        return (bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80) || (bytes[0] == 0xff && bytes[1] & 0x0f == 0x02)
    }

    /// True when the first `prefixLength` bits equal those of `other` (same family only).
    public func sharesPrefix(with other: InetAddress, length prefixLength: Int) -> Bool {
        guard bytes.count == other.bytes.count, prefixLength >= 0, prefixLength <= bytes.count * 8 else {
            return false
        }
        var bits = prefixLength
        for i in 0..<bytes.count where bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xff : ~(0xff >> UInt8(bits))
            if bytes[i] & mask != other.bytes[i] & mask { return false }
            bits -= 8
        }
        return true
    }
}

/// An address with a prefix length ("10.88.0.2/24"): an interface address or a route destination.
public struct InetPrefix: Hashable, Sendable, CustomStringConvertible {
    public let address: InetAddress
    public let length: Int

    public init?(address: InetAddress, length: Int) {
        guard length >= 0, length <= address.bytes.count * 8 else { return nil }
        self.address = address
        self.length = length
    }

    /// Parses "ADDR/LEN"; a bare address gets the full length.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = InetAddress(String(parts[0])) else { return nil }
        var length = address.bytes.count * 8
        if parts.count == 2 {
            guard let n = Int(parts[1]) else { return nil }
            length = n
        }
        self.init(address: address, length: length)
    }

    public func contains(_ other: InetAddress) -> Bool { address.sharesPrefix(with: other, length: length) }
    public var description: String { "\(address)/\(length)" }
}
