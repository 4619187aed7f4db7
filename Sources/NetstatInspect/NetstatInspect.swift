import CNI
import Skel
import System
import Netlink

/// What one run prints and exits with (kept apart from the printing so tests can see it).
public struct CommandOutput: Sendable, Equatable {
    public var stdout: String
    public var stderr: String
    public var exitCode: Int32
}

/// What a CLI run depends on besides its arguments and netlink; tests replace the parts they need.
public struct RunContext {
    public var locations: Locations
    public var clock: any WatchClock
    /// Where `--watch` frames go as they are made; nil: appended to `CommandOutput.stdout`.
    public var emit: ((String) -> Void)?
    public var stat: (String) -> PathInfo?
    /// The pid of cnitool's session pause process, when one is recorded.
    public var sessionPid: () -> Int32?

    public init(locations: Locations = Locations(isHostRoot: true, runtimeDir: "/run/user/0"),
                clock: any WatchClock = SystemWatchClock(), emit: ((String) -> Void)? = nil,
                stat: @escaping (String) -> PathInfo? = { PathInfo.of($0) },
                sessionPid: @escaping () -> Int32? = { nil }) {
        self.locations = locations
        self.clock = clock
        self.emit = emit
        self.stat = stat
        self.sessionPid = sessionPid
    }

    /// The real process: identity from the environment, frames straight to stdout.
    static func live(environment: [String: String]) -> RunContext {
        let locations = Locations.current(environment: environment)
        return RunContext(locations: locations, emit: { StdIO.writeStdout($0) },
                          sessionPid: {
                              let file = locations.runtimeDir + "/cnitool-session.pid"
                              guard let text = try? FS.readText(file, limit: 4096) else { return nil }
                              return text.split(separator: " ").first.flatMap { Int32($0) }
                          })
    }
}

public struct SystemWatchClock: WatchClock {
    public init() {}
    public func now() -> UInt64 { Clock.monotonicNs() }
    public func sleep(until deadline: UInt64) { Clock.sleep(untilNs: deadline) }
}

public enum NetstatInspect {
    /// The whole program: CNI plugin mode when CNI_COMMAND is set, the CLI otherwise.
    /// `main.swift` calls this and exits with its status.
    public static func main(arguments: [String], environment: [String: String]) -> Int32 {
        if environment["CNI_COMMAND"] != nil { return PluginProcess.run(NetstatPlugin(), environment: environment) }
        let output = run(Array(arguments.dropFirst()), openNetlink: { (path) throws(NetlinkError) in
            try RouteNetlink(netnsPath: path)
        }, context: .live(environment: environment))
        StdIO.writeStdout(output.stdout)
        StdIO.writeStderr(output.stderr)
        return output.exitCode
    }

    /// `main.swift`: runs with the process's arguments and environment, exits with the status.
    public static func main() -> Never {
        PluginProcess.exit(main(arguments: CommandLine.arguments, environment: PluginProcess.environment()))
    }

    /// Runs `inspect` or `stats`. `openNetlink` opens the netlink session for a namespace path
    /// (a recorded socket in tests). Errors: message on stderr, nothing on stdout, exit 1
    /// (2 for a bad command line).
    public static func run(_ arguments: [String],
                           openNetlink: (String) throws(NetlinkError) -> RouteNetlink,
                           context: RunContext = RunContext()) -> CommandOutput {
        do {
            switch try Options.parse(arguments) {
            case .help: return CommandOutput(stdout: Options.help + "\n", stderr: "", exitCode: 0)
            case .version: return CommandOutput(stdout: Options.version + "\n", stderr: "", exitCode: 0)
            case .report(let options):
                if let seconds = options.watchSeconds {
                    return CommandOutput(stdout: try watch(options, seconds: seconds, openNetlink: openNetlink,
                                                           context: context), stderr: "", exitCode: 0)
                }
                return CommandOutput(stdout: try report(options, openNetlink: openNetlink, context: context),
                                     stderr: "", exitCode: 0)
            }
        } catch .usage(let message) {
            return CommandOutput(stdout: "", stderr: "netstat-inspect: \(message)\n\(Options.usage)\n", exitCode: 2)
        } catch {
            return CommandOutput(stdout: "", stderr: "netstat-inspect: \(error)\n", exitCode: 1)
        }
    }

