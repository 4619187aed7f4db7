/// The parsed command line of `netstat-inspect inspect|stats`.
public struct Options: Sendable, Equatable {
    public enum Command: String, Sendable { case inspect, stats }
    public enum Format: String, Sendable { case json, table }
    /// Where the namespace comes from.
    public enum Target: Sendable, Equatable {
        /// A path, or an `ip netns` name (no `/`), resolved by `Locations.netnsPath`.
        case netns(String)
        /// `cacheDir` nil: the default caches (`Locations.cacheDirs`).
        case container(id: String, network: String?, cacheDir: String?)
    }
    public enum Action: Sendable, Equatable {
        case report(Options)
        case help
        case version
    }

    public var command: Command
    public var target: Target
    public var format: Format = .json
    /// `--interface` names (stats only); empty: all of them.
    public var interfaces: [String] = []
    /// `--human`: byte counts in KiB/MiB/GiB, other counts in k/M/G (table only).
    public var human = false
    /// `--watch SECONDS` (stats only): print per-second rates every interval.
    public var watchSeconds: Double?
    /// `--count N` (with --watch): stop after N rate frames; nil: until interrupted.
    public var watchCount: Int?

    public static let version = "netstat-inspect 0.1.0 (CNI 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)"

    public static let usage = """
        usage: netstat-inspect inspect TARGET [--format json|table] [--human]
               netstat-inspect stats   TARGET [--interface NAME ...] [--format json|table] [--human]
                                              [--watch SECONDS [--count N]]
               netstat-inspect --version | --help
        TARGET: --netns PATH|NAME                  a namespace file, or an `ip netns` name
                                                   (/run/netns/NAME; $XDG_RUNTIME_DIR/netns/NAME when rootless)
                --container ID [--network NAME] [--cache-dir DIR]
                                                   the namespace libcni cached for a container
                                                   (default cache: /var/lib/cni as root, else
                                                   $XDG_RUNTIME_DIR/cni then /var/lib/cni)
        With CNI_COMMAND set, runs as a CNI plugin (chain it last).
        """

    public static let help = usage + """


        examples:
          netstat-inspect inspect --netns ctr1 --format table
          netstat-inspect stats --container 3f2a9c --interface eth0 --human
          netstat-inspect stats --netns /run/user/1000/netns/ctr1 --watch 1
          netstat-inspect stats --netns ctr1 --watch 2 --count 5 --format json
        """

    /// Parses `arguments` (without the program name). Accepts `--flag value` and `--flag=value`.
    public static func parse(_ arguments: [String]) throws(InspectError) -> Action {
        guard let first = arguments.first else { throw .usage("missing command (inspect or stats)") }
        if ["-h", "--help", "help"].contains(first) { return .help }
        if ["--version", "-V", "version"].contains(first) { return .version }
        guard let command = Command(rawValue: first) else {
            throw .usage(first.hasPrefix("-") ? "\(first) before the command: give inspect or stats first"
                                              : "unknown command \"\(first)\" (inspect or stats)")
        }

        var netns: String?, container: String?, network: String?, cacheDir: String?, format: Format?
        var interfaces: [String] = []
        var human = false, watch: Double?, count: Int?
        var rest = arguments.dropFirst()
        while let arg = rest.popFirst() {
            if arg == "-h" || arg == "--help" { return .help }
            if arg == "--version" { return .version }
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
            func once(_ given: Bool) throws(InspectError) {
                if given { throw .usage("\(name) given twice") }
            }
            switch name {
            case "--netns": try once(netns != nil); netns = try value()
            case "--container": try once(container != nil); container = try value()
            case "--network": try once(network != nil); network = try value()
            case "--cache-dir": try once(cacheDir != nil); cacheDir = try value()
            case "--format":
                try once(format != nil)
                let v = try value()
                guard let f = Format(rawValue: v) else { throw .usage("--format must be json or table, not \"\(v)\"") }
                format = f
            case "--interface":
                guard command == .stats else { throw .usage("--interface is only for stats") }
                interfaces.append(try value())
            case "--human":
                if inlineValue != nil { throw .usage("--human takes no value") }
                human = true
            case "--watch":
                guard command == .stats else { throw .usage("--watch is only for stats") }
                try once(watch != nil)
                let v = try value()
                guard let s = Double(v), s.isFinite, s >= 0.1, s <= 86400 else {
                    throw .usage("--watch needs seconds between 0.1 and 86400, not \"\(v)\"")
                }
                watch = s
            case "--count":
                try once(count != nil)
                let v = try value()
                guard let n = Int(v), n >= 1 else { throw .usage("--count needs a positive number, not \"\(v)\"") }
                count = n
            default: throw .usage("unknown option \(name)")
            }
        }
        if count != nil && watch == nil { throw .usage("--count goes with --watch") }
        if human && format == .json { throw .usage("--human is for the table; leave out --format json") }

        let target: Target
        switch (netns, container) {
        case (let path?, nil):
            guard network == nil, cacheDir == nil else { throw .usage("--network and --cache-dir go with --container") }
            guard !path.isEmpty else { throw .usage("--netns needs a path or a name") }
            target = .netns(path)
        case (nil, let id?):
            guard !id.isEmpty else { throw .usage("--container needs an ID") }
            target = .container(id: id, network: network, cacheDir: cacheDir)
        case (nil, nil): throw .usage("one of --netns or --container is required")
        case (_?, _?): throw .usage("--netns and --container exclude each other")
        }
        // --human asks for the table; --watch prints a table unless JSON is asked for.
        let chosen = format ?? (human || watch != nil ? .table : .json)
        return .report(Options(command: command, target: target, format: chosen, interfaces: interfaces,
                               human: human, watchSeconds: watch, watchCount: count))
    }
}
