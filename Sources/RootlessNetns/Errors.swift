import CNI
import System

/// Everything that can go wrong in the meta-plugin. `cniError` below is the one table that
/// maps these onto CNI codes.
enum RootlessError: Error, CustomStringConvertible {
    case cni(CNIError)
    case system(SystemError)
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
