import JSON
import Netlink

/// What `stats` prints: every IFLA_STATS64 counter per interface, plus their sum as `total`
/// (podman v4 summed only rx/tx bytes and threw the per-interface numbers away).
public struct StatsReport: Sendable, Equatable {
    public var interfaces: [(name: String, statistics: LinkStatistics)]
    public var total: LinkStatistics

    /// `only`: these interfaces, in the order given (a missing one is an error); nil: every
    /// non-loopback interface in namespace order.
    public init(snapshot: NetworkSnapshot, only: [String]? = nil, netns: String) throws(InspectError) {
        var chosen: [Link] = []
        if let only {
            for name in only {
                guard let link = snapshot.link(named: name) else {
                    throw .interfaceNotFound(name: name, netns: netns)
                }
                if !chosen.contains(where: { $0.index == link.index }) { chosen.append(link) }
            }
        } else {
            chosen = snapshot.links.filter { !$0.isLoopback }
        }
        interfaces = chosen.map { ($0.name, $0.statistics ?? LinkStatistics()) }
        total = interfaces.reduce(LinkStatistics()) { $0 + $1.statistics }
    }

    public static func == (a: StatsReport, b: StatsReport) -> Bool {
        a.total == b.total && a.interfaces.map(\.name) == b.interfaces.map(\.name)
            && a.interfaces.map(\.statistics) == b.interfaces.map(\.statistics)
    }

    static func counters(_ s: LinkStatistics) -> JSON {
        .object(JSONObject(s.counters.map { ($0.name, JSON.int(Int64(clamping: $0.value))) }))
    }

    public var json: JSON {
        var ifaces = JSONObject()
        for entry in interfaces { ifaces[entry.name] = Self.counters(entry.statistics) }
        return ["interfaces": .object(ifaces), "total": Self.counters(total)]
    }

    /// `json` as pretty text plus a newline, streamed (no tree): the bytes `json.encoded(pretty: true)` gives.
    public var jsonText: String {
        var w = JSONWriter(pretty: true, reserve: 64 + 700 * (interfaces.count + 1))
        func counters(_ s: LinkStatistics) {
            w.beginObject()
            var i = 0
            s.forEachCounterValue { value in
                w.key(Self.counterKeys[i]); w.uint(value)
                i += 1
            }
            w.endObject()
        }
        w.beginObject()
        w.key("interfaces"); w.beginObject()
        for entry in uniqueInterfaces { w.key(entry.name); counters(entry.statistics) }
        w.endObject()
        w.key("total"); counters(total)
        w.endObject()
        return w.text + "\n"
    }

    static let counterKeys = LinkStatistics.counterNames.map(JSONKey.init)

    /// Interfaces by name as the JSON object holds them (a repeated name keeps its first place
    /// and its last value, as JSONObject's subscript does).
    var uniqueInterfaces: [(name: String, statistics: LinkStatistics)] {
        var out: [(name: String, statistics: LinkStatistics)] = []
        var position: [String: Int] = [:]
        for entry in interfaces {
            if let i = position[entry.name] { out[i].statistics = entry.statistics } else {
                position[entry.name] = out.count
                out.append(entry)
            }
        }
        return out
    }

    public var table: String { table(human: false) }

    /// `human`: bytes in KiB/MiB/..., other counts in k/M/...
    public func table(human: Bool) -> String {
        var rows: [[String]] = [["INTERFACE", "RX_BYTES", "RX_PACKETS", "RX_ERRORS", "RX_DROPPED",
                                 "TX_BYTES", "TX_PACKETS", "TX_ERRORS", "TX_DROPPED"]]
        func row(_ name: String, _ s: LinkStatistics) -> [String] {
            guard human else {
                return [name] + [s.rxBytes, s.rxPackets, s.rxErrors, s.rxDropped, s.txBytes, s.txPackets, s.txErrors,
                                 s.txDropped].map { "\($0)" }
            }
            let b = { (v: UInt64) in HumanUnits.bytes(Double(v)) }, n = { (v: UInt64) in HumanUnits.count(Double(v)) }
            return [name, b(s.rxBytes), n(s.rxPackets), n(s.rxErrors), n(s.rxDropped), b(s.txBytes), n(s.txPackets),
                    n(s.txErrors), n(s.txDropped)]
        }
        for entry in interfaces { rows.append(row(entry.name, entry.statistics)) }
        rows.append(row("total", total))
        return formatTable(rows)
    }
}
