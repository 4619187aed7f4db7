import CNI
import Netlink
import System

/// netstat-inspect as the last plugin of a chain: ADD fills in what earlier plugins left out
/// (interface MACs and MTUs, read from the live namespace), CHECK compares prevResult with the
/// namespace, DEL/STATUS/GC have nothing to do (no state is kept).
public struct NetstatPlugin: CNIPlugin {
    /// Opens netlink in CNI_NETNS; replaceable in tests.
    var openNetlink: (String) throws(NetlinkError) -> RouteNetlink

    public init() {
        openNetlink = { (path) throws(NetlinkError) in try RouteNetlink(netnsPath: path) }
    }

    init(openNetlink: @escaping (String) throws(NetlinkError) -> RouteNetlink) {
        self.openNetlink = openNetlink
    }

    public func add(_ request: CNIRequest) throws -> CNIResult {
        var result = try prevResult(request, for: "ADD")
        let links = try snapshot(request, withAddressesAndRoutes: false).links
        for i in result.interfaces.indices where isInContainer(result.interfaces[i], request) {
            let name = result.interfaces[i].name
            guard let link = links.first(where: { $0.name == name }) else {
                throw InspectError.prevResultInterfaceMissing(name: name, netns: request.env.netns)
            }
            if (result.interfaces[i].mac ?? "").isEmpty { result.interfaces[i].mac = link.macAddress }
            if result.interfaces[i].mtu == nil, let mtu = link.mtu { result.interfaces[i].mtu = Int(mtu) }
        }
        return result.converted(to: request.config.version)
    }

    public func check(_ request: CNIRequest) throws {
        let result = try prevResult(request, for: "CHECK")
        var snapshot = try snapshot(request, withAddressesAndRoutes: true)
        // Routes of other tables (1.1.0 `table`) are dumped only when asked for.
        for table in Set(result.routes.compactMap(\.table)) where table != Int(RouteTable.main) {
            do {
                snapshot.routes += try openNetlink(request.env.netns).dumpRoutes(table: UInt32(table))
            } catch {
                throw InspectError.netlinkIn(netns: request.env.netns, error)
            }
        }
        let problems = PrevResultCheck.differences(result, snapshot: snapshot, netns: request.env.netns)
        if !problems.isEmpty {
            throw InspectError.checkMismatch(netns: request.env.netns, problems: problems)
        }
    }

    /// Nothing was created, so nothing to undo; also fine when the namespace is already gone.
    public func del(_ request: CNIRequest) throws {}
    public func status(_ request: CNIRequest) throws {}
    public func gc(_ request: CNIRequest) throws {}

    private func prevResult(_ request: CNIRequest, for command: String) throws(InspectError) -> CNIResult {
        guard let result = request.config.prevResult else { throw .noPrevResult(command: command) }
        return result
    }

    /// An interface of the result that lives in CNI_NETNS (host-side ones have no sandbox).
    private func isInContainer(_ iface: CNIResult.Interface, _ request: CNIRequest) -> Bool {
        guard let sandbox = iface.sandbox, !sandbox.isEmpty else { return false }
        return sandbox == request.env.netns || NetNS.sameNamespace(sandbox, request.env.netns)
    }

    private func snapshot(_ request: CNIRequest, withAddressesAndRoutes: Bool) throws(InspectError) -> NetworkSnapshot {
        do {
            let netlink = try openNetlink(request.env.netns)
            return try NetworkSnapshot(netlink: netlink, withAddressesAndRoutes: withAddressesAndRoutes)
        } catch {
            throw .netlinkIn(netns: request.env.netns, error)
        }
    }
}
