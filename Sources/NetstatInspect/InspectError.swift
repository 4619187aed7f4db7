import Netlink

/// Why an `inspect`/`stats` run failed. The CLI prints `description` on stderr.
public enum InspectError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Bad command line; the CLI adds a usage hint and exits 2.
    case usage(String)
    case netlink(NetlinkError)
    case interfaceNotFound(name: String, netns: String)
    /// The libcni result cache could not be read or names no usable namespace.
    case cache(String)
    /// Reading stdin or another file failed.
    case io(String)

    public var description: String {
        switch self {
        case .usage(let m): m
        case .netlink(let e): e.description
        case .interfaceNotFound(let name, let netns): "interface \(name) not found in netns \(netns)"
        case .cache(let m), .io(let m): m
        }
    }
}
