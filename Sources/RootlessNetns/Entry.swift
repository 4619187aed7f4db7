import CNI
import Skel
import System

/// Entry point of the `rootless-netns` executable: a CNI plugin when CNI_COMMAND is set,
/// otherwise the CLI (status, enter, cleanup).
public enum RootlessNetnsMain {
    /// `main.swift`: runs with the process's arguments and exits with the status.
    public static func main() -> Never { PluginProcess.exit(run(arguments: CommandLine.arguments)) }

    public static func run(arguments: [String]) -> Int32 {
        PhaseTrace.mark("start")
        let env = PluginProcess.environment()
        if env["CNI_COMMAND"] != nil {
            let rc = PluginProcess.run(RootlessNetnsPlugin(hostEnv: env), environment: env)
            PhaseTrace.mark("end")
            return rc
        }
        // Internal: pasta's port forwarder, started by the plugin inside the shared namespace.
        if arguments.count == 3, arguments[1] == HiddenCommand.forwarder.rawValue {
            return Forwarder.main(socketPath: arguments[2])
        }
        // Internal: sysctl writes inside the shared namespace (see NetnsSysctl).
        if arguments.count >= 2, arguments[1] == HiddenCommand.sysctl.rawValue {
            return NetnsSysctl.main(Array(arguments.dropFirst(2)))
        }
        return CLI(env: env).run(Array(arguments.dropFirst()))
    }
}
