import CShim
import Glibc

/// Network namespaces pinned by a bind mount on a file (like `ip netns add`).
public enum NetNS {
    /// Creates a new network namespace bind-mounted at `path`. The file is created if missing
    /// (its parent directory must exist: the caller makes it 0700). A forked child does
    /// `unshare(2)` CLONE_NEWNET and `mount(2)` MS_BIND of /proc/self/ns/net onto `path`, then
    /// exits, so the calling threads never change namespace. Works as real root and as uid 0
    /// in a user namespace with its own mount namespace (a rootless session).
    ///
    /// Fails with EEXIST if `path` already holds a namespace.
    public static func create(at path: String) throws(SystemError) {
        if Mounts.isNsfs(path) { throw SystemError(op: "create netns", path: path, errno: EEXIST) }
        try FS.createEmptyFile(path, mode: 0o600)
        var step: Int32 = 0
        if cshim_netns_create(path, &step) == 0 { return }
        let err = Glibc.errno
        _ = unlink(path)
        throw SystemError(op: createOperation(step: step), path: path, errno: err)
    }

    /// What `create` was doing when the C child reported `step`.
    static func createOperation(step: Int32) -> String {
        switch UInt32(bitPattern: step) {
        case CSHIM_STEP_UNSHARE_NET.rawValue: "unshare(CLONE_NEWNET) for"
        case CSHIM_STEP_MOUNT_OP.rawValue: "mount --bind /proc/self/ns/net"
        default: "create netns"
        }
    }

    /// Unmounts (`umount2(2)` MNT_DETACH) and unlinks `path`. Missing or not mounted is fine,
    /// so calling it twice succeeds.
    public static func remove(at path: String) throws(SystemError) {
        try Mounts.unmount(path, detach: true)
        try FS.remove(path)
    }

    /// True if both paths name the same namespace (same st_dev and st_ino after `stat(2)`),
    /// e.g. `/proc/self/ns/net` and a bind-mounted file.
    public static func sameNamespace(_ a: String, _ b: String) -> Bool {
        guard let x = try? FS.stat(a), let y = try? FS.stat(b) else { return false }
        return x.dev == y.dev && x.ino == y.ino
    }
}

/// Where `NetnsSocket.open` failed, so callers tell "not a network namespace" (setns EINVAL)
/// from a missing file or a socket error without matching operation strings.
public struct NetnsSocketError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Stage: Sendable, Equatable { case startThread, openNamespace, enterNamespace, createSocket }
    public var stage: Stage
    public var error: SystemError
    public init(_ stage: Stage, _ error: SystemError) { self.stage = stage; self.error = error }
    public var description: String { error.description }
}

/// Sockets opened inside another network namespace.
public enum NetnsSocket {
    /// `socket(2)` (SOCK_CLOEXEC added) inside `netnsPath` (nil: the current namespace). In C, a
    /// short-lived pthread opens the namespace, `setns(2)`s into it, makes the socket and exits, so
    /// no thread of ours is ever left in another namespace (switching back is impossible in a
    /// rootless session, where the host netns belongs to the initial user namespace). The socket
    /// stays bound to the namespace it was made in.
    public static func open(netnsPath: String?, family: Int32, type: Int32, proto: Int32) throws(NetnsSocketError) -> OwnedFD {
        var stage: Int32 = 0
        let fd = cshim_socket_in_netns(netnsPath, family, type, proto, &stage)
        if fd >= 0 { return OwnedFD(adopting: fd) }
        let err = Glibc.errno
        let (failed, op): (NetnsSocketError.Stage, String) = switch UInt32(bitPattern: stage) {
        case CSHIM_SOCKET_THREAD.rawValue: (.startThread, "pthread_create for socket in netns")
        case CSHIM_SOCKET_OPEN.rawValue: (.openNamespace, "open netns")
        case CSHIM_SOCKET_SETNS.rawValue: (.enterNamespace, "setns")
        default: (.createSocket, "socket in netns")
        }
        let path = failed == .createSocket ? netnsPath ?? "(current)" : netnsPath
        throw NetnsSocketError(failed, SystemError(op: op, path: path, errno: err))
    }

    /// The kernel's never-reused id (SO_NETNS_COOKIE) of the network namespace mounted at
    /// `netnsPath`, read from a throwaway socket made inside it. Namespace inode numbers are
    /// recycled as soon as a namespace is freed, so only the cookie tells one instance from a
    /// later one that got the same inode.
    public static func cookie(netnsPath: String) throws(SystemError) -> UInt64 {
        let socket: OwnedFD
        do { socket = try open(netnsPath: netnsPath, family: AF_UNIX, type: Int32(SOCK_DGRAM.rawValue), proto: 0) } catch {
            throw error.error
        }
        var cookie: UInt64 = 0
        if cshim_socket_netns_cookie(socket.raw, &cookie) != 0 {
            throw SystemError.last("getsockopt SO_NETNS_COOKIE in netns", netnsPath)
        }
        return cookie
    }

    /// The network namespace `socket` belongs to (`ioctl(2)` SIOCGSKNS, then `fstat(2)`): compare
    /// its `dev`/`ino` with `FS.stat` of a netns path to check where a socket lives. EPERM for a
    /// namespace owned by another user namespace (the host netns in a rootless session).
    public static func namespace(of socket: borrowing OwnedFD) throws(SystemError) -> FileInfo {
        let raw = cshim_socket_netns(socket.raw)
        if raw < 0 { throw SystemError.last("ioctl SIOCGSKNS on socket", String(socket.raw)) }
        let ns = OwnedFD(adopting: raw)
        var st = Glibc.stat()
        if fstat(ns.raw, &st) != 0 { throw SystemError.last("fstat netns of socket", String(socket.raw)) }
        return FileInfo(st)
    }
}

extension NetNS {
    /// Whether `path` is a network namespace file (`ioctl(2)` NS_GET_NSTYPE == CLONE_NEWNET on an
    /// O_RDONLY|O_NONBLOCK fd), not just any nsfs file (a mount or user namespace passed as
    /// CNI_NETNS would otherwise be "entered" by setns(2) with CLONE_NEWNET and fail late).
    public static func isNetworkNamespace(_ path: String) throws(SystemError) -> Bool {
        let fd = try Sys.open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY, op: "open netns")
        let r = cshim_fd_is_netns(fd.raw)
        if r < 0 {
            if Glibc.errno == ENOTTY || Glibc.errno == EINVAL { return false }
            throw SystemError.last("ioctl NS_GET_NSTYPE", path)
        }
        return r == 1
    }
}
