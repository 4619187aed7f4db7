import CShim
import Glibc

/// The fork -> (setns, unshare, mounts) -> execve primitive shared by `Spawn` and `Daemons`.
/// Everything the child needs is copied to C memory before `fork(2)` (in `cshim_spawn`), so the
/// child never allocates; it reports failures through an O_CLOEXEC error pipe.
struct ChildPlan {
    enum Session { case none, processGroup, newSession }

    var path: String
    var argv: [String]
    var env: [String]
    /// `dup2(from, to)` in the child; every other fd is closed on exec.
    var fds: [(from: Int32, to: Int32)]
    var session: Session
    var enter: EnterSpec?
    /// Namespaces to join instead of `enter` (set up once by a `NamespaceHolder`).
    var join: NamespaceHolder? = nil
    /// Be a `NamespaceHolder` (no execve).
    var hold = false

    func validate() throws(SystemError) {
        for s in [path] + argv + env + (enter?.mounts.map(\.target) ?? []) + [enter?.netnsPath ?? ""] where s.utf8.contains(0) {
            throw SystemError(op: "spawn: string contains NUL", path: path, errno: EINVAL)
        }
        if !path.hasPrefix("/") { throw SystemError(op: "spawn: program path must be absolute", path: path, errno: EINVAL) }
        if fds.count > Int(CSHIM_MAX_FD_MAPS) { throw SystemError(op: "spawn: too many fds", path: path, errno: EINVAL) }
        if Set(fds.map(\.to)).count != fds.count { throw SystemError(op: "spawn: duplicate target fd", path: path, errno: EINVAL) }
        if join != nil && enter != nil { throw SystemError(op: "spawn: both join and enter", path: path, errno: EINVAL) }
        if let enter, !enter.unshareMount, enter.mounts.contains(where: \.mounts) {
            throw SystemError(op: "spawn: mount ops need unshareMount", path: path, errno: EINVAL)
        }
    }
}

/// A forked child and the read end of its error pipe.
struct LaunchedChild: ~Copyable {
    let pid: pid_t
    let errorPipe: OwnedFD
}

enum ChildLauncher {
    static func launch(_ plan: ChildPlan) throws(SystemError) -> LaunchedChild {
        try plan.validate()
        let (errRead, errWrite) = try Sys.pipe()
        let errReadFD = OwnedFD(adopting: errRead)
        let errWriteFD = OwnedFD(adopting: errWrite)

        var store = CStrings()
        defer { store.deallocate() }
        let path = store.add(plan.path)
        let argv = makeCArray(plan.argv, into: &store)
        let envp = makeCArray(plan.env, into: &store)
        let netns = plan.enter?.netnsPath.map { store.add($0) } ?? nil
        let ops = (plan.enter?.mounts ?? []).map { lower($0, &store) }
        let fds = plan.fds.map { cshim_fd_map(from: $0.from, to: $0.to) }
        let cwd = plan.join?.cwd.map { store.add($0) } ?? nil
        let session: cshim_session = switch plan.session {
        case .none: CSHIM_SESSION_NONE
        case .processGroup: CSHIM_SESSION_PGID
        case .newSession: CSHIM_SESSION_SETSID
        }

        let pid = argv.withUnsafeBufferPointer { argvBuf in
            envp.withUnsafeBufferPointer { envBuf in
                ops.withUnsafeBufferPointer { opsBuf in
                    fds.withUnsafeBufferPointer { fdBuf in
                        var spec = cshim_child_spec(
                            path: path, argv: argvBuf.baseAddress, envp: envBuf.baseAddress,
                            fds: fdBuf.baseAddress, nfds: Int32(fdBuf.count),
                            session: Int32(session.rawValue),
                            netns_path: netns, unshare_mount: plan.enter?.unshareMount == true ? 1 : 0,
                            ops: opsBuf.baseAddress, nops: Int32(opsBuf.count),
                            join_net_fd: plan.join?.netFD ?? -1, join_mnt_fd: plan.join?.mountFD ?? -1,
                            cwd: cwd, hold: plan.hold ? 1 : 0)
                        return withExtendedLifetime(plan.join) { cshim_spawn(&spec, errWriteFD.raw) }
                    }
                }
            }
        }
        if pid < 0 { throw SystemError.last("fork", plan.path) }
        _ = consume errWriteFD  // the child holds the only write end now: EOF = execve succeeded
        return LaunchedChild(pid: pid, errorPipe: errReadFD)
    }