    /// The namespace path and the interfaces to show (nil: all) for the target.
    static func resolve(_ options: Options, context: RunContext) throws(InspectError) -> (netns: String, only: [String]?) {
        var only: [String]? = options.interfaces.isEmpty ? nil : options.interfaces
        switch options.target {
        case .netns(let value):
            return (context.locations.netnsPath(value, exists: { context.stat($0) != nil }), only)
        case .container(let id, let network, let cacheDir):
            let dirs = cacheDir.map { [$0] } ?? context.locations.cacheDirs
            let attachments = try ResultCache.attachments(containerID: id, network: network, cacheDirs: dirs,
                                                          exists: { context.stat($0) != nil })
            let sandbox = try ResultCache.sandbox(of: attachments, containerID: id)
            if only == nil { only = sandbox.interfaces }
            return (sandbox.netns, only)
        }
    }

    static func snapshot(_ netns: String, links only: Bool, openNetlink: (String) throws(NetlinkError) -> RouteNetlink,
                         context: RunContext) throws(InspectError) -> NetworkSnapshot {
        do {
            let netlink = try openNetlink(netns)
            return try NetworkSnapshot(netlink: netlink, withAddressesAndRoutes: !only)
        } catch {
            throw NetnsDiagnosis.explain(error, path: netns, locations: context.locations, stat: context.stat,
                                         sessionPid: context.sessionPid)
        }
    }

    /// The text of one report, in the chosen format.
    static func report(_ options: Options, openNetlink: (String) throws(NetlinkError) -> RouteNetlink,
                       context: RunContext) throws(InspectError) -> String {
        let (netns, only) = try resolve(options, context: context)
        let snapshot = try snapshot(netns, links: options.command == .stats, openNetlink: openNetlink, context: context)
        switch options.command {
        case .inspect:
            let report = try InspectReport(snapshot: snapshot, only: only, netns: netns)
            return options.format == .json ? report.jsonText : report.table
        case .stats:
            let report = try StatsReport(snapshot: snapshot, only: only, netns: netns)
            return options.format == .json ? report.jsonText : report.table(human: options.human)
        }
    }

    /// `stats --watch`: a frame of per-second rates every `seconds`, `--count` times (or forever).
    /// Each frame goes to `context.emit` as soon as it is made; what is returned is the rest.
    static func watch(_ options: Options, seconds: Double, openNetlink: (String) throws(NetlinkError) -> RouteNetlink,
                      context: RunContext) throws(InspectError) -> String {
        let (netns, only) = try resolve(options, context: context)
        let interval = UInt64(seconds * 1e9)
        var collected = ""
        var previous = try StatsReport(snapshot: snapshot(netns, links: true, openNetlink: openNetlink, context: context),
                                       only: only, netns: netns)
        var previousTime = context.clock.now()
        var deadline = previousTime
        var frames = 0
        while options.watchCount.map({ frames < $0 }) ?? true {
            deadline += interval
            context.clock.sleep(until: deadline)
            let current = try StatsReport(snapshot: snapshot(netns, links: true, openNetlink: openNetlink, context: context),
                                          only: only, netns: netns)
            let now = context.clock.now()
            let elapsed = Double(now - previousTime) / 1e9
            let frame = RateFrame(previous: previous, current: current, seconds: elapsed)
            let text = options.format == .json ? frame.jsonLine(seconds: elapsed)
                                               : (frames > 0 ? "\n" : "") + frame.table(human: options.human)
            if let emit = context.emit { emit(text) } else { collected += text }
            previous = current
            previousTime = now
            frames += 1
        }
        return collected
    }
}
