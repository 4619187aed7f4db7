import Testing
import IP

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("0.0.0.0", "0.0.0.0"), ("10.88.0.2", "10.88.0.2"), ("255.255.255.255", "255.255.255.255"),
        ("::", "::"), ("::1", "::1"), ("fd00::3", "fd00::3"), ("FD00:0:0:0:0:0:0:3", "fd00::3"),
        ("::ffff:1.2.3.4", "::ffff:1.2.3.4"), ("::FFFF:102:304", "::ffff:1.2.3.4"),
        ("2001:db8::1", "2001:db8::1"), ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),        // a single zero group is not "::"
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),                  // the longest run wins
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),            // first run wins on ties
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"), ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
        ("1::", "1::"), ("fe80::1", "fe80::1"), ("::1.2.3.4", "::102:304"),
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"), ("ABCD:EF01::", "abcd:ef01::"),
    ])
    func parseAndPrint(_ text: String, _ printed: String) throws {
        let ip = try #require(IPAddress(text))
        #expect(ip.description == printed)
        #expect(IPAddress(printed) == ip)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "256.1.1.1", "1.2.3.-1", "1.2.3.+4", " 1.2.3.4",
        "1.2.3.4 ", "a.b.c.d", "1..2.3", "1::2::3", ":::", ":", "1:2", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::",
        "12345::", "g::", "+f::", "::-0", "::1%eth0", ":1::", "1:", "::ffff:01.2.3.4", "::1.2.3",
        "1:2:3:4:5:6:7:1.2.3.4", "1.2.3.4::", "::1.2.3.4:5", "fe80::1/64", "١.٢.٣.٤",
    ])
    func invalid(_ text: String) {
        #expect(IPAddress(text) == nil, "\(text)")
    }

    @Test func bytesAndFlags() throws {
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
        #expect(IPAddress(bytes: [10, 0, 0, 1])?.description == "10.0.0.1")
        #expect(try #require(IPAddress("10.0.0.1")).isIPv4)
        #expect(try !#require(IPAddress("::1")).isIPv4)
        #expect(try #require(IPAddress("127.1.2.3")).isLoopback)
        #expect(try #require(IPAddress("::1")).isLoopback)
        #expect(try !#require(IPAddress("::2")).isLoopback)
        #expect(try #require(IPAddress("169.254.1.1")).isLinkLocalUnicast)
        #expect(try #require(IPAddress("fe80::1")).isLinkLocalUnicast)
        #expect(try #require(IPAddress("febf::1")).isLinkLocalUnicast)
        #expect(try !#require(IPAddress("fec0::1")).isLinkLocalUnicast)
        #expect(try !#require(IPAddress("::ffff:169.254.1.1")).isLinkLocalUnicast)   // by bytes, as before
        #expect(try !#require(IPAddress("fd00::1")).isLinkLocalUnicast)
        #expect(try !#require(IPAddress("10.0.0.1")).isLinkLocalUnicast)
        #expect(try !#require(IPAddress("224.0.0.251")).isLinkLocalUnicast)
        #expect(try #require(IPAddress("224.0.0.251")).isLinkLocalMulticast)
        #expect(try !#require(IPAddress("224.0.1.1")).isLinkLocalMulticast)
        #expect(try #require(IPAddress("ff02::fb")).isLinkLocalMulticast)
        #expect(try #require(IPAddress("ff12::1")).isLinkLocalMulticast)
        #expect(try !#require(IPAddress("ff05::2")).isLinkLocalMulticast)
        #expect(try !#require(IPAddress("fe80::1")).isLinkLocalMulticast)
        #expect(try !#require(IPAddress("169.254.3.4")).isLinkLocalMulticast)
        #expect(try #require(IPAddress("0.0.0.0")).isUnspecified)
        #expect(try #require(IPAddress("::")).isUnspecified)
        #expect(try #require(IPAddress("::ffff:10.0.0.1")).isIPv4Mapped)
        #expect(try !#require(IPAddress("::fffe:10.0.0.1")).isIPv4Mapped)
    }
}

