import Glibc
import IP
import Netlink
import Testing
@testable import NetstatInspect

/// Reports from a snapshot built in code.
@Suite struct ReportTests {
    static func ip(_ s: String) -> IPAddress { IPAddress(s) ?? IPAddress(bytes: [0, 0, 0, 0])! }

    static let snapshot: NetworkSnapshot = {
        var stats = LinkStatistics()
        stats.stats.rx_packets = 10; stats.stats.tx_packets = 20; stats.stats.rx_bytes = 1000
        stats.stats.tx_bytes = 2000; stats.stats.rx_dropped = 1
        let links = [
            Link(index: 1, name: "lo", hardwareType: 772, flags: 0x9, hardwareAddress: [0, 0, 0, 0, 0, 0],
                 mtu: 65536, statistics: stats),
            Link(index: 2, name: "eth0", flags: 0x1003, hardwareAddress: [0x0a, 0, 0, 0, 0, 2], mtu: 1500,
                 operState: .up, kind: "veth", statistics: stats),
            Link(index: 3, name: "eth1", flags: 0x1003, hardwareAddress: [0x0a, 0, 0, 0, 0, 3], mtu: 9000,
                 operState: .up, kind: "veth", statistics: stats + stats),
        ]
        let addresses = [
            InterfaceAddress(interfaceIndex: 1, address: ip("127.0.0.1"), prefixLength: 8, scope: 254),
            InterfaceAddress(interfaceIndex: 2, address: ip("10.88.0.2"), prefixLength: 24),
            InterfaceAddress(interfaceIndex: 2, address: ip("fd00:88::2"), prefixLength: 64),
            InterfaceAddress(interfaceIndex: 2, address: ip("fe80::8:2"), prefixLength: 64, scope: 253),
            InterfaceAddress(interfaceIndex: 3, address: ip("192.168.7.5"), prefixLength: 24),
        ]
        let routes = [
            Route(family: AF_INET, gateway: ip("10.88.0.1"), outputInterface: 2),
            Route(family: AF_INET6, gateway: ip("fd00:88::1"), outputInterface: 2, priority: 1024),
            Route(family: AF_INET, destination: IPNetwork("10.88.0.0/24"), outputInterface: 2),
        ]
        return NetworkSnapshot(links: links, addresses: addresses, routes: routes)
    }()

    @Test func inspectJSONIsPodmanShaped() throws {
        let report = try InspectReport(snapshot: Self.snapshot, netns: "/x")
        #expect(report.json.encoded() == """
            {"interfaces":{"eth0":{"subnets":[{"ipnet":"10.88.0.2/24","gateway":"10.88.0.1"},\
            {"ipnet":"fd00:88::2/64","gateway":"fd00:88::1"}],"mac_address":"0a:00:00:00:00:02","mtu":1500},\
            "eth1":{"subnets":[{"ipnet":"192.168.7.5/24"}],"mac_address":"0a:00:00:00:00:03","mtu":9000}}}
            """)
    }

    @Test func inspectTable() throws {
        let report = try InspectReport(snapshot: Self.snapshot, only: ["eth1"], netns: "/x")
        #expect(report.table == """
            INTERFACE  MAC                MTU   STATE  KIND  SUBNET          GATEWAY
            eth1       0a:00:00:00:00:03  9000  UP     veth  192.168.7.5/24  -

            """)
    }

    @Test func gatewayOnlyInsideTheSubnet() {
        var snapshot = Self.snapshot
        snapshot.routes = [Route(family: AF_INET, gateway: Self.ip("172.16.0.1"), outputInterface: 2)]
        let eth0 = snapshot.links[1]
        #expect(snapshot.gateway(for: IPNetwork("10.88.0.2/24")!, on: eth0) == nil)
        #expect(snapshot.gateway(for: IPNetwork("172.16.0.9/16")!, on: eth0) == Self.ip("172.16.0.1"))
    }

    @Test func missingInterfaceIsAnError() {
        #expect(throws: InspectError.interfaceNotFound(name: "eth9", netns: "/x")) {
            try StatsReport(snapshot: Self.snapshot, only: ["eth9"], netns: "/x")
        }
        #expect(throws: InspectError.interfaceNotFound(name: "eth9", netns: "/x")) {
            try InspectReport(snapshot: Self.snapshot, only: ["eth9"], netns: "/x")
        }
    }

    @Test func statsPerInterfaceAndTotal() throws {
        let report = try StatsReport(snapshot: Self.snapshot, netns: "/x")
        #expect(report.interfaces.map(\.name) == ["eth0", "eth1"])
        #expect(report.total.rxPackets == 30)
        #expect(report.total.txBytes == 6000)
        let json = report.json
        #expect(json["interfaces"]?["eth1"]?["rx_dropped"] == .int(2))
        #expect(json["total"]?["rx_otherhost_dropped"] == .int(0))
        #expect(json["total"]?.objectValue?.count == 25)
        #expect(report.table.split(separator: "\n").last == "total      3000      30          0          3           6000      60          0          0")
    }

    @Test func statsOfChosenInterfacesInGivenOrder() throws {
        let report = try StatsReport(snapshot: Self.snapshot, only: ["eth1", "lo", "eth1"], netns: "/x")
        #expect(report.interfaces.map(\.name) == ["eth1", "lo"])
    }
}
