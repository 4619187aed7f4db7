/// An address with a prefix length ("10.88.0.2/24"); `network` masks the host bits.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    /// A prefix length outside the family's range is clamped into it.
    public init(clamping address: IPAddress, prefixLength: Int) {
        self.address = address
        self.prefixLength = max(0, min(prefixLength, address.bytes.count * 8))
    }

    public init?(address: IPAddress, prefixLength: Int) {
        guard prefixLength >= 0, prefixLength <= address.bytes.count * 8 else { return nil }
        self.address = address; self.prefixLength = prefixLength
    }

    public init?(_ text: String) {
        guard let slash = text.firstIndex(of: "/") else { return nil }
        let p = text[text.index(after: slash)...]
        guard let addr = IPAddress(String(text[..<slash])), !p.isEmpty, p.count <= 3,
              p.allSatisfy({ $0.isASCII && $0.isNumber }), let len = Int(p) else { return nil }
        self.init(address: addr, prefixLength: len)
    }

    public var description: String { text(.rfc5952) }
    public func text(_ form: IPTextForm) -> String { "\(address.text(form))/\(prefixLength)" }

    public var network: IPNetwork {
        var b = address.bytes
        for i in 0..<b.count {
            let bits = max(0, min(8, prefixLength - i * 8))
            b[i] &= bits == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - bits))
        }
        // Masking keeps the family, so both initializers succeed.
        return IPNetwork(address: IPAddress(bytes: b) ?? address, prefixLength: prefixLength) ?? self
    }

    /// Same family and the same first `prefixLength` bits (bytes compared in place: netlink
    /// gateway lookups call this per route).
    public func contains(_ ip: IPAddress) -> Bool {
        guard ip.bytes.count == address.bytes.count else { return false }
        var bits = prefixLength
        for i in 0..<ip.bytes.count where bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xff : ~(0xff >> UInt8(bits))
            if ip.bytes[i] & mask != address.bytes[i] & mask { return false }
            bits -= 8
        }
        return true
    }

    /// The n-th address of the network (n = 1 gives .1); nil when out of range.
    public func host(_ n: UInt32) -> IPAddress? {
        var b = network.address.bytes
        var carry = UInt64(n)
        var i = b.count - 1
        while carry > 0 && i >= 0 {
            let sum = UInt64(b[i]) + (carry & 0xff)
            b[i] = UInt8(sum & 0xff)
            carry = (carry >> 8) + (sum >> 8)
            i -= 1
        }
        guard carry == 0, let ip = IPAddress(bytes: b), contains(ip) else { return nil }
        return ip
    }
}
