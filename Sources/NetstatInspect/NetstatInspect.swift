import CNI
import System
import Netlink
#if canImport(Glibc)
import Glibc
#endif

/// What one run prints and exits with (kept apart from the printing so tests can see it).
public struct CommandOutput: Sendable, Equatable {
    public var stdout: String
    public var stderr: String
    public var exitCode: Int32
}

public enum NetstatInspect {
    /// The whole program: CNI plugin mode when CNI_COMMAND is set, the CLI otherwise.
    /// `main.swift` calls this and exits with its status.
    public static func main(arguments: [String], environment: [String: String]) -> Int32 {
        let output: CommandOutput
        if environment["CNI_COMMAND"] != nil {
            let plugin = PluginMain.dispatch(NetstatPlugin(), env: environment, readStdin: readStandardInput)
            output = CommandOutput(stdout: plugin.stdout, stderr: "", exitCode: plugin.exitCode)
        } else {
            output = run(Array(arguments.dropFirst()), openNetlink: { (path) throws(NetlinkError) in
                try RouteNetlink(netnsPath: path)
            })
        }
        writeAll(STDOUT_FILENO, output.stdout)
        writeAll(STDERR_FILENO, output.stderr)
        return output.exitCode
    }

    /// The process environment, for `main` (read once, from `environ`).
    public static func processEnvironment() -> [String: String] { Identity.environment() }

    /// Runs `inspect` or `stats`. `openNetlink` opens the netlink session for a namespace path
    /// (a recorded socket in tests). Errors: message on stderr, nothing on stdout, exit 1
    /// (2 for a bad command line).
    public static func run(_ arguments: [String],
                           openNetlink: (String) throws(NetlinkError) -> RouteNetlink) -> CommandOutput {
        do {
            guard let options = try Options.parse(arguments) else {
                return CommandOutput(stdout: Options.usage + "\n", stderr: "", exitCode: 0)
            }
            return CommandOutput(stdout: try report(options, openNetlink: openNetlink), stderr: "", exitCode: 0)
        } catch .usage(let message) {
            return CommandOutput(stdout: "", stderr: "netstat-inspect: \(message)\n\(Options.usage)\n", exitCode: 2)
        } catch {
            return CommandOutput(stdout: "", stderr: "netstat-inspect: \(error)\n", exitCode: 1)
        }
    }

    /// The text of one report, in the chosen format.
    static func report(_ options: Options,
                       openNetlink: (String) throws(NetlinkError) -> RouteNetlink) throws(InspectError) -> String {
        let netns: String
        var only: [String]? = options.interfaces.isEmpty ? nil : options.interfaces
        switch options.target {
        case .netns(let path):
            netns = path
        case .container(let id, let network, let cacheDir):
            let attachments = try ResultCache.attachments(containerID: id, network: network, cacheDir: cacheDir)
            let sandbox = try ResultCache.sandbox(of: attachments, containerID: id)
            netns = sandbox.netns
            if only == nil { only = sandbox.interfaces }
        }
        let snapshot: NetworkSnapshot
        do {
            let netlink = try openNetlink(netns)
            snapshot = try NetworkSnapshot(netlink: netlink, withAddressesAndRoutes: options.command == .inspect)
        } catch {
            throw .netlink(error)
        }
        switch options.command {
        case .inspect:
            let report = try InspectReport(snapshot: snapshot, only: only, netns: netns)
            return options.format == .json ? report.json.encoded(pretty: true) + "\n" : report.table
        case .stats:
            let report = try StatsReport(snapshot: snapshot, only: only, netns: netns)
            return options.format == .json ? report.json.encoded(pretty: true) + "\n" : report.table
        }
    }
}

/// write(2) until everything is out (EINTR retried); errors are dropped: nowhere left to report them.
func writeAll(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)  // var: withUnsafeMutableBytes
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            return write(fd, base + offset, raw.count - offset)
        }
        if n < 0 { if errno == EINTR { continue } else { return } }
        offset += n
    }
}

/// All of stdin (the CNI network config), bounded like NetConf.maxSize.
func readStandardInput() throws -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw InspectError.io("read stdin: \(String(cString: strerror(errno)))")
        }
        if n == 0 { return out }
        out += chunk[..<n]
        if out.count > NetConf.maxSize { throw InspectError.io("network config on stdin exceeds \(NetConf.maxSize) bytes") }
    }
}
