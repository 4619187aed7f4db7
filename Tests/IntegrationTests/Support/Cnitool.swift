import Foundation

/// Runs scripts/cnitool (see `scripts/cnitool --help`).
///
///     let r = Cnitool.run(["--conflist", file, "--cache-dir", cache, "add", netnsPath])
///     #expect(r.succeeded, "\(r)")
enum Cnitool {
    /// `scripts/cnitool ARGS` under a timeout; `environment` is added to ours.
    /// The test process's CNI_* variables are dropped unless given here, so
    /// a developer's shell cannot change what a test does.
    static func run(_ args: [String], timeout: TimeInterval = 120,
                    environment: [String: String] = [:], input: String? = nil) -> CommandResult {
        let inherited = ProcessInfo.processInfo.environment.keys.filter {
            ($0.hasPrefix("CNI_") || $0 == "NETCONFPATH" || $0 == "CAP_ARGS") && environment[$0] == nil
        }
        return Command.run([Paths.cnitool] + args, timeout: timeout, environment: environment,
                           unset: Array(inherited), input: input)
    }

    /// The file name libcni gives a cache entry: NETWORK-CONTAINERID-IFNAME
    /// under CACHEDIR/results.
    static func cacheFile(cacheDir: String, network: String, containerID: String, ifname: String = "eth0") -> String {
        "\(cacheDir)/results/\(network)-\(containerID)-\(ifname)"
    }

    /// The container ID cnitool derives from a netns path when none is given
    /// (upstream cnitool: "cnitool-" + first 20 hex digits of sha512(path)).
    static func containerID(forNetns path: String) -> String? {
        let r = Command.run(["sha512sum"], timeout: 10, input: path)
        guard r.succeeded else { return nil }
        return "cnitool-" + r.stdout.prefix(20)
    }
}
