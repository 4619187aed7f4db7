import CNI
import Netlink

/// Why an `inspect`/`stats` run or a plugin verb failed. The CLI prints `description` on stderr;
/// the plugin answers with `cniError` (the one table of CNI codes for this module, below).
public enum InspectError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Bad command line; the CLI adds a usage hint and exits 2.
    case usage(String)
    case netlink(NetlinkError)
    /// Plugin mode: netlink in CNI_NETNS failed.
    case netlinkIn(netns: String, NetlinkError)
    /// The namespace file cannot be used from here; `advice` says what to do instead.
    case netnsUnreachable(path: String, reason: String, advice: String)
    case interfaceNotFound(name: String, netns: String)
    /// The libcni result cache could not be read or names no usable namespace.
    case cache(String)
    /// Reading stdin or another file failed.
    case io(String)
    /// Plugin mode: ADD/CHECK without a prevResult (netstat-inspect must be chained).
    case noPrevResult(command: String)
    /// Plugin mode: an interface of prevResult that is not in the namespace.
    case prevResultInterfaceMissing(name: String, netns: String)
    /// Plugin mode: CHECK found the namespace different from prevResult.
    case checkMismatch(netns: String, problems: [String])

    public var description: String {
        switch self {
        case .usage(let m): m
        case .netlink(let e): e.description
        case .netlinkIn(let netns, let e): "netlink in \(netns): \(e)"
        case .netnsUnreachable(let path, let reason, let advice): "\(path): \(reason). \(advice)"
        case .interfaceNotFound(let name, let netns): "interface \(name) not found in netns \(netns)"
        case .cache(let m), .io(let m): m
        case .noPrevResult(let command): "netstat-inspect must be chained after another plugin: \(command) needs prevResult"
        case .prevResultInterfaceMissing(let name, let netns): "prevResult interface \(name) not found in netns \(netns)"
        case .checkMismatch(let netns, let problems):
            "netns \(netns) does not match prevResult: \(problems.joined(separator: "; "))"
        }
    }
}

extension InspectError: CNIErrorConvertible {
    /// Every failure's CNI code, in one place.
    public var cniError: CNIError {
        switch self {
        case .usage(let m): CNIError(.invalidEnvironment, m)
        case .netlink(.notNetworkNamespace(let path)), .netlinkIn(_, .notNetworkNamespace(let path)):
            CNIError(.invalidNetns, "\(path) is not a network namespace")
        case .netlink(let e) where e.isMissingNamespace, .netlinkIn(_, let e) where e.isMissingNamespace:
            CNIError(.invalidNetns, "\(e)")
        case .netlink(let e): CNIError(.ioFailure, "netlink: \(e)")
        case .netlinkIn(let netns, let e): CNIError(.ioFailure, "netlink in \(netns): \(e)")
        case .netnsUnreachable(let path, let reason, let advice): CNIError(.invalidNetns, "\(path): \(reason)", details: advice)
        case .interfaceNotFound: CNIError(.invalidNetworkConfig, description)
        case .cache(let m), .io(let m): CNIError(.ioFailure, m)
        case .noPrevResult(let command):
            CNIError(.invalidNetworkConfig, "netstat-inspect must be chained after another plugin",
                     details: "\(command) needs prevResult")
        case .prevResultInterfaceMissing(let name, let netns):
            CNIError(.invalidNetworkConfig, "prevResult interface \(name) not found", details: "no link \(name) in netns \(netns)")
        case .checkMismatch(let netns, let problems):
            CNIError(.internal, "netns \(netns) does not match prevResult", details: problems.joined(separator: "; "))
        }
    }
}