    private static func lower(_ op: MountOp, _ store: inout CStrings) -> cshim_mount_op {
        var c = cshim_mount_op()
        c.target = UnsafePointer(store.add(op.target))
        switch op {
        case .bind(let source, _, let recursive, let readOnly):
            c.kind = Int32(CSHIM_MOUNT_BIND.rawValue)
            c.source = UnsafePointer(store.add(source))
            if recursive { c.flags |= CSHIM_MNT_RECURSIVE.rawValue }
            if readOnly { c.flags |= CSHIM_MNT_RDONLY.rawValue }
        case .tmpfs(_, let flags, let options):
            c.kind = Int32(CSHIM_MOUNT_TMPFS.rawValue)
            c.flags = flags.rawValue
            c.data = options.map { UnsafePointer(store.add($0)) } ?? nil
        case .mount(let source, _, let fstype, let flags, let options):
            c.kind = Int32(CSHIM_MOUNT_FS.rawValue)
            c.source = UnsafePointer(store.add(source))
            c.fstype = UnsafePointer(store.add(fstype))
            c.flags = flags.rawValue
            c.data = options.map { UnsafePointer(store.add($0)) } ?? nil
        case .mkdirAll(_, let mode):
            c.kind = Int32(CSHIM_MOUNT_MKDIR_ALL.rawValue)
            c.mode = UInt32(mode)
        case .createFile(_, let mode):
            c.kind = Int32(CSHIM_MOUNT_CREATE_FILE.rawValue)
            c.mode = UInt32(mode)
        }
        return c
    }

    /// Turns the child's `cshim_child_error` record into a `SystemError` naming the step.
    static func decode(_ bytes: [UInt8], plan: ChildPlan) -> SystemError? {
        guard bytes.count >= MemoryLayout<cshim_child_error>.size else { return nil }
        let rec = bytes.withUnsafeBytes { $0.loadUnaligned(as: cshim_child_error.self) }
        let ops = plan.enter?.mounts ?? []
        let op: MountOp? = rec.index >= 0 && Int(rec.index) < ops.count ? ops[Int(rec.index)] : nil
        let netns = plan.enter?.netnsPath
        let (what, path): (String, String?) = switch UInt32(rec.step) {
        case CSHIM_STEP_FDS.rawValue: ("set up child fds for", plan.path)
        case CSHIM_STEP_SESSION.rawValue: (plan.session == .newSession ? "setsid for" : "setpgid for", plan.path)
        case CSHIM_STEP_NETNS_OPEN.rawValue: ("open netns", netns)
        case CSHIM_STEP_SETNS.rawValue: ("setns", netns)
        case CSHIM_STEP_UNSHARE_MOUNT.rawValue: ("unshare(CLONE_NEWNS)", nil)
        case CSHIM_STEP_RSLAVE.rawValue: ("mount --make-rslave", "/")
        case CSHIM_STEP_MOUNT_OP.rawValue: (op?.opDescription ?? "mount op", op?.target)
        case CSHIM_STEP_MOUNT_OP_RDONLY.rawValue: ("remount read-only", op?.target)
        case CSHIM_STEP_EXECVE.rawValue: ("execve", plan.path)
        case CSHIM_STEP_JOIN_NET.rawValue: ("setns (join the shared network namespace) for", plan.path)
        case CSHIM_STEP_JOIN_MNT.rawValue: ("setns (join the delegates' mount namespace) for", plan.path)
        case CSHIM_STEP_HOLD.rawValue: ("set up the namespace holder for", plan.path)
        default: ("spawn step \(rec.step)", plan.path)
        }
        return SystemError(op: what, path: path, errno: rec.err)
    }

    /// `waitpid(2)`, EINTR retried. `nohang`: nil if still running.
    static func wait(_ pid: pid_t, nohang: Bool = false) throws(SystemError) -> ExitStatus? {
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, nohang ? WNOHANG : 0)
            if r == pid { break }
            if r == 0 { return nil }
            if Glibc.errno != EINTR { throw SystemError.last("waitpid", String(pid)) }
        }
        return decodeStatus(status)
    }

    static func decodeStatus(_ status: Int32) -> ExitStatus? {
        var value: Int32 = 0
        switch UInt32(bitPattern: cshim_decode_wait_status(status, &value)) {
        case CSHIM_WAIT_EXITED.rawValue: return .exited(value)
        case CSHIM_WAIT_SIGNALED.rawValue: return .signaled(value)
        default: return nil
        }
    }
}
