import Testing
@testable import RootlessNetns

@Suite struct ResolvConfTests {
    let helper = ["10.0.2.3"]

    func servers(_ host: String, upstream: String? = nil, ipv6: Bool = false) -> [String] {
        ResolvConf.usableHostServers(ResolvConf.parse(host), systemdUpstream: upstream.map(ResolvConf.parse),
                                     enableIPv6: ipv6)
    }

    func nameserverLines(_ text: String) -> [String] {
        text.split(separator: "\n").filter { $0.hasPrefix("nameserver ") }.map { String($0.dropFirst("nameserver ".count)) }
    }

    @Test func parseKeepsEverything() {
        let p = ResolvConf.parse("""
            # comment line
            ; another comment
            nameserver 192.168.1.1
            nameserver\t8.8.8.8   # trailing comment
            search example.com corp.example
            options ndots:2 edns0
            options rotate
            unknown directive
            """)
        #expect(p.nameservers == ["192.168.1.1", "8.8.8.8"])
        #expect(p.search == ["example.com", "corp.example"])
        #expect(p.domain == nil)
        #expect(p.options == ["ndots:2", "edns0", "rotate"])
    }

    @Test func parseBlankLinesAndIndentation() {
        let p = ResolvConf.parse("nameserver 1.1.1.1\n\n  nameserver 1.0.0.1  \n\t\n")
        #expect(p.nameservers == ["1.1.1.1", "1.0.0.1"])
    }

    @Test func commentedOutNameserverIgnored() {
        let p = ResolvConf.parse("#nameserver 9.9.9.9\n;nameserver 8.8.4.4\nnameserver 1.1.1.1\nnameserver\n")
        #expect(p.nameservers == ["1.1.1.1"])
    }

    @Test func lastSearchOrDomainWins() {
        var p = ResolvConf.parse("search a.example b.example\ndomain d.example\n")
        #expect(p.domain == "d.example")
        #expect(p.search.isEmpty)
        p = ResolvConf.parse("domain d.example\nsearch a.example\n")
        #expect(p.domain == nil)
        #expect(p.search == ["a.example"])
        p = ResolvConf.parse("search a.example\nsearch b.example c.example\n")
        #expect(p.search == ["b.example", "c.example"])
    }

