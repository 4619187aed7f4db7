import Testing
@testable import Netlink

@Suite struct LinkStatisticsTests {
    /// forEachCounterValue walks the struct by offset; it must give `counters`' values in order.
    @Test func counterWalkMatchesNamedCounters() {
        var s = LinkStatistics()
        withUnsafeMutableBytes(of: &s.stats) { raw in
            for i in 0..<(raw.count / 8) { raw.storeBytes(of: UInt64(1000 + i), toByteOffset: i * 8, as: UInt64.self) }
        }
        var walked: [UInt64] = []
        s.forEachCounterValue { walked.append($0) }
        #expect(walked == s.counters.map(\.value))
        #expect(walked.count == 25)
        #expect(LinkStatistics.counterNames == s.counters.map(\.name))
    }
}
