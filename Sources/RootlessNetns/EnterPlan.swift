import System

/// The mount namespace the delegates run in, built in podman's order (RootlessNetNS.Do):
/// the runtime dir mirrored, /run/systemd kept, our resolv.conf over the host's (or over its
/// first symlink target under /run), our /var/lib/cni, then our run/ as /run.
struct EnterPlan {
    var state: StateDir
    var netnsPath: String
    /// Host directories under /run that must stay reachable (XDG_RUNTIME_DIR, CNI_NETNS's dir).
    var mirrors: [String]
    /// Where the host's /etc/resolv.conf really is (see `ResolvConfLocator`).
    var resolvTarget: String
    /// /var/lib/cni or its nearest existing parent.
    var varTarget: String
    var hasRunSystemd: Bool

    /// Probes the host view once (in the parent, before any namespace change).
    static func make(context: Context, containerNetns: String) throws(RootlessError) -> EnterPlan {
        var mirrors: [String] = []
        func addMirror(_ dir: String) {
            let d = Path.clean(dir)
            guard Path.isWithin(d, "/run"), d != "/run", !mirrors.contains(where: { Path.isWithin(d, $0) }) else { return }
            mirrors.removeAll { Path.isWithin($0, d) }
            mirrors.append(d)
        }
        if let xdg = context.runtimeDir { addMirror(xdg) }
        addMirror(context.netnsDir)
        if !containerNetns.isEmpty, containerNetns.hasPrefix("/") { addMirror(Path.dirname(containerNetns)) }

        let locator = ResolvConfLocator(readLink: { path in
            guard let info = try FS.lstat(path) else { throw SystemError(op: "stat resolv.conf path", path: path, errno: 2) }
            return info.type == .symlink ? try FS.readlink(path) : nil
        })
        let resolvTarget: String
        do { resolvTarget = try locator.resolve("/etc/resolv.conf") } catch let e as SystemError {
            throw .system(e)
        } catch {
            throw .internalError("\(error)")
        }
        var varTarget = "/var/lib/cni"
        while varTarget != "/" && !FS.exists(varTarget) { varTarget = Path.dirname(varTarget) }
        if varTarget == "/" { throw .internalError("none of /var/lib/cni, /var/lib, /var exists") }
        // The child mounts by path (an fd of ours names mounts of the namespace it leaves):
        // the path must still lead to the verified state dir.
        try context.state.verifyPath()
        return EnterPlan(state: context.state, netnsPath: context.netnsPath, mirrors: mirrors,
                         resolvTarget: resolvTarget, varTarget: varTarget,
                         hasRunSystemd: FS.exists("/run/systemd"))
    }

    var mountOps: [MountOp] {
        var ops: [MountOp] = []
        // 1. Keep the runtime dir (and with it CNI_NETNS) reachable under the new /run.
        for dir in mirrors {
            let target = state.mirror(of: dir)
            ops.append(.mkdirAll(target, mode: 0o700))
            ops.append(.bind(source: dir, target: target, recursive: true))
        }
        // 2. Many files are symlinked into /run/systemd (e.g. /dev/log).
        if hasRunSystemd {
            ops.append(.mkdirAll(state.run + "/systemd", mode: 0o700))
            ops.append(.bind(source: "/run/systemd", target: state.run + "/systemd", recursive: true))
        }
        // 3. resolv.conf. A tmpfs over systemd's resolve dir keeps our bind from being dropped
        //    when systemd-resolved recreates its stub file (podman #10929).
        if resolvTarget.hasPrefix("/run/") {
            if resolvTarget.hasPrefix("/run/systemd/resolve/") {
                // Without a host /run/systemd/resolve (or /run/systemd) the target dir is ours to make.
                ops.append(.mkdirAll(state.run + "/systemd/resolve", mode: 0o700))
                ops.append(.tmpfs(target: state.run + "/systemd/resolve", flags: [.noExec, .noSuid, .noDev]))
            }
            let target = state.mirror(of: resolvTarget)
            ops.append(.mkdirAll(Path.dirname(target), mode: 0o700))
            ops.append(.createFile(target, mode: 0o600))
            ops.append(.bind(source: state.resolvConf, target: target, recursive: false))
        } else {
            ops.append(.bind(source: state.resolvConf, target: resolvTarget, recursive: false))
        }
        // 4. Our /var/lib/cni (host-local leases, portmap state) before /run goes.
        ops.append(.bind(source: Path.under(state.root, varTarget), target: varTarget, recursive: false))
        // 5. The prepared run dir becomes /run, recursively so the binds above stay.
        ops.append(.bind(source: state.run, target: "/run", recursive: true))
        return ops
    }

    var enterSpec: EnterSpec {
        EnterSpec(netnsPath: netnsPath, unshareMount: true, mounts: mountOps)
    }
}
