import IP
import JSON
import Netlink

/// What `inspect` prints: non-loopback interfaces with MAC, MTU and subnets, shaped like podman's
/// network status block (`{"interfaces":{"eth0":{"subnets":[{"ipnet","gateway"}],"mac_address"}}}`).
public struct InspectReport: Sendable, Equatable {
    public struct Subnet: Sendable, Equatable {
        /// Printed as inet_ntop(3) prints them (`ip address`), as before the address types were one.
        public var ipnet: IPNetwork
        public var gateway: IPAddress?
    }
    public struct Interface: Sendable, Equatable {
        public var name: String
        public var macAddress: String?
        public var mtu: UInt32?
        public var state: String
        public var kind: String?
        public var subnets: [Subnet]
    }
    public var interfaces: [Interface]

    /// Builds the report. `only`: restrict to these names (the container's interfaces), in
    /// namespace order; a name that is not there is an error.
    public init(snapshot: NetworkSnapshot, only: [String]? = nil, netns: String) throws(InspectError) {
        var links = snapshot.links.filter { !$0.isLoopback }
        if let only {
            for name in only where snapshot.link(named: name) == nil {
                throw .interfaceNotFound(name: name, netns: netns)
            }
            links = snapshot.links.filter { only.contains($0.name) }
        }
        interfaces = links.map { link in
            let subnets = snapshot.addresses(of: link)
                .filter { !$0.address.isLinkLocalUnicast && !$0.address.isLinkLocalMulticast }
                .compactMap(\.prefix)
                .map { Subnet(ipnet: $0, gateway: snapshot.gateway(for: $0, on: link)) }
            return Interface(name: link.name, macAddress: link.macAddress, mtu: link.mtu,
                             state: link.operState.description, kind: link.kind, subnets: subnets)
        }
    }

    public var json: JSON {
        var ifaces = JSONObject()
        for iface in interfaces {
            var entry = JSONObject()
            entry["subnets"] = .array(iface.subnets.map { subnet in
                var s: JSONObject = ["ipnet": .string(subnet.ipnet.text(.inetNtop))]
                if let gw = subnet.gateway { s["gateway"] = .string(gw.text(.inetNtop)) }
                return .object(s)
            })
            entry["mac_address"] = .string(iface.macAddress ?? "")
            if let mtu = iface.mtu { entry["mtu"] = .int(Int64(mtu)) }
            ifaces[iface.name] = .object(entry)
        }
        return ["interfaces": .object(ifaces)]
    }

    /// `json` as pretty text plus a newline, streamed (no tree): the bytes `json.encoded(pretty: true)` gives.
    public var jsonText: String {
        var w = JSONWriter(pretty: true, reserve: 64 + 200 * interfaces.count)
        w.beginObject()
        w.key("interfaces"); w.beginObject()
        for iface in uniqueInterfaces {
            w.key(iface.name); w.beginObject()
            w.key(Keys.subnets); w.beginArray()
            for subnet in iface.subnets {
                w.beginObject()
                w.key(Keys.ipnet); w.string(subnet.ipnet.text(.inetNtop))
                if let gw = subnet.gateway { w.key(Keys.gateway); w.string(gw.text(.inetNtop)) }
                w.endObject()
            }
            w.endArray()
            w.key(Keys.mac); w.string(iface.macAddress ?? "")
            if let mtu = iface.mtu { w.key(Keys.mtu); w.int(Int64(mtu)) }
            w.endObject()
        }
        w.endObject()
        w.endObject()
        return w.text + "\n"
    }

    enum Keys {
        static let subnets = JSONKey("subnets"), ipnet = JSONKey("ipnet"), gateway = JSONKey("gateway")
        static let mac = JSONKey("mac_address"), mtu = JSONKey("mtu")
    }

    /// Interfaces by name as the JSON object holds them (first place, last value).
    var uniqueInterfaces: [Interface] {
        var out: [Interface] = []
        var position: [String: Int] = [:]
        for iface in interfaces {
            if let i = position[iface.name] { out[i] = iface } else { position[iface.name] = out.count; out.append(iface) }
        }
        return out
    }

    /// One row per subnet (an interface without subnets still gets a row).
    public var table: String {
        var rows: [[String]] = [["INTERFACE", "MAC", "MTU", "STATE", "KIND", "SUBNET", "GATEWAY"]]
        for iface in interfaces {
            let base = [iface.name, iface.macAddress ?? "-", iface.mtu.map { "\($0)" } ?? "-", iface.state,
                        iface.kind ?? "-"]
            if iface.subnets.isEmpty { rows.append(base + ["-", "-"]) }
            for subnet in iface.subnets {
                rows.append(base + [subnet.ipnet.text(.inetNtop), subnet.gateway?.text(.inetNtop) ?? "-"])
            }
        }
        return formatTable(rows)
    }
}

/// Left-aligned columns separated by two spaces, no trailing blanks.
func formatTable(_ rows: [[String]]) -> String {
    let columns = rows.map(\.count).max() ?? 0
    var widths = [Int](repeating: 0, count: columns)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    var out = ""
    for row in rows {
        var line = ""
        for (i, cell) in row.enumerated() {
            line += cell
            if i < row.count - 1 { line += String(repeating: " ", count: widths[i] - cell.count + 2) }
        }
        out += line + "\n"
    }
    return out
}
