import Glibc
import IP
import Testing

/// The two print forms, pinned for the addresses where printers disagree, and both parse and
/// `.inetNtop` checked against glibc itself (what Netlink's own type used before there was one).
@Suite struct IPTextFormTests {
    @Test(arguments: [
        // text, RFC 5952 (CNI, Go's netip), inet_ntop (glibc, `ip address`)
        ("::", "::", "::"),
        ("::1", "::1", "::1"),
        ("::2", "::2", "::2"),
        ("::ffff:1.2.3.4", "::ffff:1.2.3.4", "::ffff:1.2.3.4"),
        ("::ffff:0.0.0.0", "::ffff:0.0.0.0", "::ffff:0.0.0.0"),
        ("::1.2.3.4", "::102:304", "::1.2.3.4"),                  // IPv4-compatible: the one difference
        ("::1.2.0.0", "::102:0", "::1.2.0.0"),
        ("::0.0.1.2", "::102", "::102"),                          // seven zero groups: no dotted tail
        ("::fffe:1.2.3.4", "::fffe:102:304", "::fffe:102:304"),
        ("0:0:0:0:1:ffff:1.2.3.4", "::1:ffff:102:304", "::1:ffff:102:304"),
        ("1:0:0:0:0:ffff:1.2.3.4", "1::ffff:102:304", "1::ffff:102:304"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", "2001:db8::1:0:0:1"),   // first run wins on ties
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1", "2001:0:0:1::1"),             // the longest run wins
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"), // one zero group stays
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"),
        ("FE80::ABCD", "fe80::abcd", "fe80::abcd"),
        ("10.88.0.2", "10.88.0.2", "10.88.0.2"),
        ("0.0.0.0", "0.0.0.0", "0.0.0.0"),
    ])
    func forms(_ text: String, _ rfc5952: String, _ inetNtop: String) throws {
        let ip = try #require(IPAddress(text))
        #expect(ip.text(.rfc5952) == rfc5952)
        #expect(ip.description == rfc5952)
        #expect(ip.text(.inetNtop) == inetNtop)
        #expect(ip.text(.inetNtop) == Self.glibcText(ip.bytes))
        #expect(IPAddress(rfc5952) == ip && IPAddress(inetNtop) == ip)
    }

    @Test func networkForms() throws {
        let net = try #require(IPNetwork("::1.2.3.4/96"))
        #expect(net.description == "::102:304/96")
        #expect(net.text(.inetNtop) == "::1.2.3.4/96")
        #expect(IPNetwork("10.88.0.2/24")?.text(.inetNtop) == "10.88.0.2/24")
    }

    /// Every address made of the groups 0, 1, 0x102 and 0xffff (4^8): zero runs of every length and
    /// place, ties, mapped and compatible tails. `.inetNtop` must be glibc's text, byte for byte.
    @Test func inetNtopIsGlibc() throws {
        let values: [UInt16] = [0, 1, 0x102, 0xffff]
        var mismatches: [String] = []
        for n in 0..<(1 << 16) {
            var bytes: [UInt8] = []
            for g in 0..<8 {
                let v = values[(n >> (2 * g)) & 3]
                bytes += [UInt8(v >> 8), UInt8(v & 0xff)]
            }
            let ip = try #require(IPAddress(bytes: bytes))
            let glibc = Self.glibcText(bytes)
            if ip.text(.inetNtop) != glibc { mismatches.append("\(ip.text(.inetNtop)) != \(glibc)") }
            if IPAddress(glibc) != ip { mismatches.append("parse \(glibc)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    /// Our parser takes what inet_pton(3) takes (Netlink parsed with it before).
    @Test(arguments: [
        "1.2.3.4", "0.0.0.0", "255.255.255.255", "::", "::1", "1::", "1:2:3:4:5:6:7:8", "1::8", "::ffff:1.2.3.4",
        "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1::1.2.3.4", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "ABCD:ef01::",
        "0001:0002::", "", "1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1", "1.2.3.-1", "1.2.3.+4", " 1.2.3.4",
        "1.2.3.4 ", "a.b.c.d", "1..2.3", "1::2::3", ":::", ":", "1:2", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::",
        "12345::", "g::", "+f::", "::-0", "::1%eth0", ":1::", "1:", "::ffff:01.2.3.4", "::1.2.3", ":1.2.3.4",
        "1:2:3:4:5:6:7:1.2.3.4", "1.2.3.4::", "::1.2.3.4:5", "fe80::1/64", "::ffff:1.2.3.4.5", "1:2:3:4:5:6:7:8:",
        ":1:2:3:4:5:6:7:8", "1::2:3:4:5:6:7:8", "::0:0:0:0:0:0:0", "::0:0:0:0:0:0:0:0",
    ])
    func parsesAsInetPton(_ text: String) {
        #expect(IPAddress(text)?.bytes == Self.glibcParse(text), "\(text)")
    }

    static func glibcText(_ bytes: [UInt8]) -> String {
        var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &out, socklen_t(out.count)) }
        guard ok != nil else { return "?" }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func glibcParse(_ text: String) -> [UInt8]? {
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, text, &v4) == 1 { return v4 }
        var v6 = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET6, text, &v6) == 1 { return v6 }
        return nil
    }
}
