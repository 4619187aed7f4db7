/// The two ways an IPv6 address is printed here. They differ only for IPv4-compatible addresses
/// (::a.b.c.d with a non-zero seventh group, deprecated by RFC 4291): `::102:304` or `::1.2.3.4`.
/// Both write lowercase hex without leading zeros, turn the longest run of two or more zero
/// groups into "::" (the first on ties) and print IPv4-mapped addresses as `::ffff:1.2.3.4`.
public enum IPTextForm: Sendable {
    /// RFC 5952 as Go's net/netip prints it: what CNI results, configs and plugins carry.
    case rfc5952
    /// glibc's inet_ntop(3), what `ip address` prints: netstat-inspect's view of the kernel.
    case inetNtop
}

extension IPAddress {
    public func text(_ form: IPTextForm) -> String {
        if isIPv4 { return dotted(bytes[...]) }
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
        // inet_ntop's test: the run is the first six groups (compatible, the seventh is not zero)
        // or the first five with ffff after them (mapped: RFC 5952 section 5, both forms).
        if bestStart == 0 && (bestLen == 5 && groups[5] == 0xffff || bestLen == 6 && form == .inetNtop) {
            return (bestLen == 5 ? "::ffff:" : "::") + dotted(bytes[12...])
        }
        func hex(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLen)..<8)
    }

    private func dotted(_ part: ArraySlice<UInt8>) -> String { part.map(String.init).joined(separator: ".") }
}
