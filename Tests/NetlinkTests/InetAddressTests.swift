import Testing
@testable import Netlink

@Suite struct InetAddressTests {
    @Test func parsesAndPrints() throws {
        #expect(InetAddress("10.88.0.2")?.bytes == [10, 88, 0, 2])
        #expect(InetAddress("fd00::1")?.description == "fd00::1")
        #expect(InetAddress("10.88.0") == nil)
        #expect(InetAddress(bytes: [1, 2, 3]) == nil)
    }

    @Test func prefixContainment() throws {
        let p = try #require(InetPrefix("10.88.0.2/24"))
        #expect(p.contains(try #require(InetAddress("10.88.0.1"))))
        #expect(!p.contains(try #require(InetAddress("10.88.1.1"))))
        #expect(!p.contains(try #require(InetAddress("fd00::1"))))
        let odd = try #require(InetPrefix("10.0.0.0/13"))
        #expect(odd.contains(try #require(InetAddress("10.7.255.255"))))
        #expect(!odd.contains(try #require(InetAddress("10.8.0.0"))))
        #expect(InetPrefix("10.0.0.0/33") == nil)
    }

    @Test func linkLocal() {
        #expect(InetAddress("fe80::1")?.isLinkLocal == true)
        #expect(InetAddress("169.254.3.4")?.isLinkLocal == true)
        #expect(InetAddress("fd00::1")?.isLinkLocal == false)
        #expect(InetAddress("10.0.0.1")?.isLinkLocal == false)
    }
}
