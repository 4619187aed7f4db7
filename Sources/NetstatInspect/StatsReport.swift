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

    public var table: String {
        var rows: [[String]] = [["INTERFACE", "RX_BYTES", "RX_PACKETS", "RX_ERRORS", "RX_DROPPED",
                                 "TX_BYTES", "TX_PACKETS", "TX_ERRORS", "TX_DROPPED"]]
        func row(_ name: String, _ s: LinkStatistics) -> [String] {
            [name] + [s.rxBytes, s.rxPackets, s.rxErrors, s.rxDropped, s.txBytes, s.txPackets, s.txErrors,
                      s.txDropped].map { "\($0)" }
        }
        for entry in interfaces { rows.append(row(entry.name, entry.statistics)) }
        rows.append(row("total", total))
        return formatTable(rows)
    }
}
