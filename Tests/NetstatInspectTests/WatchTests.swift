import Netlink
import NetlinkTestSupport
import Testing
@testable import NetstatInspect

/// A clock that moves only when slept on, so the rate loop runs instantly and exactly.
final class FakeClock: WatchClock {
    var time: UInt64 = 1_000_000_000
    var sleeps: [UInt64] = []
    func now() -> UInt64 { time }
    func sleep(until deadline: UInt64) { sleeps.append(deadline); if deadline > time { time = deadline } }
}

@Suite struct WatchTests {
    /// One link dump per snapshot; eth0's rx_bytes grows by `step` each time.
    static func dumps(_ count: Int, step: UInt64) -> (String) throws(NetlinkError) -> RouteNetlink {
        var replies: [[UInt8]] = []
        for n in 0..<count {
            let seq = UInt32(n + 1)
            replies.append(Wire.link(seq: seq, index: 2, name: "eth0", mac: [2, 0, 0, 0, 0, 1], mtu: 1500,
                                     rxBytes: UInt64(n) * step, txPackets: UInt64(n) * 10) + Wire.done(seq: seq))
        }
        let socket = RecordedNetlinkSocket(portID: 0, replies: replies)
        let netlink = RouteNetlink(socket: socket, firstSequence: 1)
        return { (_: String) throws(NetlinkError) in netlink }
    }

    @Test func ratesPerSecondForCountFrames() {
        let clock = FakeClock()
        var frames: [String] = []
        let out = NetstatInspect.run(["stats", "--netns", "/n", "--watch", "2", "--count", "3"],
                                     openNetlink: Self.dumps(4, step: 4096),
                                     context: RunContext(clock: clock, emit: { frames.append($0) }))
        #expect(out.exitCode == 0, "\(out.stderr)")
        #expect(out.stdout == "")
        #expect(frames.count == 3)
        #expect(clock.sleeps == [3_000_000_000, 5_000_000_000, 7_000_000_000])
        #expect(frames[0] == """
            INTERFACE  RX_BYTES/S  TX_BYTES/S  RX_PACKETS/S  TX_PACKETS/S  RX_DROPPED/S  TX_DROPPED/S
            eth0       2048        0           0             5             0             0
            total      2048        0           0             5             0             0

            """)
        #expect(frames[1].hasPrefix("\n"))
    }

    @Test func humanAndJSONFrames() {
        let human = NetstatInspect.run(["stats", "--netns", "/n", "--watch", "1", "--count", "1", "--human"],
                                       openNetlink: Self.dumps(2, step: 3 << 20), context: RunContext(clock: FakeClock()))
        #expect(human.stdout.contains("eth0       3.0MiB      0B          0             10"), "\(human.stdout)")
        let json = NetstatInspect.run(["stats", "--netns", "/n", "--watch", "0.5", "--count", "1", "--format", "json"],
                                      openNetlink: Self.dumps(2, step: 100), context: RunContext(clock: FakeClock()))
        #expect(json.stdout == #"{"interval_seconds":0.5,"per_second":{"eth0":{"rx_bytes":200.0,"tx_bytes":0.0,"rx_packets":0.0,"tx_packets":20.0,"rx_dropped":0.0,"tx_dropped":0.0}},"total_per_second":{"rx_bytes":200.0,"tx_bytes":0.0,"rx_packets":0.0,"tx_packets":20.0,"rx_dropped":0.0,"tx_dropped":0.0}}"# + "\n")
    }

    @Test func counterResetCountsFromZero() throws {
        var a = LinkStatistics(), b = LinkStatistics()
        a.stats.rx_bytes = 1000; b.stats.rx_bytes = 10
        let snapA = NetworkSnapshot(links: [Link(index: 2, name: "eth0", statistics: a)])
        let snapB = NetworkSnapshot(links: [Link(index: 2, name: "eth0", statistics: b)])
        let frame = RateFrame(previous: try StatsReport(snapshot: snapA, netns: "/n"),
                              current: try StatsReport(snapshot: snapB, netns: "/n"), seconds: 1)
        #expect(frame.rows[0].rxBytes == 10)
    }

    @Test func humanUnits() {
        #expect(HumanUnits.bytes(0) == "0B")
        #expect(HumanUnits.bytes(1023) == "1023B")
        #expect(HumanUnits.bytes(1536) == "1.5KiB")
        #expect(HumanUnits.bytes(5 * 1024 * 1024 * 1024) == "5.0GiB")
        #expect(HumanUnits.count(999) == "999")
        #expect(HumanUnits.count(1_250_000) == "1.2M" || HumanUnits.count(1_250_000) == "1.3M")
        #expect(HumanUnits.plain(2.25) == "2.3" || HumanUnits.plain(2.25) == "2.2")
    }

    @Test func humanStatsTable() throws {
        var s = LinkStatistics()
        s.stats.rx_bytes = 10 << 20; s.stats.rx_packets = 12_345
        let report = try StatsReport(snapshot: NetworkSnapshot(links: [Link(index: 2, name: "eth0", statistics: s)]), netns: "/n")
        #expect(report.table(human: true).contains("eth0       10.0MiB   12.3k"), "\(report.table(human: true))")
        #expect(report.table == report.table(human: false))
    }
}

extension Wire {
    static func le64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    /// The same link with IFLA_STATS64 (23): rx/tx packets, rx/tx bytes, the rest zero.
    static func link(seq: UInt32, index: UInt32, name: String, mac: [UInt8], mtu: UInt32,
                     rxBytes: UInt64, txPackets: UInt64) -> [UInt8] {
        let ifi: [UInt8] = [0, 0] + le16(1) + le32(index) + le32(0x1003) + le32(0)
        let stats = le64(0) + le64(txPackets) + le64(rxBytes) + le64(0) + [UInt8](repeating: 0, count: 8 * 20)
        return msg(16, seq: seq, ifi + attr(3, Array(name.utf8) + [0]) + attr(4, le32(mtu)) + attr(1, mac)
                   + attr(23, stats))
    }
}
