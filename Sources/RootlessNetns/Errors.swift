import CNI
import System

/// Everything that can go wrong in the meta-plugin. `cniError` below is the one table that
/// maps these onto CNI codes: throw sites name the failure, never a code.
enum RootlessError: Error, CustomStringConvertible {
    /// A delegate's error (or the CNI layer's), passed through with its own code.
    case cni(CNIError)
    case system(SystemError)
    /// A key of the plugin's config, or what it would be recorded as, is unusable.
    case invalidConfig(field: String, why: String)
    /// Rootless mode without XDG_RUNTIME_DIR (ADD/CHECK only: DEL/GC have nothing to remove).
    case runtimeDirUnset
    case runtimeDirRelative(String)
    /// CNI_NETNS does not name a network namespace.
    case invalidContainerNetns(String, NetnsProblem)
    /// The attachment record would exceed `AttachmentStore.maxRecordBytes`.
    case recordTooLarge(bytes: Int)
    /// A live helper of another namespace owns the state dir.
    case stateDirInUse(stateDir: String, netns: String, pid: Int32, ours: String)
    /// CHECK (direct mode) without prevResult.
    case prevResultMissing(command: String)
    case userNamespacesDisabled
    /// GC without `cni.dev/valid-attachments`.
    case validAttachmentsMissing
    case unsafePath(String, String)
    case runtimeDirMissing(String)
    case helperNotFound(String)
    case helperFailed(String, log: String)
    case helperDead(pid: Int32)
    case netnsMissing(String)
    case notAttached(containerID: String, ifName: String)
    case lockTimeout(String)
    case portMapping(String)
    case portForward(String)
    case corruptState(String)
    case internalError(String)

    var description: String { cniError.description }

    enum NetnsProblem: Equatable {
        case relative, notNamespace, unreadable(SystemError), otherNamespaceType
    }
}

extension RootlessError {
    /// An error from code mixing our errors with system calls, kept typed where it was typed.
    static func from(_ error: any Error) -> RootlessError {
        switch error {
        case let e as RootlessError: e
        case let e as SystemError: .system(e)
        default: .internalError("\(error)")
        }
    }
}

extension RootlessError: CNIErrorConvertible {
    var cniError: CNIError {
        switch self {
        case .cni(let e): return e
        case .system(let e): return CNIError(.ioFailure, e.description)
        case .invalidConfig(let field, let why):
            return CNIError(.invalidNetworkConfig, "invalid \(field): \(why)")
        case .runtimeDirUnset:
            return CNIError(.invalidEnvironment, "XDG_RUNTIME_DIR is not set",
                            details: "rootless mode keeps the shared namespace under $XDG_RUNTIME_DIR")
        case .runtimeDirRelative(let dir):
            return CNIError(.invalidEnvironment, "XDG_RUNTIME_DIR \(dir) is not an absolute path")
        case .invalidContainerNetns(let path, let problem):
            switch problem {
            case .relative: return CNIError(.invalidEnvironment, "CNI_NETNS \(path) is not an absolute path")
            case .notNamespace: return CNIError(.invalidEnvironment, "CNI_NETNS \(path) is not a network namespace")
            case .unreadable(let e): return CNIError(.invalidEnvironment, "CNI_NETNS \(path): \(e)")
            case .otherNamespaceType:
                return CNIError(.invalidEnvironment, "CNI_NETNS \(path) is a namespace, but not a network namespace")
            }
        case .recordTooLarge(let bytes):
            return CNIError(.invalidNetworkConfig,
                            "the attachment record would be \(bytes) bytes (limit \(AttachmentStore.maxRecordBytes)): the delegates' config or capability args are too large")
        case .stateDirInUse(let stateDir, let netns, let pid, let ours):
            return CNIError(.invalidNetworkConfig,
                            "stateDir \(stateDir) is in use by the shared namespace \(netns) (helper pid \(pid)), not \(ours)",
                            details: "the same stateDir was reached with another XDG_RUNTIME_DIR; a live helper is never replaced")
        case .prevResultMissing(let command):
            return CNIError(.invalidNetworkConfig, "\(command) needs prevResult")
        case .userNamespacesDisabled:
            return CNIError(.pluginNotAvailable, "user namespaces are disabled (user.max_user_namespaces = 0)")
        case .validAttachmentsMissing:
            return CNIError(.invalidNetworkConfig, "GC needs cni.dev/valid-attachments",
                            details: "without the list every attachment would look stale; nothing was removed")
        case .unsafePath(let path, let why):
            return CNIError(.invalidNetworkConfig, "refusing \(path): \(why)")
        case .runtimeDirMissing(let dir):
            return CNIError(.ioFailure, "XDG_RUNTIME_DIR \(dir) does not exist",
                            details: "it is removed when the user's last session ends; run `loginctl enable-linger` for this user to keep it")
        case .helperNotFound(let what):
            return CNIError(.pluginNotAvailable, what)
        case .helperFailed(let what, let log):
            return CNIError(.pluginNotAvailable, what, details: log.isEmpty ? "" : "helper log: \(log)")
        case .helperDead(let pid):
            return CNIError(.limitedConnectivity, "the network helper (pid \(pid)) of the shared namespace is not running",
                            details: "the next ADD restarts it")
        case .netnsMissing(let path):
            return CNIError(.limitedConnectivity, "the shared network namespace \(path) is gone",
                            details: "the next ADD recreates it")
        case .notAttached(let cid, let ifn):
            return CNIError(.unknownContainer, "container \(cid) (\(ifn)) is not attached to the shared namespace")
        case .lockTimeout(let path):
            return CNIError(.tryAgainLater, "timed out waiting for the lock \(path)")
        case .portMapping(let why):
            return CNIError(.invalidNetworkConfig, "invalid runtimeConfig.portMappings: \(why)")
        case .portForward(let why):
            return CNIError(.ioFailure, "port forwarding: \(why)")
        case .corruptState(let why):
            return CNIError(.ioFailure, "corrupt state: \(why)")
        case .internalError(let why):
            return CNIError(.internal, why)
        }
    }
}
