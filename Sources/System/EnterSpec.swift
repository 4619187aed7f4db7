import Glibc

/// Flags for `MountOp.tmpfs` / `.mount` (lowered to MS_* in the C shim).
public struct MountFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let readOnly = MountFlags(rawValue: 1 << 0)
    public static let noSuid = MountFlags(rawValue: 1 << 1)
    public static let noDev = MountFlags(rawValue: 1 << 2)
    public static let noExec = MountFlags(rawValue: 1 << 3)
}

/// One step of mount-namespace setup in the spawned child, carried out in order.
public enum MountOp: Sendable, Equatable, CustomStringConvertible {
    /// `mount(2)` MS_BIND (MS_REC if `recursive`), then a MS_REMOUNT|MS_RDONLY if `readOnly`.
    case bind(source: String, target: String, recursive: Bool = true, readOnly: Bool = false)
    /// A fresh tmpfs on `target` (`options` is mount data such as `mode=755,size=1m`).
    case tmpfs(target: String, flags: MountFlags = [.noSuid, .noDev], options: String? = nil)
    /// Any other filesystem, e.g. `.mount(source: "sysfs", target: "/sys", fstype: "sysfs")` so
    /// /sys/class/net shows the entered network namespace.
    case mount(source: String, target: String, fstype: String, flags: MountFlags = [], options: String? = nil)
    /// `mkdir -p` (existing directories are fine).
    case mkdirAll(String, mode: mode_t = 0o755)
    /// Creates an empty file if missing (a file bind-mount target).
    case createFile(String, mode: mode_t = 0o644)

    /// True for the ops that change the mount table (and so need a private mount namespace).
    var mounts: Bool {
        switch self {
        case .bind, .tmpfs, .mount: true
        case .mkdirAll, .createFile: false
        }
    }

    var target: String {
        switch self {
        case .bind(_, let t, _, _), .tmpfs(let t, _, _), .mount(_, let t, _, _, _): t
        case .mkdirAll(let t, _), .createFile(let t, _): t
        }
    }

    /// The op as an error prefix: `mount --rbind /etc/resolv.conf` (the target is the error's path).
    var opDescription: String {
        switch self {
        case .bind(let s, _, let rec, _): "mount \(rec ? "--rbind" : "--bind") \(s)"
        case .tmpfs: "mount -t tmpfs tmpfs"
        case .mount(let s, _, let fs, _, _): "mount -t \(fs) \(s)"
        case .mkdirAll: "mkdir -p"
        case .createFile: "create"
        }
    }

    public var description: String { "\(opDescription) \(target)" }
}

/// What the spawned child does between fork and execve, in this order: enter the network
/// namespace, unshare a private (rslave) mount namespace, carry out `mounts`.
public struct EnterSpec: Sendable, Equatable {
    /// `open(2)` + `setns(2)` CLONE_NEWNET.
    public var netnsPath: String?
    /// `unshare(2)` CLONE_NEWNS, then `mount(NULL, "/", NULL, MS_REC|MS_SLAVE)`: our mounts stay
    /// private, host unmounts still reach us (podman #25994). Required for mount-changing ops.
    public var unshareMount: Bool
    /// Performed in order; the first failure aborts the child with a message naming the op,
    /// source, target and errno.
    public var mounts: [MountOp]

    public init(netnsPath: String? = nil, unshareMount: Bool = false, mounts: [MountOp] = []) {
        self.netnsPath = netnsPath
        self.unshareMount = unshareMount
        self.mounts = mounts
    }
}

/// How a child ended.
public enum ExitStatus: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var isSuccess: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let code): "exit status \(code)"
        case .signaled(let sig): "killed by signal \(sig)"
        }
    }
}
