import CNI
import System

/// The shared namespace and its helper: bring up, check, tear down. Callers hold the lock.
struct SharedNetns {
    var context: Context
    var state: StateDir { context.state }
    var path: String { context.netnsPath }

    enum Health: Equatable {
        case up(HelperRecord)
        case helperDead(HelperRecord?)
        case netnsMissing
    }

    func health() -> Health {
        guard isMounted else { return .netnsMissing }
        guard let record = HelperRecord.load(state) else { return .helperDead(nil) }
        // Another spelling of our path (an older record) still names our namespace.
        guard servesOurNamespace(record) else { return .helperDead(record) }
        // Callers hold the lock, so a helper still marked not ready lost its starter.
        return record.isAlive && record.ready ? .up(record) : .helperDead(record)
    }

    func servesOurNamespace(_ record: HelperRecord) -> Bool {
        record.netns == path || NetNS.sameNamespace(record.netns, path)
    }

    /// A live helper recorded for another namespace (the same stateDir reached with another
    /// XDG_RUNTIME_DIR) is never stopped or replaced: its containers would lose connectivity.
    func refuseForeignHelper(_ record: HelperRecord?) throws(RootlessError) {
        guard let record, !servesOurNamespace(record), record.isAlive else { return }
        throw .stateDirInUse(stateDir: state.root, netns: record.netns, pid: record.identity.pid, ours: path)
    }

    var isSymlink: Bool { ((try? FS.lstat(path)) ?? nil)?.type == .symlink }

    /// Our namespace is mounted at `path`. statfs follows symlinks, and a link to some other
    /// namespace (a container's) is not ours.
    var isMounted: Bool { !isSymlink && Mounts.isNsfs(path) }

    /// Makes sure the namespace exists and its helper runs; returns the helper. A dead helper is
    /// restarted into the existing namespace so attached containers regain connectivity.
    func ensureUp() throws(RootlessError) -> (HelperRecord, any HelperBackend) {
        let backend = try Backends.resolve(context: context)
        switch health() {
        case .up(let record) where record.backend == backend.kind:
            SessionRecord.record(context, helper: record)  // the CLI joins this session from anywhere
            return (record, backend)
        case .up(let record):
            // Backend changed in the config: the old helper goes.
            stopHelper(record)
        case .helperDead(let record):
            try refuseForeignHelper(record)
            if let record { stopHelper(record) }
        case .netnsMissing:
            let record = HelperRecord.load(state)
            try refuseForeignHelper(record)
            if let record { stopHelper(record) }
            try createNetns()
        }
        // Strays from a run that was killed before it could record its helper.
        for stray in Backends.strays(state, netnsPath: path) {
            try? Processes.terminate(stray.pid, expected: stray, graceMs: 1000)
        }
        if context.config.enableIPv6 { try NetnsSysctl.apply(NetnsSysctl.ipv6, netnsPath: path) }
        let record = try backend.start(context: context, netnsPath: path)
        SessionRecord.record(context, helper: record)
        return (record, backend)
    }

    private func createNetns() throws(RootlessError) {
        do {
            try StateDir.ensurePrivateDirectory(context.netnsDir, what: "netns dir")
            if let info = try FS.lstat(path) {
                // A leftover file without its mount, or something else: replace it, never follow
                // it (umount2 would follow a symlink and unmount its target).
                if info.type == .symlink {
                    try FS.remove(path)
                } else if info.type == .regular || info.type == .other {
                    try Mounts.unmount(path)
                    try FS.remove(path)
                } else {
                    throw RootlessError.unsafePath(path, "netns path exists and is a directory")
                }
            }
            try NetNS.create(at: path)
        } catch {
            throw .from(error)
        }
    }

    /// Stops the helper only if it is verifiably the one we recorded.
    func stopHelper(_ record: HelperRecord) {
        guard record.isAlive else { return }
        try? Processes.terminate(record.identity.pid, expected: record.identity, graceMs: 2000)
    }

    /// Last attachment gone: unmount and remove the namespace, stop the helper, remove state.
    /// Collects errors and keeps going.
    func teardown() -> [RootlessError] {
        var errors: [RootlessError] = []
        let record = HelperRecord.load(state)
        if let record {
            if record.isAlive {
                do { try Processes.terminate(record.identity.pid, expected: record.identity, graceMs: 2000) } catch {
                    errors.append(.system(error))
                }
            }
        }
        for stray in Backends.strays(state, netnsPath: path, stopped: record) {
            try? Processes.terminate(stray.pid, expected: stray, graceMs: 1000)
        }
        // Auxiliaries are stopped by their records, whether or not the backend's binary can
        // still be found (uninstalled, backendPath changed): stopping never runs it.
        let auxiliaries = BackendKind.allCases.map { $0.backend(binary: "") }
        for backend in auxiliaries { errors += backend.stopAuxiliary(context: context) }
        do {
            // Never through a symlink: its target may be a container's namespace.
            if isSymlink { try FS.remove(path) } else { try NetNS.remove(at: path) }
        } catch { errors.append(.system(error)) }
        errors += state.removeAllButLock()
        return errors
    }

    /// Writes `<stateDir>/resolv.conf` from the host's current configuration, unless it already
    /// says that. Atomic, not fsynced: every ADD checks it again, and each flush costs a journal
    /// commit under the state lock (it was most of a parallel burst's serial time, figure 9).
    func writeResolvConf(helper: HelperRecord) throws(RootlessError) {
        let host = ResolvConf.parse((try? FS.readText("/etc/resolv.conf", limit: 1 << 20)) ?? "")
        let upstream = (try? FS.readText("/run/systemd/resolve/resolv.conf", limit: 1 << 20)).map(ResolvConf.parse)
        let text = ResolvConf.render(helperServers: helper.dnsServers, host: host, systemdUpstream: upstream,
                                     enableIPv6: context.config.enableIPv6)
        let bytes = Array(text.utf8)
        if (try? state.readFile("resolv.conf", limit: 1 << 20)) == bytes { return }
        try state.writeFile("resolv.conf", bytes, durable: false)
    }
}
