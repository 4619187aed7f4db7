import Foundation

/// Conditions for `.enabled(if:)` traits, so that a test that cannot run here
/// shows as skipped rather than passed. Each is computed once.
///
///     @Test(.enabled(if: TestConditions.isRoot && TestConditions.hasReferencePlugins))
enum TestConditions {
    /// Running as uid 0 in the host's user namespace.
    static let isRoot: Bool = getuid() == 0 && inInitialUserNamespace

    /// The containernetworking reference plugins used by the tests (bridge,
    /// host-local, portmap, loopback) are in `Paths.cniPath`.
    static let hasReferencePlugins: Bool =
        ["bridge", "host-local", "portmap", "loopback"].allSatisfy { Paths.referencePlugin($0) != nil }

    /// `iptables` is installed (portmap needs it).
    static let hasIptables: Bool = Command.which("iptables") != nil

    /// python3 is there to run scripts/cnitool (and the fake plugin).
    static let hasPython3: Bool = Command.which("python3") != nil

    /// util-linux unshare/nsenter and iproute2 `ip`.
    static let hasNamespaceTools: Bool =
        ["unshare", "nsenter", "ip"].allSatisfy { Command.which($0) != nil }

    /// An unprivileged process may create a user namespace (probed once by
    /// running `unshare --user --map-root-user true` as `nobody` when root,
    /// or as ourselves otherwise).
    static let canCreateUserNamespaces: Bool = {
        guard hasNamespaceTools else { return false }
        var argv = ["unshare", "--user", "--map-root-user", "true"]
        if getuid() == 0, Command.which("setpriv") != nil {
            argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + argv
        }
        return Command.run(argv, timeout: 15, cwd: "/").succeeded
    }()

    /// Root, with useradd/setpriv and user namespaces: throwaway unprivileged
    /// users can be made and can run a rootless session.
    static let canTestRootless: Bool =
        isRoot && hasPython3 && canCreateUserNamespaces
        && Command.which("useradd") != nil && Command.which("setpriv") != nil

    static var inInitialUserNamespace: Bool {
        guard let map = try? String(contentsOfFile: "/proc/self/uid_map", encoding: .utf8) else { return true }
        return map.split(whereSeparator: { $0 == " " || $0 == "\n" }) == ["0", "0", "4294967295"]
    }
}

/// Where things are.
enum Paths {
    /// The package root (found from this file's path at build time).
    static let repoRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() } // Support, IntegrationTests, Tests, root
        return url.path
    }()

    /// scripts/cnitool.
    static var cnitool: String { repoRoot + "/scripts/cnitool" }

    /// conf-examples/NAME.
    static func confExample(_ name: String) -> String { repoRoot + "/conf-examples/" + name }

    /// Directories searched for the reference plugins: $CNI_PATH, else the
    /// Debian package's /usr/lib/cni, then /opt/cni/bin.
    static let cniPath: String =
        ProcessInfo.processInfo.environment["CNI_PATH"].flatMap { $0.isEmpty ? nil : $0 }
        ?? "/usr/lib/cni:/opt/cni/bin"

    /// Full path of a plugin in `cniPath`, or nil.
    static func referencePlugin(_ name: String) -> String? {
        for dir in cniPath.split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }
}
