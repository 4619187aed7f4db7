import CNI
import System

/// Where things live for this caller: decided once per invocation from the config and env.
struct Context {
    var config: RootlessConfig
    /// False when the chain runs directly (mode never, or auto as real root).
    var shared: Bool
    /// Not real root in the initial user namespace (read once: it costs a /proc read).
    var rootless: Bool
    var state: StateDir
    var netnsDir: String
    var runtimeDir: String?
    var netnsPath: String
    var hostEnv: [String: String]

    /// ADD needs the runtime dir; DEL/GC succeed without it (nothing can be left to remove).
    /// It and every directory above it must be root's or ours and not writable by others
    /// unless sticky: whoever can rename in them could swap our namespace and state.
    func requireRuntimeDir() throws(RootlessError) {
        guard shared else { return }
        if rootless && runtimeDir == nil {
            throw .runtimeDirUnset
        }
        guard let dir = runtimeDir else { return }
        do { _ = try DirectoryHandle.open(dir, final: .trustedDirectory) } catch {
            if case .system(let e) = error, e.isENOENT { throw .runtimeDirMissing(dir) }
            throw RootlessError(error)
        }
    }

    /// An existing netns dir must be as private as the state dir: through a symlink, or in a
    /// directory others can write, someone else would choose or swap our namespace file.
    func checkNetnsDir() throws(RootlessError) {
        guard shared, ((try? FS.lstat(netnsDir)) ?? nil) != nil else { return }
        _ = try StateDir.openPrivate(netnsDir, what: "netns dir", create: false)
    }

    /// How long to wait for the state lock: longer than any legitimate chain of ours could hold it
    /// (every delegate up to its timeout, ADD and rollback, plus the helper's start), never
    /// less than five minutes. A waiter that gives up fails with code 11 (try again later).
    var lockTimeoutMs: Int {
        let chain = 2 * (config.delegates.count + 1) * config.delegateTimeout + config.readyTimeout + 60
        return max(300, chain) * 1000
    }

    /// Real root in the initial user namespace does not need the shared namespace.
    static func isRootless() -> Bool { !(Identity.euid == 0 && Identity.inInitialUserNamespace) }

    init(config: RootlessConfig, hostEnv: [String: String]) throws(RootlessError) {
        self.config = config
        self.hostEnv = hostEnv
        let rootless = Self.isRootless()
        self.rootless = rootless
        switch config.mode {
        case .auto: shared = rootless
        case .always: shared = true
        case .never: shared = false
        }
        var xdg = hostEnv["XDG_RUNTIME_DIR"].flatMap { $0.isEmpty ? nil : Path.clean($0) }
        if let relative = xdg, !relative.hasPrefix("/") {
            throw .runtimeDirRelative(relative)
        }
        // One directory, one spelling: a symlinked XDG_RUNTIME_DIR or /var/run for /run must
        // name the same namespace, state and lock (see `netnsName`).
        xdg = xdg.map(FS.canonicalPath)
        runtimeDir = xdg
        if rootless {
            // Unset: nothing of ours can exist, so DEL/GC succeed; ADD/CHECK fail in requireRuntimeDir.
            let base = xdg ?? "/nonexistent/XDG_RUNTIME_DIR"
            netnsDir = base + "/netns"
            state = StateDir(root: config.stateDir.map(Self.canonicalParent) ?? base + "/rootless-netns")
        } else {
            netnsDir = "/run/netns"
            state = StateDir(root: Self.canonicalParent(config.stateDir ?? "/run/rootless-netns"))
        }
        netnsPath = netnsDir + "/" + Self.netnsName(stateDir: state.root)
        try Self.checkPathLengths(stateDir: state.root, shared: shared)
    }

    /// The canonical spelling of the directory `path` is in, plus its last component as written:
    /// a state dir that is itself a symlink must still be seen (and refused) as one.
    static func canonicalParent(_ path: String) -> String {
        let clean = Path.clean(path)
        guard clean.hasPrefix("/"), clean != "/", let slash = clean.lastIndex(of: "/") else { return clean }
        let parent = FS.canonicalPath(Path.dirname(clean))
        return (parent == "/" ? "" : parent) + clean[slash...]
    }

    /// Paths that would fail late (after delegates ran) fail now: the helper's and the
    /// forwarder's unix sockets live in the state dir, and sun_path holds 107 bytes.
    static func checkPathLengths(stateDir: String, shared: Bool) throws(RootlessError) {
        guard shared else { return }
        let longest = stateDir.utf8.count + "/slirp4netns.sock".utf8.count
        if longest > 107 {
            throw .invalidConfig(field: "stateDir",
                                 why: "\"\(stateDir)\" is too long (\(stateDir.utf8.count) bytes): its unix sockets need at most \(107 - "/slirp4netns.sock".utf8.count)")
        }
    }

    /// `rootless-netns-<first 10 bytes of sha256(stateDir), hex>`, as podman names it, of the
    /// canonical state dir path (realpath of its existing part; see `init`). Not its
    /// (st_dev, st_ino): the name must be known before the dir exists (and on DEL, which never
    /// creates it), stay the same when a tmpfs runtime dir is recreated at the next login, and
    /// stay what it always was for the usual, already canonical /run/user/UID spelling.
    static func netnsName(stateDir: String) -> String {
        "rootless-netns-" + SHA256.hex(SHA256.hash(Array(stateDir.utf8)).prefix(10))
    }

    /// PATH for delegates: the caller's, with /usr/sbin appended when missing (Debian's user
    /// PATH lacks it, and portmap/firewall exec iptables from there).
    var delegatePATH: String {
        // Empty entries mean "the current directory": never hand those to a delegate.
        var parts = (hostEnv["PATH"] ?? "").split(separator: ":").map(String.init).filter { $0.hasPrefix("/") }
        if parts.isEmpty { parts = ["/usr/local/bin", "/usr/bin", "/bin"] }
        for dir in ["/usr/sbin", "/sbin"] where !parts.contains(dir) { parts.append(dir) }
        return parts.joined(separator: ":")
    }

    /// What delegates see besides CNI_*: a sane PATH and the runtime dir, not the caller's whole
    /// environment unless `passEnvironment` is set.
    var delegateBaseEnv: [String: String] {
        var env: [String: String] = config.passEnvironment ? hostEnv.filter { !$0.key.hasPrefix("CNI_") } : [:]
        env["PATH"] = delegatePATH
        if let runtimeDir { env["XDG_RUNTIME_DIR"] = runtimeDir }
        return env
    }
}
