import Netlink
import System

/// Where names and defaults point, given who we are: host root (euid 0 in the initial user
/// namespace, like `ip netns` and libcni as root) or a rootless user (cnitool's session layout).
public struct Locations: Sendable, Equatable {
    public var isHostRoot: Bool
    /// $XDG_RUNTIME_DIR, else /run/user/EUID.
    public var runtimeDir: String

    public init(isHostRoot: Bool, runtimeDir: String) {
        self.isHostRoot = isHostRoot
        self.runtimeDir = runtimeDir
    }

    public static func current(environment: [String: String]) -> Locations {
        let uid = Identity.euid
        let runtime = environment["XDG_RUNTIME_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/run/user/\(uid)"
        return Locations(isHostRoot: uid == 0 && Identity.inInitialUserNamespace, runtimeDir: runtime)
    }

    /// `--netns` value to a path: anything with a `/` is a path; a bare name is an `ip netns` name,
    /// /run/netns/NAME as host root, $XDG_RUNTIME_DIR/netns/NAME (cnitool's session namespaces)
    /// otherwise, falling back to /run/netns/NAME when only that one exists.
    public func netnsPath(_ value: String, exists: (String) -> Bool) -> String {
        if value.contains("/") { return value }
        let system = "/run/netns/" + value
        if isHostRoot { return system }
        let user = runtimeDir + "/netns/" + value
        return !exists(user) && exists(system) ? system : user
    }

    /// libcni result caches to look in, in order: /var/lib/cni as host root (libcni's default);
    /// otherwise cnitool's $XDG_RUNTIME_DIR/cni first, then /var/lib/cni (what libcni-based
    /// runtimes such as containerd use inside their own rootless mount namespace).
    public var cacheDirs: [String] {
        isHostRoot ? ["/var/lib/cni"] : [runtimeDir + "/cni", "/var/lib/cni"]
    }
}

/// What the diagnosis needs to know about a path (from `FS.stat`; tests make their own).
public struct PathInfo: Equatable, Sendable {
    /// An empty regular file that is not a namespace file (namespace files stat the same way):
    /// what a namespace bind mount's target looks like outside its mount namespace.
    public var isEmptyRegularFile: Bool
    public init(isEmptyRegularFile: Bool) { self.isEmptyRegularFile = isEmptyRegularFile }

    public static func of(_ path: String) -> PathInfo? {
        guard let info = try? FS.stat(path) else { return nil }
        return PathInfo(isEmptyRegularFile: info.type == .regular && info.size == 0 && !isNamespaceFile(info))
    }

    /// Namespace files all live on the one nsfs superblock: same device as our own netns file.
    static func isNamespaceFile(_ info: FileInfo) -> Bool {
        guard let own = try? FS.stat("/proc/self/ns/net") else { return false }
        return info.dev == own.dev
    }
}

/// Turns a failure to open a namespace path into what a user can act on. A namespace that a
/// rootless session bind-mounted exists only inside that session's mount namespace: from outside,
/// its path is the empty file the mount sits on (setns: EINVAL) or missing altogether (ENOENT).
enum NetnsDiagnosis {
    static func explain(_ error: NetlinkError, path: String, locations: Locations,
                        stat: (String) -> PathInfo?, sessionPid: () -> Int32?) -> InspectError {
        let inSessionDirs = path.hasPrefix(locations.runtimeDir + "/") || path.hasPrefix("/run/user/")
        let advice: String
        if let pid = sessionPid() {
            advice = "If it is a rootless session's namespace, run this inside that session: "
                + "`nsenter --user --mount --preserve-credentials -t \(pid) netstat-inspect ...` "
                + "(or `scripts/cnitool session exec -- netstat-inspect ...`)"
        } else {
            advice = "If it is a rootless session's namespace, run this inside that session "
                + "(`scripts/cnitool session exec -- netstat-inspect ...`, or `nsenter --user --mount "
                + "--preserve-credentials -t PID` of a process in it, e.g. the rootless-netns helper)"
        }
        switch error {
        case .notNetworkNamespace:
            if let info = stat(path), info.isEmptyRegularFile {
                return .netnsUnreachable(
                    path: path,
                    reason: "no network namespace is mounted on this empty file in this mount namespace "
                        + "(it is bind-mounted in another one, such as a rootless session's, or it is gone)",
                    advice: advice)
            }
            return .netlink(error)
        case .namespace(let e) where e.isENOENT && inSessionDirs:
            return .netnsUnreachable(path: path, reason: "no such file here", advice: advice)
        default:
            return .netlink(error)
        }
    }
}
