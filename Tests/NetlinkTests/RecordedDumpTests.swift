import Glibc
import Testing
@testable import Netlink
import NetlinkTestSupport

/// Real kernel replies captured by Fixtures/record.sh (namespace layout in Fixtures/README.md).
@Suite struct RecordedDumpTests {
    static func replay(_ name: String) throws -> (RouteNetlink, RecordedNetlinkSocket) {
        let socket = try HexFixture.load(name).socket()
        return (RouteNetlink(socket: socket, firstSequence: 1), socket)
    }

    /// The requests the kernel accepted when recording, from the fixture's header comment.
    static func recordedRequests(_ name: String) throws -> [[UInt8]] {
        let text = try readText(HexFixture.directory + "/" + name)
        let marker = "# Requests sent (hex, in order): "
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(marker) }) else { return [] }
        return try line.dropFirst(marker.count).split(separator: " ").map { try parseHex(String($0)) }
    }

    @Test func links() throws {
        let (nl, socket) = try Self.replay("recorded-links.hex")
        let links = try nl.dumpLinks()
        #expect(socket.remainingReplies == 0)
        #expect(socket.sent == (try Self.recordedRequests("recorded-links.hex")))
        #expect(Set(links.map(\.name)) == ["lo", "veth0", "veth1", "br0"])
        let lo = try #require(links.first { $0.name == "lo" })
        #expect(lo.isLoopback && lo.index == 1)
        let veth0 = try #require(links.first { $0.name == "veth0" })
        #expect(veth0.macAddress == "02:00:00:00:00:01")
        #expect(veth0.mtu == 1400)
        #expect(veth0.kind == "veth")
        #expect(veth0.flagNames.contains("UP"))
        let veth1 = try #require(links.first { $0.name == "veth1" })
        let br0 = try #require(links.first { $0.name == "br0" })
        #expect(veth1.masterIndex == br0.index)
        #expect(br0.kind == "bridge")
        #expect(br0.macAddress == "02:00:00:00:00:10")
        let stats = try #require(lo.statistics)
        #expect(stats.rxPackets >= 6 && stats.rxPackets == stats.txPackets)
        #expect(stats.rxBytes == stats.txBytes && stats.rxBytes > 0)
    }

    @Test func addresses() throws {
        let (nl, socket) = try Self.replay("recorded-addresses.hex")
        let addresses = try nl.dumpAddresses()
        #expect(socket.remainingReplies == 0)
        #expect(socket.sent == (try Self.recordedRequests("recorded-addresses.hex")))
        let cidrs = addresses.map(\.cidr)
        for expected in ["127.0.0.1/8", "10.77.0.2/24", "10.77.0.1/24", "::1/128", "fd77::2/64"] {
            #expect(cidrs.contains(expected), "\(expected) in \(cidrs)")
        }
        let v6 = try #require(addresses.first { $0.cidr == "fd77::2/64" })
        #expect(v6.scopeName == "global")
        #expect(v6.flagNames.contains("nodad") && v6.flagNames.contains("permanent"))
        #expect(addresses.first { $0.cidr == "127.0.0.1/8" }?.scopeName == "host")
        #expect(addresses.contains { $0.address.isLinkLocalUnicast && $0.scopeName == "link" })
    }

    @Test func routes() throws {
        let (nl, socket) = try Self.replay("recorded-routes.hex")
        let routes = try nl.dumpRoutes()
        #expect(socket.remainingReplies == 0)
        #expect(socket.sent == (try Self.recordedRequests("recorded-routes.hex")))
        #expect(routes.allSatisfy { $0.table == RouteTable.main })
        let v4 = routes.filter { $0.family == AF_INET && $0.isDefault }
        #expect(v4.map { $0.gateway?.description } == ["10.77.0.1"])
        let v6 = routes.filter { $0.family == AF_INET6 && $0.isDefault }
        #expect(v6.map { $0.gateway?.description } == ["fd77::1"])
        #expect(v6.first?.priority == 100)
        let static4 = routes.first { $0.destination?.description == "192.168.50.0/24" }
        #expect(static4?.gateway?.description == "10.77.0.3")
    }
}
