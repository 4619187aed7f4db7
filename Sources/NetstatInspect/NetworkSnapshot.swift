import IP
import Netlink

/// Links, addresses and main-table routes of one namespace, read over one netlink socket.
public struct NetworkSnapshot: Sendable {
    public var links: [Link]
    public var addresses: [InterfaceAddress]
    public var routes: [Route]

    public init(links: [Link], addresses: [InterfaceAddress] = [], routes: [Route] = []) {
        self.links = links
        self.addresses = addresses
        self.routes = routes
    }

    /// Dumps what a report needs (`withAddressesAndRoutes: false` for stats, which need links only).
    public init(netlink: RouteNetlink, withAddressesAndRoutes: Bool = true) throws(NetlinkError) {
        links = try netlink.dumpLinks()
        addresses = withAddressesAndRoutes ? try netlink.dumpAddresses() : []
        routes = withAddressesAndRoutes ? try netlink.dumpRoutes() : []
    }

    public func link(named name: String) -> Link? { links.first { $0.name == name } }

    public func addresses(of link: Link) -> [InterfaceAddress] {
        addresses.filter { $0.interfaceIndex == link.index }
    }

    /// Default routes (main table, unicast, to 0/0) of one family, lowest metric first.
    public func defaultRoutes(family: Int32) -> [Route] {
        routes.filter { $0.family == family && $0.isDefault }
            .sorted { ($0.priority ?? 0) < ($1.priority ?? 0) }
    }

    /// The gateway of `subnet`'s family that lies inside `subnet`, preferring a default route out
    /// of `link` itself; nil when no default route of that family goes through this subnet.
    public func gateway(for subnet: IPNetwork, on link: Link) -> IPAddress? {
        let candidates = defaultRoutes(family: subnet.address.family)
        let viaLink = candidates.filter { route in
            route.outputInterface == link.index || route.nextHops.contains { $0.interfaceIndex == link.index }
        }
        for route in viaLink + candidates {
            if let gw = route.gateways.first(where: { subnet.contains($0) }) { return gw }
        }
        return nil
    }
}
