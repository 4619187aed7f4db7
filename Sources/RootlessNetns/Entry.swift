import CNI
import Glibc
import System

/// Entry point of the `rootless-netns` executable: a CNI plugin when CNI_COMMAND is set,
/// otherwise the CLI (status, enter, cleanup).
public enum RootlessNetnsMain {
    public static func run(arguments: [String]) -> Int32 {
        let env = Identity.environment()
        if env["CNI_COMMAND"] != nil {
            let output = PluginMain.dispatch(RootlessNetnsPlugin(hostEnv: env), env: env) {
                try StdIO.readStdin(limit: NetConf.maxSize + 1)
            }
            StdIO.writeStdout(output.stdout)
            return output.exitCode
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

enum StdIO {
    static func readStdin(limit: Int) throws(SystemError) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while out.count < limit {
            let n = buf.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(op: "read", path: "stdin", errno: errno)
            }
            if n == 0 { break }
            out += buf[0..<n]
        }
        return out
    }

    static func writeStdout(_ text: String) { write(fd: 1, Array(text.utf8)) }

    static func write(fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}
