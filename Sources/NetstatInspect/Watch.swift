import JSON
import Netlink

/// The clock `--watch` runs on; tests inject one that only advances when slept on.
public protocol WatchClock {
    /// Monotonic nanoseconds.
    func now() -> UInt64
    func sleep(until deadline: UInt64)
}

/// `stats --watch`: per-second rates between consecutive snapshots, like `podman stats`.
struct RateFrame: Equatable {
    struct Row: Equatable {
        var name: String
        var rxBytes: Double, txBytes: Double, rxPackets: Double, txPackets: Double
        var rxDropped: Double, txDropped: Double
    }
    var rows: [Row]
    var total: Row

    /// Rates from `previous` to `current` over `seconds`; counters that went backwards (an
    /// interface re-created under the same name) count from zero.
    init(previous: StatsReport, current: StatsReport, seconds: Double) {
        let old = Dictionary(previous.interfaces.map { ($0.name, $0.statistics) }, uniquingKeysWith: { a, _ in a })
        func rate(_ new: UInt64, _ was: UInt64?) -> Double {
            let delta = new >= (was ?? 0) ? new - (was ?? 0) : new
            return seconds > 0 ? Double(delta) / seconds : 0
        }
        func row(_ name: String, _ s: LinkStatistics, _ p: LinkStatistics?) -> Row {
            Row(name: name, rxBytes: rate(s.rxBytes, p?.rxBytes), txBytes: rate(s.txBytes, p?.txBytes),
                rxPackets: rate(s.rxPackets, p?.rxPackets), txPackets: rate(s.txPackets, p?.txPackets),
                rxDropped: rate(s.rxDropped, p?.rxDropped), txDropped: rate(s.txDropped, p?.txDropped))
        }
        rows = current.interfaces.map { row($0.name, $0.statistics, old[$0.name]) }
        total = Row(name: "total", rxBytes: rows.map(\.rxBytes).reduce(0, +), txBytes: rows.map(\.txBytes).reduce(0, +),
                    rxPackets: rows.map(\.rxPackets).reduce(0, +), txPackets: rows.map(\.txPackets).reduce(0, +),
                    rxDropped: rows.map(\.rxDropped).reduce(0, +), txDropped: rows.map(\.txDropped).reduce(0, +))
    }

    func table(human: Bool) -> String {
        var out: [[String]] = [["INTERFACE", "RX_BYTES/S", "TX_BYTES/S", "RX_PACKETS/S", "TX_PACKETS/S",
                                "RX_DROPPED/S", "TX_DROPPED/S"]]
        func cells(_ r: Row) -> [String] {
            let bytes = { (v: Double) in human ? HumanUnits.bytes(v) : HumanUnits.plain(v) }
            let count = { (v: Double) in human ? HumanUnits.count(v) : HumanUnits.plain(v) }
            return [r.name, bytes(r.rxBytes), bytes(r.txBytes), count(r.rxPackets), count(r.txPackets),
                    count(r.rxDropped), count(r.txDropped)]
        }
        out += rows.map(cells)
        out.append(cells(total))
        return formatTable(out)
    }

    /// One compact JSON document per frame (a line each: easy to pipe into jq).
    func jsonLine(seconds: Double) -> String {
        var w = JSONWriter(pretty: false)
        func put(_ r: Row) {
            w.beginObject()
            for (k, v) in [("rx_bytes", r.rxBytes), ("tx_bytes", r.txBytes), ("rx_packets", r.rxPackets),
                           ("tx_packets", r.txPackets), ("rx_dropped", r.rxDropped), ("tx_dropped", r.txDropped)] {
                w.key(k); w.double(v)
            }
            w.endObject()
        }
        w.beginObject()
        w.key("interval_seconds"); w.double(seconds)
        w.key("per_second"); w.beginObject()
        for r in rows { w.key(r.name); put(r) }
        w.endObject()
        w.key("total_per_second"); put(total)
        w.endObject()
        return w.text + "\n"
    }
}

/// Counts for people: bytes in IEC units (1024), other counts in SI (1000), one decimal.
enum HumanUnits {
    static func bytes(_ v: Double) -> String { scaled(v, base: 1024, units: ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]) }
    static func count(_ v: Double) -> String { scaled(v, base: 1000, units: ["", "k", "M", "G", "T", "P", "E"]) }

    static func scaled(_ v: Double, base: Double, units: [String]) -> String {
        var value = v, i = 0
        while value >= base && i < units.count - 1 { value /= base; i += 1 }
        let number = i == 0 ? plain(value) : oneDecimal(value)
        return units[i].isEmpty ? number : number + units[i]
    }

    /// Integral values as integers, others rounded to one decimal ("12", "0.5").
    static func plain(_ v: Double) -> String {
        v.rounded() == v && v.magnitude < 1e15 ? String(Int64(v)) : oneDecimal(v)
    }

    static func oneDecimal(_ v: Double) -> String {
        let tenths = Int64((v * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }
}
