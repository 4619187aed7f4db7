import CNI
import JSON
import System

/// What we know about the running helper, persisted as helper.json.
struct HelperRecord: Equatable {
    var backend: BackendKind
    var identity: ProcessIdentity
    var netns: String
    /// The shared namespace's own address (where host forwards land) and its DNS servers.
    var guestAddress: String
    var dnsServers: [String]
    /// False while its starter waits for it: found so by a later run (which holds the lock), the
    /// starter died before the helper was ready, and nobody may rely on it (podman #15899 style
    /// half-started helpers; slirp4netns even dies of SIGPIPE once it reports ready to no one).
    var ready = true

    func json() -> JSON {
        ["backend": .string(backend.rawValue), "pid": .int(Int64(identity.pid)),
         "startTime": .int(Int64(truncatingIfNeeded: identity.startTime)), "exe": .string(identity.exe),
         "netns": .string(netns), "guestAddress": .string(guestAddress),
         "dnsServers": .array(dnsServers.map { .string($0) }), "ready": .bool(ready)]
    }

    init(backend: BackendKind, identity: ProcessIdentity, netns: String, guestAddress: String, dnsServers: [String]) {
        self.backend = backend; self.identity = identity; self.netns = netns
        self.guestAddress = guestAddress; self.dnsServers = dnsServers
    }

    init?(json: JSON) {
        guard let b = json["backend"]?.stringValue.flatMap(BackendKind.init(rawValue:)),
              let pid = json["pid"]?.intValue, let st = json["startTime"]?.intValue,
              let exe = json["exe"]?.stringValue else { return nil }
        backend = b
        identity = ProcessIdentity(pid: Int32(truncatingIfNeeded: pid), startTime: UInt64(truncatingIfNeeded: st), exe: exe)
        netns = json["netns"]?.stringValue ?? ""
        guestAddress = json["guestAddress"]?.stringValue ?? ""
        dnsServers = (json["dnsServers"]?.arrayValue ?? []).compactMap(\.stringValue)
        ready = json["ready"]?.boolValue ?? true
    }

    /// Through the state dir's handle: a regular file only (never a symlink, never blocking).
    static func load(_ state: StateDir) -> HelperRecord? {
        guard let bytes = (try? state.readFile("helper.json", limit: 1 << 16)) ?? nil,
              let json = try? JSON.parse(bytes) else { return nil }
        return HelperRecord(json: json)
    }

    /// Atomically and durably (file and directory fsynced).
    func save(_ state: StateDir) throws(RootlessError) {
        try state.writeFile("helper.json", Array(json().encoded().utf8))
    }

    /// Alive, still the process we started (same start time and executable), and still a helper
    /// of this namespace: the record is only a file, and one naming an unrelated process
    /// (hand-edited, restored from a backup) must never get that process trusted or signalled.
    var isAlive: Bool {
        Processes.identity(of: identity.pid) == identity && Backends.isHelper(pid: identity.pid, netnsPath: netns)
    }
}

/// A user-mode network helper implementation.
protocol HelperBackend {
    var kind: BackendKind { get }
    var binary: String { get }
    /// Starts the helper for `netnsPath` and waits until the namespace is configured.
    func start(context: Context, netnsPath: String) throws(RootlessError) -> HelperRecord
    /// Installs the host → container forwards of one attachment; rolls back its own on failure.
    /// The forwards methods default to our port forwarder, the path of both backends.
    func addForwards(_ mappings: [PortMapping], record: HelperRecord, result: CNIResult,
                     context: Context) throws(RootlessError) -> [HostForward]
    /// Removes forwards by what they are (proto, host address, port): one that is already gone
    /// counts as removed. Collects errors and keeps going.
    func removeForwards(_ forwards: [HostForward], context: Context) -> [RootlessError]
    /// After the helper or the forwarder was (re)started: re-adds every recorded forward of every
    /// live attachment that is not in place. Idempotent; errors are per forward.
    func restoreForwards(_ forwards: [HostForward], record: HelperRecord, context: Context) -> [RootlessError]
    /// Recorded forwards that are not in place (CHECK reports them).
    func missingForwards(_ forwards: [HostForward], record: HelperRecord, context: Context) -> [HostForward]
    /// Stops processes the backend runs besides the helper (the port forwarder) at teardown.
    func stopAuxiliary(context: Context) -> [RootlessError]
}

extension HelperBackend {
    // Our forwarder, inside the namespace, serves both backends: it gets each host socket (bound
    // here, so a taken port fails now) and connects to the container. A backend with forwards of
    // its own (slirp4netns's API, `portForwarder: "slirp4netns"`) adds them to these.
    func addForwards(_ mappings: [PortMapping], record: HelperRecord, result: CNIResult,
                     context: Context) throws(RootlessError) -> [HostForward] {
        try ForwarderForwards.add(mappings, netnsPath: record.netns, result: result, context: context)
    }

