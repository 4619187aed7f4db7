import CNI
import System

/// The process side of a CNI plugin, as the reference's `skel.PluginMain`: the environment in,
/// the network config from stdin, the result or error JSON to stdout, the exit code out. Both
/// executables go through here, so neither plugin module does process I/O of its own; the
/// protocol itself (validation, version gates, error JSON) is `PluginMain.dispatch` in CNI.
public enum PluginProcess {
    /// One CNI invocation of `plugin` on this process's stdin/stdout; returns the exit code.
    public static func run(_ plugin: some CNIPlugin, environment: [String: String]) -> Int32 {
        let output = PluginMain.dispatch(plugin, env: environment) { () throws(SystemError) in try readConfig() }
        StdIO.writeStdout(output.stdout)
        return output.exitCode
    }

    /// All of stdin, but never more than one byte beyond `NetConf.maxSize`: an oversized config
    /// is then refused by `NetConf.parse` (code 4, decoding failure) without reading it all.
    public static func readConfig() throws(SystemError) -> [UInt8] {
        try FDIO.read(FDIO.standardInput, upTo: NetConf.maxSize + 1)
    }

    /// The process environment (read once from `environ`).
    public static func environment() -> [String: String] { Identity.environment() }

    /// Ends the process with `status`.
    public static func exit(_ status: Int32) -> Never { Identity.exit(status) }
}