    @Test func loopbackServersDropped() {
        #expect(servers("nameserver 127.0.0.1\nnameserver 127.0.1.1\nnameserver ::1\nnameserver 192.168.1.1\n",
                        ipv6: true) == ["192.168.1.1"])
    }

    @Test func unparsableAndUnspecifiedDropped() {
        #expect(servers("nameserver dns.example\nnameserver 0.0.0.0\nnameserver ::\nnameserver 9.9.9.9\n",
                        ipv6: true) == ["9.9.9.9"])
    }

    @Test func systemdStubReplacedByUpstreams() {
        let upstream = "# systemd\nnameserver 192.168.178.1\nnameserver 2001:db8::53\nsearch fritz.box\n"
        #expect(servers("nameserver 127.0.0.53\noptions edns0 trust-ad\n", upstream: upstream)
                == ["192.168.178.1"])
        #expect(servers("nameserver 127.0.0.53\n", upstream: upstream, ipv6: true)
                == ["192.168.178.1", "2001:db8::53"])
    }

    @Test func systemdStubDroppedWithoutUpstream() {
        #expect(servers("nameserver 127.0.0.53\n").isEmpty)
        #expect(servers("nameserver 127.0.0.53\nnameserver 8.8.8.8\n") == ["8.8.8.8"])
    }

    @Test func ipv6OnlyWithEnableIPv6() {
        let host = "nameserver 2001:4860:4860::8888\nnameserver 8.8.8.8\n"
        #expect(servers(host) == ["8.8.8.8"])
        #expect(servers(host, ipv6: true) == ["2001:4860:4860::8888", "8.8.8.8"])
    }

    @Test func linkLocalV6Dropped() {
        #expect(servers("nameserver fe80::1\nnameserver fe80::1%eth0\nnameserver 2001:db8::1\n", ipv6: true)
                == ["2001:db8::1"])
    }

    @Test func duplicatesRemoved() {
        #expect(servers("nameserver 8.8.8.8\nnameserver 8.8.8.8\nnameserver 2001:db8:0::1\nnameserver 2001:db8::1\n",
                        ipv6: true) == ["8.8.8.8", "2001:db8::1"])
        // The stub's upstream duplicates a server listed directly.
        #expect(servers("nameserver 127.0.0.53\nnameserver 1.1.1.1\n", upstream: "nameserver 1.1.1.1\n") == ["1.1.1.1"])
    }

    @Test func renderHelperFirstThenHost() {
        let host = ResolvConf.parse("""
            nameserver 127.0.0.53
            nameserver 10.0.2.3
            search example.com
            options ndots:5
            """)
        let upstream = ResolvConf.parse("nameserver 192.168.1.1\nnameserver 127.0.0.1\n")
        let text = ResolvConf.render(helperServers: helper, host: host, systemdUpstream: upstream, enableIPv6: false)
        #expect(nameserverLines(text) == ["10.0.2.3", "192.168.1.1"])
        #expect(text.contains("search example.com\n"))
        #expect(text.contains("options ndots:5\n"))
        #expect(!text.contains("domain "))
        #expect(text.hasPrefix("#"))
        // Round trip: what we write parses back to what we meant.
        let back = ResolvConf.parse(text)
        #expect(back.nameservers == ["10.0.2.3", "192.168.1.1"])
        #expect(back.search == ["example.com"])
        #expect(back.options == ["ndots:5"])
    }

    @Test func renderDomainAndIPv6Helper() {
        let host = ResolvConf.parse("domain lan\nnameserver 2001:db8::1\n")
        let text = ResolvConf.render(helperServers: ["10.0.2.3", "fd00::3"], host: host, systemdUpstream: nil,
                                     enableIPv6: true)
        #expect(nameserverLines(text) == ["10.0.2.3", "fd00::3", "2001:db8::1"])
        #expect(text.contains("domain lan\n"))
        #expect(!text.contains("search"))
        #expect(!text.contains("options"))
    }

    @Test func renderEmptyHost() {
        let text = ResolvConf.render(helperServers: helper, host: ResolvConf.parse(""), systemdUpstream: nil,
                                     enableIPv6: false)
        #expect(nameserverLines(text) == ["10.0.2.3"])
    }

    @Test func renderWithoutHelperServers() {
        // pasta without --dns-forward: only the host's servers.
        let text = ResolvConf.render(helperServers: [], host: ResolvConf.parse("nameserver 9.9.9.9\n"),
                                     systemdUpstream: nil, enableIPv6: false)
        #expect(nameserverLines(text) == ["9.9.9.9"])
    }
}

/// Issue 10: glibc ends resolv.conf lines at "\n" only and splits fields on space and tab.
@Suite struct ResolvConfLineBreakTests {
    @Test func unicodeLineBreaksDoNotStartALine() {
        for sep in ["\u{2028}", "\u{0085}", "\u{2029}", "\u{000B}", "\u{000C}", "\r"] {
            let p = ResolvConf.parse("search example.com\(sep)nameserver 6.6.6.6\nnameserver 1.1.1.1\n")
            #expect(p.nameservers == ["1.1.1.1"], "separator U+\(String(sep.unicodeScalars.first!.value, radix: 16))")
            #expect(!p.nameservers.contains("6.6.6.6"))
        }
    }

    @Test func fieldsSplitOnSpaceAndTabOnly() {
        let p = ResolvConf.parse("nameserver\t1.1.1.1\nnameserver\u{00A0}6.6.6.6\noptions ndots:2\u{2003}x\n")
        #expect(p.nameservers == ["1.1.1.1"])
        #expect(p.options == ["ndots:2\u{2003}x"])
    }

    @Test func linesWithNULAreSkipped() {
        let p = ResolvConf.parse("nameserver 6.6.6.6\u{0}\nnameserver 1.1.1.1\n")
        #expect(p.nameservers == ["1.1.1.1"])
    }
}