@Suite struct IPNetworkTests {
    @Test func parsing() throws {
        let n = try #require(IPNetwork("10.88.0.2/24"))
        #expect(n.address.description == "10.88.0.2")   // host bits kept, as Go's ParseCIDR IP
        #expect(n.prefixLength == 24)
        #expect(n.description == "10.88.0.2/24")
        #expect(n.network.description == "10.88.0.0/24")
        #expect(IPNetwork("fd00::5/64")?.network.description == "fd00::/64")
        #expect(IPNetwork("0.0.0.0/0")?.network.description == "0.0.0.0/0")
        #expect(IPNetwork("::/0")?.description == "::/0")
        #expect(IPNetwork("1.2.3.4/32")?.network.description == "1.2.3.4/32")
        #expect(IPNetwork("::1/128")?.prefixLength == 128)
        #expect(IPNetwork("10.1.2.3/13")?.network.description == "10.0.0.0/13")
        for bad in ["10.0.0.1", "10.0.0.1/", "/24", "10.0.0.1/33", "::/129", "10.0.0.1/-1", "10.0.0.1/+8",
                    "10.0.0.1/24/1", "10.0.0/24", "10.0.0.1/1000", "10.0.0.1/a"] {
            #expect(IPNetwork(bad) == nil, "\(bad)")
        }
        #expect(IPNetwork(address: IPAddress("::1")!, prefixLength: 129) == nil)
        #expect(IPNetwork(address: IPAddress("1.1.1.1")!, prefixLength: 32) != nil)
    }

    @Test func contains() throws {
        let n = try #require(IPNetwork("10.88.0.0/16"))
        #expect(n.contains(IPAddress("10.88.255.255")!))
        #expect(n.contains(IPAddress("10.88.0.0")!))
        #expect(!n.contains(IPAddress("10.89.0.1")!))
        #expect(!n.contains(IPAddress("::ffff:10.88.0.1")!))   // other family
        let v6 = try #require(IPNetwork("fd00::1/64"))
        #expect(v6.contains(IPAddress("fd00::ffff:1")!))
        #expect(!v6.contains(IPAddress("fd00:0:0:1::1")!))
        #expect(!v6.contains(IPAddress("10.0.0.1")!))
        #expect(IPNetwork("0.0.0.0/0")!.contains(IPAddress("8.8.8.8")!))
        #expect(IPNetwork("10.0.0.1/32")!.contains(IPAddress("10.0.0.1")!))
        #expect(!IPNetwork("10.0.0.1/32")!.contains(IPAddress("10.0.0.2")!))
        let odd = try #require(IPNetwork("10.0.0.0/13"))
        #expect(odd.contains(IPAddress("10.7.255.255")!))
        #expect(!odd.contains(IPAddress("10.8.0.0")!))
        #expect(IPNetwork("10.88.0.2/24")!.contains(IPAddress("10.88.0.1")!))   // host bits of the network ignored
        #expect(IPNetwork("::/0")!.contains(IPAddress("fd00::1")!))
        #expect(!IPNetwork("::/0")!.contains(IPAddress("0.0.0.0")!))
    }

    @Test func hosts() throws {
        let n = try #require(IPNetwork("10.0.2.100/24"))
        #expect(n.host(0)?.description == "10.0.2.0")
        #expect(n.host(2)?.description == "10.0.2.2")
        #expect(n.host(3)?.description == "10.0.2.3")
        #expect(n.host(100)?.description == "10.0.2.100")
        #expect(n.host(255)?.description == "10.0.2.255")
        #expect(n.host(256) == nil)
        #expect(IPNetwork("10.0.0.0/16")?.host(256)?.description == "10.0.1.0")
        #expect(IPNetwork("10.0.0.0/8")?.host(0x00ff_ffff)?.description == "10.255.255.255")
        #expect(IPNetwork("10.0.0.0/8")?.host(0x0100_0000) == nil)
        #expect(IPNetwork("255.255.255.0/24")?.host(256) == nil)  // would overflow the address
        #expect(IPNetwork("1.2.3.4/32")?.host(0)?.description == "1.2.3.4")
        #expect(IPNetwork("1.2.3.4/32")?.host(1) == nil)
        #expect(IPNetwork("fd00::/64")?.host(2)?.description == "fd00::2")
        #expect(IPNetwork("fd00::/64")?.host(UInt32.max)?.description == "fd00::ffff:ffff")
        #expect(IPNetwork("fd00::/120")?.host(256) == nil)
        #expect(IPNetwork("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120")?.host(300) == nil)
    }
}
