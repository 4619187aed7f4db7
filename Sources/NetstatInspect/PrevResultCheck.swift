import CNI
import IP
import Netlink

/// CHECK's comparison of a prevResult with a live namespace: every difference, in words.
enum PrevResultCheck {
    static func differences(_ result: CNIResult, snapshot: NetworkSnapshot, netns: String) -> [String] {
        var problems: [String] = []
        var linkForResultIndex: [Int: Link] = [:]
        for (i, iface) in result.interfaces.enumerated() {
            guard let sandbox = iface.sandbox, !sandbox.isEmpty else { continue }
            guard let link = snapshot.link(named: iface.name) else {
                problems.append("interface \(iface.name) is missing")
                continue
            }
            linkForResultIndex[i] = link
            if let want = iface.mac, !want.isEmpty, want.lowercased() != (link.macAddress ?? "") {
                problems.append("interface \(iface.name) has MAC \(link.macAddress ?? "none"), prevResult says \(want)")
            }
            if let want = iface.mtu, let have = link.mtu, want != Int(have) {
                problems.append("interface \(iface.name) has MTU \(have), prevResult says \(want)")
            }
        }
        for ip in result.ips {
            let address = ip.address.address
            let owners: [Link]
            if let index = ip.interface {
                // An IP on a host-side interface (or one already reported missing) is not ours to check.
                guard let link = linkForResultIndex[index] else { continue }
                owners = [link]
            } else {
                owners = snapshot.links
            }
            let present = snapshot.addresses.contains { a in
                a.address == address && a.prefixLength == ip.address.prefixLength
                    && owners.contains { $0.index == a.interfaceIndex }
            }
            if !present {
                let on = owners.count == 1 ? " on \(owners[0].name)" : ""
                problems.append("address \(ip.address) is missing\(on)")
            }
        }
        for route in result.routes where !hasRoute(route, in: snapshot) {
            let via = route.gw.map { " via \($0)" } ?? ""
            problems.append("route \(route.dst)\(via) is missing")
        }
        return problems
    }

    /// A route with the same destination network (and the same gateway, when one is given).
    static func hasRoute(_ want: CNIResult.Route, in snapshot: NetworkSnapshot) -> Bool {
        let dst = want.dst.network
        let gateway = want.gw
        let table = want.table.map(UInt32.init) ?? RouteTable.main
        return snapshot.routes.contains { r in
            guard r.family == dst.address.family, r.table == table else { return false }
            let sameDestination: Bool
            if let d = r.destination {
                sameDestination = d == dst
            } else {
                sameDestination = dst.prefixLength == 0
            }
            guard sameDestination else { return false }
            guard let gateway else { return true }
            return r.gateways.contains(gateway)
        }
    }
}
