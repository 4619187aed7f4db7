/// An IPv4 or IPv6 address as bytes (4 or 16, network order): what CNI results carry and what
/// netlink messages carry. Parsed without libc (it accepts what inet_pton(3) accepts), so the
/// protocol module stays syscall-free; printed in one of two forms (`IPTextForm`).
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

    /// The RFC 5952 form (what CNI results and Go print); `text(.inetNtop)` for the kernel's view.
    public var description: String { text(.rfc5952) }

    public var isLoopback: Bool {
        isIPv4 ? bytes[0] == 127 : bytes == Array(repeating: 0, count: 15) + [1]
    }
    /// 169.254/16, fe80::/10 (Go's IsLinkLocalUnicast, but by bytes: a mapped ::ffff:169.254.x.y is not).
    public var isLinkLocalUnicast: Bool {
        isIPv4 ? (bytes[0] == 169 && bytes[1] == 254) : (bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80)
    }
    /// 224.0.0/24, ff02::/16 and the other link-scope multicast (ffX2::).
    public var isLinkLocalMulticast: Bool {
        isIPv4 ? (bytes[0] == 224 && bytes[1] == 0 && bytes[2] == 0) : (bytes[0] == 0xff && bytes[1] & 0x0f == 0x02)
    }
    public var isUnspecified: Bool { bytes.allSatisfy { $0 == 0 } }
}
