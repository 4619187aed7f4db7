import System

/// Network sysctls of the shared namespace. /proc/sys/net shows the namespace of the process
/// that opens it, so the writes happen in a child of our own binary that entered it
/// (`rootless-netns __sysctl key=value...`): no shell, no setns in this process.
enum NetnsSysctl {
    /// IPv6 in the shared namespace: no DAD (podman #11062: the helper's address sat tentative
    /// for seconds), and router advertisements accepted although the bridge turns forwarding on
    /// (accept_ra=2), so the helper's RA gives the namespace its IPv6 address and default route.
    static let ipv6: [(String, String)] = [
        ("net.ipv6.conf.all.accept_dad", "0"), ("net.ipv6.conf.default.accept_dad", "0"),
        ("net.ipv6.conf.default.accept_ra", "2"), ("net.ipv6.conf.all.accept_ra", "2"),
    ]

    static func apply(_ settings: [(String, String)], netnsPath: String) throws(RootlessError) {
        let exe: String
        do { exe = try Identity.executablePath() } catch { throw .system(error) }
        let args = [exe, HiddenCommand.sysctl.rawValue] + settings.map { "\($0.0)=\($0.1)" }
        let result: SpawnResult
        do {
            result = try Spawn.run(SpawnRequest(path: exe, argv: args, env: [], enter: EnterSpec(netnsPath: netnsPath),
                                                timeoutMs: 10_000))
        } catch { throw .system(error) }
        if let failure = result.setupFailure { throw .system(failure) }
        guard result.status.isSuccess else {
            throw .internalError("setting sysctls in \(netnsPath): \(String(decoding: result.stderr, as: UTF8.self).trimmingCharacters)")
        }
    }

    /// The child's side: writes each `a.b.c=value` to /proc/sys/a/b/c. Exit 1 on the first failure.
    static func main(_ settings: [String]) -> Int32 {
        for setting in settings {
            guard let eq = setting.firstIndex(of: "=") else { return 2 }
            let key = setting[..<eq]
            // Keys are ours (constants above), but never let one climb out of /proc/sys.
            guard !key.contains("/"), !key.isEmpty else { return 2 }
            do { try Sysctl.write(String(key), String(setting[setting.index(after: eq)...])) } catch {
                StdIO.writeStderr("\(error)\n")
                return 1
            }
        }
        return 0
    }
}
