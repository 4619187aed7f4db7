/// The parsed command line of `netstat-inspect inspect|stats`.
public struct Options: Sendable, Equatable {
    public enum Command: String, Sendable { case inspect, stats }
    public enum Format: String, Sendable { case json, table }
    /// Where the namespace comes from.
    public enum Target: Sendable, Equatable {
        case netns(String)
        case container(id: String, network: String?, cacheDir: String)
    }

    public var command: Command
    public var target: Target
    public var format: Format = .json
    /// `--interface` names (stats only); empty: all of them.
    public var interfaces: [String] = []

    public static let defaultCacheDir = "/var/lib/cni"

    public static let usage = """
        usage: netstat-inspect inspect (--netns PATH | --container ID [--network NAME] [--cache-dir DIR])
                                       [--format json|table]
               netstat-inspect stats   (--netns PATH | --container ID [--network NAME] [--cache-dir DIR])
                                       [--interface NAME ...] [--format json|table]
        With CNI_COMMAND set, runs as a CNI plugin (chain it last).
        """

    /// Parses `arguments` (without the program name). `nil` means help was asked for.
    /// Accepts `--flag value` and `--flag=value`.
    public static func parse(_ arguments: [String]) throws(InspectError) -> Options? {
        guard let first = arguments.first else { throw .usage("missing command (inspect or stats)") }
        if ["-h", "--help", "help"].contains(first) { return nil }
        guard let command = Command(rawValue: first) else { throw .usage("unknown command \"\(first)\"") }

        var netns: String?, container: String?, network: String?, cacheDir: String?, format: Format?
        var interfaces: [String] = []
        var rest = arguments.dropFirst()
        while let arg = rest.popFirst() {
            if arg == "-h" || arg == "--help" { return nil }
            guard arg.hasPrefix("--") else { throw .usage("unexpected argument \"\(arg)\"") }
            var name = arg
            var inlineValue: String?
            if let eq = arg.firstIndex(of: "=") {
                name = String(arg[..<eq])
                inlineValue = String(arg[arg.index(after: eq)...])
            }
            func value() throws(InspectError) -> String {
                if let inlineValue { return inlineValue }
                guard let next = rest.popFirst(), !next.hasPrefix("--") else { throw .usage("\(name) needs a value") }
                return next
            }
            func once(_ slot: String?) throws(InspectError) {
                if slot != nil { throw .usage("\(name) given twice") }
            }
            switch name {
            case "--netns": try once(netns); netns = try value()
            case "--container": try once(container); container = try value()
            case "--network": try once(network); network = try value()
            case "--cache-dir": try once(cacheDir); cacheDir = try value()
            case "--format":
                try once(format?.rawValue)
                let v = try value()
                guard let f = Format(rawValue: v) else { throw .usage("--format must be json or table, not \"\(v)\"") }
                format = f
            case "--interface":
                guard command == .stats else { throw .usage("--interface is only for stats") }
                interfaces.append(try value())
            default: throw .usage("unknown option \(name)")
            }
        }

        let target: Target
        switch (netns, container) {
        case (let path?, nil):
            guard network == nil, cacheDir == nil else { throw .usage("--network and --cache-dir go with --container") }
            guard !path.isEmpty else { throw .usage("--netns needs a path") }
            target = .netns(path)
        case (nil, let id?):
            guard !id.isEmpty else { throw .usage("--container needs an ID") }
            target = .container(id: id, network: network, cacheDir: cacheDir ?? defaultCacheDir)
        case (nil, nil): throw .usage("one of --netns or --container is required")
        case (_?, _?): throw .usage("--netns and --container exclude each other")
        }
        return Options(command: command, target: target, format: format ?? .json, interfaces: interfaces)
    }
}
