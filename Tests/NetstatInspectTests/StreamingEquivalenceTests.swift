import Glibc
import IP
import JSON
import Netlink
import Testing
@testable import NetstatInspect

/// The reports stream their JSON; these hold the streamed text to the bytes the tree encoding
/// gives (`json.encoded(pretty: true)`, itself held to jansson's json_dumps in JSONTests), on the
/// code-built snapshot and on a synthetic 1000-interface namespace.
@Suite struct StreamingEquivalenceTests {
    static func bigSnapshot(_ count: Int) -> NetworkSnapshot {
        var links: [Link] = []
        var addresses: [InterfaceAddress] = []
        for i in 0..<count {
            var stats = LinkStatistics()
            stats.stats.rx_packets = UInt64(i) * 3; stats.stats.tx_bytes = UInt64(i) << 33
            stats.stats.rx_bytes = UInt64.max - UInt64(i)  // beyond Int64: clamped in JSON, as before
            stats.stats.rx_otherhost_dropped = UInt64(i % 7)
            let index = Int32(i + 1)
            links.append(Link(index: index, name: i == 0 ? "lo" : "rb\(i)", flags: i == 0 ? 0x9 : 0x1003,
                              hardwareAddress: i % 5 == 0 ? [] : [2, 0, 0, UInt8(i >> 16 & 0xff), UInt8(i >> 8 & 0xff), UInt8(i & 0xff)],
                              mtu: i % 11 == 0 ? nil : 1500, operState: .up, kind: "ifb",
                              statistics: i % 13 == 0 ? nil : stats))
            if let a = IPAddress(bytes: [10, 200, UInt8(i >> 8 & 0xff), UInt8(i & 0xff)]) {
                addresses.append(InterfaceAddress(interfaceIndex: index, address: a, prefixLength: i % 3 == 0 ? 32 : 24))
            }
        }
        let routes = [Route(family: AF_INET, gateway: IPAddress("10.200.0.1"), outputInterface: 2)]
        return NetworkSnapshot(links: links, addresses: addresses, routes: routes)
    }

    @Test(arguments: [1, 2, 100, 1000])
    func statsStreamMatchesTree(count: Int) throws {
        let report = try StatsReport(snapshot: Self.bigSnapshot(count), netns: "/x")
        #expect(report.jsonText == report.json.encoded(pretty: true) + "\n")
    }

    @Test(arguments: [1, 2, 100, 1000])
    func inspectStreamMatchesTree(count: Int) throws {
        let report = try InspectReport(snapshot: Self.bigSnapshot(count), netns: "/x")
        #expect(report.jsonText == report.json.encoded(pretty: true) + "\n")
    }

    @Test func codeBuiltSnapshotAndSelections() throws {
        let snapshot = ReportTests.snapshot
        for only in [nil, ["eth1", "lo"], ["eth0", "eth0"]] as [[String]?] {
            let stats = try StatsReport(snapshot: snapshot, only: only, netns: "/x")
            #expect(stats.jsonText == stats.json.encoded(pretty: true) + "\n")
        }
        let inspect = try InspectReport(snapshot: snapshot, only: ["eth1", "eth0"], netns: "/x")
        #expect(inspect.jsonText == inspect.json.encoded(pretty: true) + "\n")
    }

    /// The command's output over the recorded fixtures is the tree encoding too.
    @Test func recordedNamespaceOutputs() throws {
        let replay = CommandTests.replay(["recorded-links.hex", "recorded-addresses.hex", "recorded-routes.hex"])
        let out = NetstatInspect.run(["inspect", "--netns", "/run/netns/fixture"], openNetlink: replay)
        let snapshot = try NetworkSnapshot(netlink: replay("/run/netns/fixture"))
        #expect(out.stdout == (try InspectReport(snapshot: snapshot, netns: "/x")).json.encoded(pretty: true) + "\n")
        let stats = NetstatInspect.run(["stats", "--netns", "/n"], openNetlink: CommandTests.replay(["recorded-links.hex"]))
        let links = try NetworkSnapshot(netlink: CommandTests.replay(["recorded-links.hex"])("/n"), withAddressesAndRoutes: false)
        #expect(stats.stdout == (try StatsReport(snapshot: links, netns: "/n")).json.encoded(pretty: true) + "\n")
    }
}
