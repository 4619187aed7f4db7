import CNetlinkShim

/// `struct rtnl_link_stats64` (IFLA_STATS64): every 64-bit counter, kernel field names.
public struct LinkStatistics: Sendable, Equatable {
    public var stats: rtnl_link_stats64

    public init(_ stats: rtnl_link_stats64 = rtnl_link_stats64()) { self.stats = stats }

    /// Decodes the attribute payload. Older kernels send a shorter struct (fields are only ever
    /// appended); missing trailing counters stay zero, extra bytes from newer kernels are ignored.
    init(_ payload: [UInt8]) {
        self.init(payload.withUnsafeBytes { LinkStatistics.decode($0) })
    }

    /// The same, straight from the IFLA_STATS64 attribute (no copy of the payload first).
    init(_ attr: UnsafePointer<nlattr>) {
        self.init(LinkStatistics.decode(attributePayload(attr)))
    }

    static func decode(_ src: UnsafeRawBufferPointer) -> rtnl_link_stats64 {
        var value = rtnl_link_stats64()
        withUnsafeMutableBytes(of: &value) { dst in
            let n = min(dst.count, src.count)
            if n > 0, let s = src.baseAddress, let d = dst.baseAddress { d.copyMemory(from: s, byteCount: n) }
        }
        return value
    }

    public var rxPackets: UInt64 { stats.rx_packets }
    public var txPackets: UInt64 { stats.tx_packets }
    public var rxBytes: UInt64 { stats.rx_bytes }
    public var txBytes: UInt64 { stats.tx_bytes }
    public var rxErrors: UInt64 { stats.rx_errors }
    public var txErrors: UInt64 { stats.tx_errors }
    public var rxDropped: UInt64 { stats.rx_dropped }
    public var txDropped: UInt64 { stats.tx_dropped }

    /// The kernel field names of `counters`, in the same order.
    public static let counterNames: [String] = LinkStatistics().counters.map(\.name)

    /// The values of `counters`, in the same order, without building the array: `counters` lists
    /// the struct's leading 64-bit fields in order (LinkStatisticsTests checks they agree).
    public func forEachCounterValue(_ body: (UInt64) -> Void) {
        withUnsafeBytes(of: stats) { raw in
            for i in 0..<Self.counterNames.count where (i + 1) * 8 <= raw.count {
                body(raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
            }
        }
    }

    /// All counters as (kernel field name, value), in struct order.
    public var counters: [(name: String, value: UInt64)] {
        let s = stats
        return [
            ("rx_packets", s.rx_packets), ("tx_packets", s.tx_packets),
            ("rx_bytes", s.rx_bytes), ("tx_bytes", s.tx_bytes),
            ("rx_errors", s.rx_errors), ("tx_errors", s.tx_errors),
            ("rx_dropped", s.rx_dropped), ("tx_dropped", s.tx_dropped),
            ("multicast", s.multicast), ("collisions", s.collisions),
            ("rx_length_errors", s.rx_length_errors), ("rx_over_errors", s.rx_over_errors),
            ("rx_crc_errors", s.rx_crc_errors), ("rx_frame_errors", s.rx_frame_errors),
            ("rx_fifo_errors", s.rx_fifo_errors), ("rx_missed_errors", s.rx_missed_errors),
            ("tx_aborted_errors", s.tx_aborted_errors), ("tx_carrier_errors", s.tx_carrier_errors),
            ("tx_fifo_errors", s.tx_fifo_errors), ("tx_heartbeat_errors", s.tx_heartbeat_errors),
            ("tx_window_errors", s.tx_window_errors),
            ("rx_compressed", s.rx_compressed), ("tx_compressed", s.tx_compressed),
            ("rx_nohandler", s.rx_nohandler), ("rx_otherhost_dropped", s.rx_otherhost_dropped),
        ]
    }

    /// Counter-wise sum (wrapping, like the kernel's own counters).
    public static func + (a: LinkStatistics, b: LinkStatistics) -> LinkStatistics {
        var r = rtnl_link_stats64()
        withUnsafeMutableBytes(of: &r) { out in
            withUnsafeBytes(of: a.stats) { x in
                withUnsafeBytes(of: b.stats) { y in
                    let n = out.count / 8
                    for i in 0..<n {
                        let v = x.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                            &+ y.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                        out.storeBytes(of: v, toByteOffset: i * 8, as: UInt64.self)
                    }
                }
            }
        }
        return LinkStatistics(r)
    }

    public static func == (a: LinkStatistics, b: LinkStatistics) -> Bool {
        a.counters.map(\.value) == b.counters.map(\.value)
    }
}
