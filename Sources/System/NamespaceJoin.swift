import CShim
import Glibc

/// Namespaces of processes: their identities (`user:[4026531837]`), and running a program in the
/// user + mount namespaces of another process (a rootless session's), as `nsenter -U -m -t PID`
/// does. The switch happens in a forked single-threaded C child (setns(CLONE_NEWUSER) refuses
/// multithreaded callers); this process never changes namespace.
public enum NamespaceJoin {
    /// readlink /proc/PID/ns/KIND (`pid` nil: self), e.g. `mnt:[4026532201]`; nil if unreadable.
    public static func identity(pid: Int32?, _ kind: String) -> String? {
        try? FS.readlink("/proc/\(pid.map(String.init) ?? "self")/ns/\(kind)")
    }

    /// Live processes (pids from /proc) whose user and mount namespaces are `userns` and `mntns`.
    public static func processes(userns: String, mntns: String, limit: Int = 1) -> [Int32] {
        var found: [Int32] = []
        for name in (try? FS.listDirectory("/proc")) ?? [] {
            guard let pid = Int32(name), pid > 0 else { continue }
            if identity(pid: pid, "mnt") == mntns, identity(pid: pid, "user") == userns, Processes.isAlive(pid) {
                found.append(pid)
                if found.count >= limit { break }
            }
        }
        return found
    }

    /// Runs `path` in the user and mount namespaces of `pid` (the user namespace only if it is
    /// not ours already) with our stdio, waits for it and returns how it ended. `cwd` is kept
    /// when it exists there, else "/".
    public static func run(joining pid: Int32, path: String, argv: [String], env: [String], cwd: String?)
        throws(SystemError) -> ExitStatus {
        let sameUser = identity(pid: nil, "user") == identity(pid: pid, "user")
        let user: OwnedFD? = sameUser ? nil : try Sys.open("/proc/\(pid)/ns/user", O_RDONLY)
        let mnt = try Sys.open("/proc/\(pid)/ns/mnt", O_RDONLY)
        let (errRead, errWrite) = try Sys.pipe()
        let errReadFD = OwnedFD(adopting: errRead)
        var store = CStrings()
        defer { store.deallocate() }
        let cPath = store.add(path)
        let cCwd = cwd.map { store.add($0) } ?? nil
        let cArgv = makeCArray(argv, into: &store)
        let cEnv = makeCArray(env, into: &store)
        let child = cArgv.withUnsafeBufferPointer { a in
            cEnv.withUnsafeBufferPointer { e in
                cshim_spawn_joined(user.raw ?? -1, mnt.raw, cCwd, cPath, a.baseAddress, e.baseAddress, errWrite)
            }
        }
        let forkErrno = Glibc.errno
        _ = Glibc.close(errWrite)
        if child < 0 { throw SystemError(op: "fork", path: path, errno: forkErrno) }
        let report = (try? Sys.readSome(errReadFD.raw, max: MemoryLayout<cshim_child_error>.size, op: "read", path: nil)) ?? []
        let status = try ChildLauncher.wait(child) ?? .exited(127)
        if report.count >= MemoryLayout<cshim_child_error>.size {
            let rec = report.withUnsafeBytes { $0.loadUnaligned(as: cshim_child_error.self) }
            let what = switch UInt32(rec.step) {
            case CSHIM_JOIN_SETNS_USER.rawValue: "setns(CLONE_NEWUSER) into the user namespace of pid \(pid)"
            case CSHIM_JOIN_SETNS_MNT.rawValue: "setns(CLONE_NEWNS) into the mount namespace of pid \(pid)"
            case CSHIM_JOIN_SETID.rawValue: "become uid/gid 0 in the user namespace of pid \(pid)"
            default: "execve"
            }
            throw SystemError(op: what, path: rec.step == Int32(CSHIM_JOIN_EXECVE.rawValue) ? path : nil, errno: rec.err)
        }
        return status
    }
}