    func removeForwards(_ forwards: [HostForward], context: Context) -> [RootlessError] {
        ForwarderForwards.remove(forwards, context: context)
    }

    func restoreForwards(_ forwards: [HostForward], record: HelperRecord, context: Context) -> [RootlessError] {
        ForwarderClient(state: context.state).restore(forwards, netnsPath: record.netns,
                                                      timeoutMs: context.config.readyTimeout * 1000,
                                                      options: ForwarderOptions(context.config))
    }

    func missingForwards(_ forwards: [HostForward], record: HelperRecord, context: Context) -> [HostForward] {
        ForwarderClient(state: context.state).missing(forwards)
    }

    /// The forwarder goes with the namespace.
    func stopAuxiliary(context: Context) -> [RootlessError] { ForwarderClient(state: context.state).stop() }
}

enum Backends {
    /// `backendPath`, else the backend's binary in PATH (plus the usual system dirs).
    static func locate(_ kind: BackendKind, context: Context) -> String? {
        if let p = context.config.backendPath { return FS.isExecutable(p) ? p : nil }
        let dirs = (context.hostEnv["PATH"] ?? "").split(separator: ":").map(String.init)
        return FS.findExecutable(kind.rawValue, in: dirs + ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"])
    }

    /// The configured backend, or slirp4netns when installed, else pasta.
    static func resolve(context: Context) throws(RootlessError) -> any HelperBackend {
        let kinds: [BackendKind] = context.config.backend.map { [$0] } ?? [.slirp4netns, .pasta]
        for kind in kinds {
            if let binary = locate(kind, context: context) { return kind.backend(binary: binary) }
        }
        let what = context.config.backendPath.map { "backendPath \($0) is not an executable file" }
            ?? "no \(kinds.map(\.rawValue).joined(separator: " or ")) binary found in PATH"
        throw .helperNotFound(what)
    }

    /// Helpers of this namespace we lost track of, scanning /proc only when one may exist.
    /// A stray is left by a start that did not finish (its starter killed: every start opens
    /// helper.log before it forks) or by state that vanished under a live helper (a removed
    /// runtime dir). So: no scan if the lock file carries the mark of an earlier scan (it
    /// outlives teardowns and dies with the state dir) and no helper file is there, or if the
    /// ready helper just `stopped` was the only one started since the last scan.
    static func strays(_ state: StateDir, netnsPath: String, stopped: HelperRecord? = nil) -> [ProcessIdentity] {
        if let stopped, stopped.ready { return [] }
        let marked = (((try? FS.lstat(state.lock)) ?? nil)?.size ?? 0) > 0
        if marked && ![state.helperLog, state.helperPidFile, state.helperRecord].contains(where: { FS.exists($0) }) {
            return []
        }
        let found = orphans(netnsPath: netnsPath, except: nil)
        if !marked { try? FS.overwriteStart(state.lock, Array("scanned\n".utf8)) }
        return found
    }

    /// Helpers of this namespace that we lost track of (a plugin killed between starting one
    /// and recording it): their command line names our namespace path, so they are ours.
    /// Scans all of /proc: see `strays`.
    static func orphans(netnsPath: String, except: Int32?) -> [ProcessIdentity] {
        guard let entries = try? FS.listDirectory("/proc") else { return [] }
        var found: [ProcessIdentity] = []
        for name in entries {
            guard let pid = Int32(name), pid != except, pid != Identity.pid, isHelper(pid: pid, netnsPath: netnsPath),
                  let id = Processes.identity(of: pid) else { continue }
            found.append(id)
        }
        return found
    }

    /// A slirp4netns/pasta process whose command line names `netnsPath`.
    static func isHelper(pid: Int32, netnsPath: String) -> Bool {
        guard !netnsPath.isEmpty, let cmdline = try? FS.readFile("/proc/\(pid)/cmdline", limit: 1 << 16) else { return false }
        let args = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard let exe = args.first, exe.hasSuffix("slirp4netns") || exe.hasSuffix("pasta") || exe.hasSuffix("passt") else {
            return false
        }
        return args.contains(netnsPath)
    }

    /// Log tail quoted in errors: the last 2 KiB of the helper's log.
    static func logTail(_ state: StateDir) -> String {
        guard let bytes = try? FS.readFile(state.helperLog, limit: 16 << 20) else { return "" }
        return String(decoding: bytes.suffix(2048), as: UTF8.self).trimmingCharacters
    }
}

extension BackendKind {
    /// The one kind → implementation switch.
    func backend(binary: String) -> any HelperBackend {
        switch self {
        case .slirp4netns: Slirp4netnsBackend(binary: binary)
        case .pasta: PastaBackend(binary: binary)
        }
    }
}

extension String {
    /// Spaces, tabs and newlines off both ends (the one trim for helper output and /proc files).
    var trimmingCharacters: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\n" || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\n" || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}
