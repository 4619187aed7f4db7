/// An IPv4 or IPv6 address as bytes (4 or 16), parsed and printed without libc so the
/// protocol module stays syscall-free. Printing follows RFC 5952 (what Go and `ip` print).
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]
    public var isIPv4: Bool { bytes.count == 4 }

    public init(v4 a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) { bytes = [a, b, c, d] }

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    public init?(_ text: String) {
        if text.contains(":") {
            guard let b = Self.parseV6(Substring(text)) else { return nil }
            bytes = b
        } else {
            guard let b = Self.parseV4(Substring(text)) else { return nil }
            bytes = b
        }
    }

    static func parseV4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.utf8.count <= 3, p.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                  !(p.count > 1 && p.first == "0"), let n = UInt8(p) else { return nil }
            out.append(n)
        }
        return out
    }

    static func parseV6(_ text: Substring) -> [UInt8]? {
        var text = text
        // Zones are not part of an address in CNI results.
        if text.contains("%") { return nil }
        var tail: [UInt8] = []
        // Embedded IPv4 in the last 32 bits.
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = parseV4(text[text.index(after: lastColon)...]) else { return nil }
            tail = v4
            text = text[...lastColon]
            if text.hasSuffix("::") { } else { text = text.dropLast() }
        }
        let halves = text.split(separator: "::", omittingEmptySubsequences: false)
        guard halves.count <= 2 else { return nil }
        func groups(_ s: Substring) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            for g in s.split(separator: ":", omittingEmptySubsequences: false) {
                // Hex digits only: UInt16(_:radix:) would also take a sign ("+f", "-0").
                guard !g.isEmpty, g.utf8.count <= 4, g.utf8.allSatisfy(Self.isHexDigit),
                      let v = UInt16(g, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        let rest = halves.count == 2 ? groups(halves[1]) : []
        guard let rest else { return nil }
        let wanted = tail.isEmpty ? 8 : 6
        var all: [UInt16]
        if halves.count == 2 {
            guard head.count + rest.count < wanted else { return nil }
            all = head + Array(repeating: 0, count: wanted - head.count - rest.count) + rest
        } else {
            guard head.count == wanted else { return nil }
            all = head
        }
        var out: [UInt8] = []
        for g in all { out.append(UInt8(g >> 8)); out.append(UInt8(g & 0xff)) }
        return out + tail
    }

    static func isHexDigit(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)
    }

    /// ::ffff:0:0/96, printed with the IPv4 part in dotted form (RFC 5952 section 5).
    public var isIPv4Mapped: Bool {
        bytes.count == 16 && bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff
    }

    public var description: String {
        if isIPv4 { return bytes.map(String.init).joined(separator: ".") }
        if isIPv4Mapped { return "::ffff:" + bytes[12...].map(String.init).joined(separator: ".") }
        var groups: [UInt16] = []
        for i in stride(from: 0, to: 16, by: 2) { groups.append(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])) }
        // Longest run (>= 2) of zero groups becomes "::"; first one wins on ties.
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                i = j
            } else { i += 1 }
        }
        func hex(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLen)..<8)
    }

    public var isLoopback: Bool {
        isIPv4 ? bytes[0] == 127 : bytes == Array(repeating: 0, count: 15) + [1]
    }
    public var isLinkLocal: Bool {
        isIPv4 ? (bytes[0] == 169 && bytes[1] == 254) : (bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80)
    }
    public var isUnspecified: Bool { bytes.allSatisfy { $0 == 0 } }
}

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

    public var description: String { "\(address)/\(prefixLength)" }

    public var network: IPNetwork {
        var b = address.bytes
        for i in 0..<b.count {
            let bits = max(0, min(8, prefixLength - i * 8))
            b[i] &= bits == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - bits))
        }
        // Masking keeps the family, so both initializers succeed.
        return IPNetwork(address: IPAddress(bytes: b) ?? address, prefixLength: prefixLength) ?? self
    }

    public func contains(_ ip: IPAddress) -> Bool {
        guard ip.bytes.count == address.bytes.count else { return false }
        return (IPNetwork(address: ip, prefixLength: prefixLength)?.network.address) == network.address
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
