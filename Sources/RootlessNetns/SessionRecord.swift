import JSON
import System

/// Which user + mount namespace owns a state dir: written at ADD (the shared namespace is a bind
/// mount that only that mount namespace sees), read by the CLI to join it from anywhere, as
/// `podman unshare --rootless-netns` does. `holder` is the helper, a process known to live there
/// (unless it sandboxes itself in a mount namespace of its own, as slirp4netns does: then the
/// CLI finds a member by scanning /proc).
struct SessionRecord: Equatable {
    var userns: String
    var mntns: String
    var holder: ProcessIdentity?
    /// XDG_RUNTIME_DIR of the ADD that wrote it: where the netns path was derived from.
    var runtimeDir: String?

    static func path(_ state: StateDir) -> String { state.root + "/session.json" }

    /// This process's namespaces (the plugin's, at ADD).
    static func current(holder: ProcessIdentity?, runtimeDir: String?) -> SessionRecord? {
        guard let u = NamespaceJoin.identity(pid: nil, "user"), let m = NamespaceJoin.identity(pid: nil, "mnt") else { return nil }
        return SessionRecord(userns: u, mntns: m, holder: holder, runtimeDir: runtimeDir)
    }

    /// Called at ADD once the helper runs. Best effort: without it the CLI answers from where it
    /// is and says so.
    static func record(_ context: Context, helper: HelperRecord) {
        guard let rec = current(holder: helper.identity, runtimeDir: context.runtimeDir),
              load(context.state) != rec else { return }
        try? FS.writeFileAtomically(path(context.state), Array(rec.json().encoded(pretty: false).utf8), mode: 0o600)
    }

    static func load(_ state: StateDir) -> SessionRecord? {
        guard let text = try? FS.readText(path(state), limit: 1 << 16), let json = try? JSON.parse(text) else { return nil }
        return SessionRecord(json: json)
    }

    func json() -> JSON {
        var o: JSONObject = ["userns": .string(userns), "mntns": .string(mntns)]
        if let holder { o["holder"] = .string(holder.encoded) }
        if let runtimeDir { o["runtimeDir"] = .string(runtimeDir) }
        return .object(o)
    }

    init(userns: String, mntns: String, holder: ProcessIdentity?, runtimeDir: String?) {
        self.userns = userns; self.mntns = mntns; self.holder = holder; self.runtimeDir = runtimeDir
    }

    init?(json: JSON) {
        guard let u = json["userns"]?.stringValue, let m = json["mntns"]?.stringValue,
              u.hasPrefix("user:["), m.hasPrefix("mnt:[") else { return nil }
        userns = u
        mntns = m
        holder = json["holder"]?.stringValue.flatMap(ProcessIdentity.init(encoded:))
        runtimeDir = json["runtimeDir"]?.stringValue
    }

    /// True when this process already is in the recorded namespaces.
    var isCurrent: Bool {
        NamespaceJoin.identity(pid: nil, "user") == userns && NamespaceJoin.identity(pid: nil, "mnt") == mntns
    }

    /// A live process in the recorded namespaces: the holder if it still is who it was, else any.
    func findMember() -> Int32? {
        if let h = holder, Processes.identity(of: h.pid) == h,
           NamespaceJoin.identity(pid: h.pid, "user") == userns, NamespaceJoin.identity(pid: h.pid, "mnt") == mntns {
            return h.pid
        }
        return NamespaceJoin.processes(userns: userns, mntns: mntns).first
    }
}
