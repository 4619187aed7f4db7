import CNI
import JSON
import System

/// The files of one shared namespace under its state directory (all 0700/0600, caller-owned):
///
///     lock                 flock: namespace/helper lifecycle and records; byte-range locks on
///                          the same file: chains in flight, one per container (Locking.swift).
///                          Never removed (see removeAllButLock)
///     helper.json          the helper's identity (pid, start time, exe) and addresses
///     helper.log           the helper's stdout/stderr
///     resolv.conf          bind-mounted over /etc/resolv.conf for the delegates
///     slirp4netns.sock     slirp4netns API socket
///     run/ run/systemd/    becomes /run for the delegates
///     var/lib/cni/         becomes /var/lib/cni (host-local IPAM state, portmap/firewall state)
///     attachments/         one file per (network, container ID, ifname)
///     running/             the delegate each chain is running (see RunningDelegate)
struct StateDir {
    let root: String
    /// The open state directory once verified (shared by every copy of this value): every file
    /// below it is reached through this fd, never through `root` again.
    private let box = HandleBox()
    final class HandleBox { var handle: DirectoryHandle? }

    init(root: String) { self.root = root }

    var lock: String { root + "/lock" }
    var helperRecord: String { root + "/helper.json" }
    var helperLog: String { root + "/helper.log" }
    var helperPidFile: String { root + "/helper.pid" }
    var resolvConf: String { root + "/resolv.conf" }
    var slirpSocket: String { root + "/slirp4netns.sock" }
    var run: String { root + "/run" }
    var varLibCNI: String { root + "/var/lib/cni" }
    var attachments: String { root + "/attachments" }
    /// The same file as `lock`: flock(2) and OFD byte-range locks do not interact on Linux.
    var chainLocks: String { root + "/lock" }
    var running: String { root + "/running" }

    /// Where a host directory is mirrored so it stays visible under the delegates' new /run.
    func mirror(of hostPath: String) -> String { Path.under(run, String(hostPath.dropFirst("/run".count))) }

    /// Paths handed to other processes (the delegates' mount sources and targets, sockets) are
    /// built from `root`; right before, `root` must still lead to the directory we verified
    /// (fds cannot be used: mounts made after unshare(CLONE_NEWNS) cannot go through an fd of
    /// the namespace left). A no-op while nothing is open.
    func verifyPath() throws(RootlessError) {
        guard let h = box.handle, !h.isStillAtPath else { return }
        throw .unsafePath(root, "the stateDir path no longer leads to the directory verified at the start (a path component was replaced)")
    }

    /// Refuses a state directory someone else could tamper with: a symlink, another owner,
    /// group/world-writable, or below a directory others may write (unless sticky). Creates
    /// it (0700) when missing.
    func prepare() throws(RootlessError) {
        try prepareRoot()
        try prepareLayout()
    }

    /// Opens (creating) and verifies the state directory once; from here on it is used by fd.
    /// Never re-opened by path within one invocation: after an ancestor was swapped for a
    /// symlink, a second resolution would lead somewhere else.
    func prepareRoot() throws(RootlessError) {
        if box.handle != nil { return }
        box.handle = try Self.openPrivate(root, what: "stateDir", create: true)
    }

    /// The subdirectories; called with the lock held (a concurrent teardown removes them).
    func prepareLayout() throws(RootlessError) {
        let dir = try requireHandle()
        for sub in ["run", "run/systemd", "var/lib/cni", "attachments"] {
            do { try dir.makeDirectories(sub, mode: 0o700) } catch { throw .system(error) }
        }
    }

    /// The verified handle, opened (never created) on first use; nil when the state dir does
    /// not exist (nothing of ours can be in it).
    func handle() throws(RootlessError) -> DirectoryHandle? {
        if let h = box.handle { return h }
        do {
            let h = try Self.openPrivate(root, what: "stateDir", create: false)
            box.handle = h
            return h
        } catch {
            if case .system(let e) = error, e.isENOENT || e.isENOTDIR { return nil }
            throw error
        }
    }

    func requireHandle() throws(RootlessError) -> DirectoryHandle {
        guard let h = try handle() else { throw .system(.notFound("open directory", root)) }
        return h
    }

    /// Opens `path` as a private directory (ours, 0700-ish, no symlink) below trusted ancestors.
    static func openPrivate(_ path: String, what: String, create: Bool) throws(RootlessError) -> DirectoryHandle {
        do { return try DirectoryHandle.open(path, final: .privateDirectory(what: what), create: create, mode: 0o700) } catch {
            throw .init(error)
        }
    }

    static func ensurePrivateDirectory(_ path: String, what: String) throws(RootlessError) {
        _ = try openPrivate(path, what: what, create: true)
    }

    // MARK: - Files by name, through the handle

    /// A regular file of ours (never through a symlink, never blocking on a FIFO); nil when it
    /// or the state dir is missing.
    func readFile(_ name: String, limit: Int) throws(RootlessError) -> [UInt8]? {
        guard let dir = try handle() else { return nil }
        do { return try dir.readFile(name, limit: limit) } catch {
            if error.isENOENT { return nil }
            throw .system(error)
        }
    }

    /// Atomically and (unless `durable: false`) durably: file and directory fsynced; 0600.
    func writeFile(_ name: String, _ bytes: [UInt8], durable: Bool = true) throws(RootlessError) {
        do { try requireHandle().writeFileAtomically(name, bytes, mode: 0o600, durable: durable) } catch let e as RootlessError {
            throw e
        } catch {
            throw .from(error)
        }
    }

    /// Removes a file of ours; missing is fine.
    func removeFile(_ name: String) throws(RootlessError) {
        guard let dir = try handle() else { return }
        do { try dir.remove(name) } catch { throw .system(error) }
    }

    /// The state lock (`flock(2)` on `lock`, opened through the handle).
    func lockExclusive(timeoutMs: Int) throws(RootlessError) -> Lock {
        let dir = try requireHandle()
        do { return try Lock.exclusive(in: dir, "lock", timeoutMs: timeoutMs) } catch {
            if error.isTimeout { throw .lockTimeout(lock) }
            throw .system(error)
        }
    }

    /// Every name this plugin creates in the state directory, except the lock.
    static let ownedNames: Set<String> = [
        "run", "var", "attachments", "helper.json", "helper.log", "helper.pid", "resolv.conf", "slirp4netns.sock",
        "forwarder.sock", "forwarder.json", "forwarder.log", "running", "session.json", AttachmentSummary.dirName,
    ]

    /// `NAME.tmp-PID` of an owned file: left by a run killed inside `writeFileAtomically`.
    static func isOwnedTemp(_ name: String) -> Bool {
        ownedNames.contains { name.hasPrefix($0 + ".tmp-") }
    }

    /// Removes what we created, nothing else (a misconfigured stateDir must never cost a user
    /// their files), and never the lock file: a waiter blocked on the lock holds the old inode,
    /// so deleting it would let a newcomer lock a new file and run concurrently. Through the
    /// handle: a path swapped since it was verified cannot redirect the removal.
    func removeAllButLock() -> [RootlessError] {
        var errors: [RootlessError] = []
        let dir: DirectoryHandle
        let names: [String]
        do {
            guard let h = try handle() else { return [] }
            dir = h
            names = try dir.list()
        } catch let e as RootlessError {
            return [e]
        } catch {
            return [.from(error)]
        }
        for name in names where Self.ownedNames.contains(name) || Self.isOwnedTemp(name) {
            do { try dir.removeTree(name) } catch { errors.append(.system(error)) }
        }
        do { try dir.sync() } catch { errors.append(.system(error)) }
        return errors
    }
}

extension RootlessError {
    /// A refused path is a configuration problem (code 7); anything else is I/O.
    init(_ error: DirectoryHandle.OpenError) {
        switch error {
        case .system(let e): self = .system(e)
        case .unsafe(let path, let reason): self = .unsafePath(path, reason)
        }
    }
}

/// The attachment records of one state directory, one file per (network, container ID, ifname):
/// `<network>+<containerID>@<ifName>.json`. Network names and container IDs cannot contain "+"
/// or "@", so the name splits unambiguously. Records of older versions (`<containerID>@<ifName>.json`,
/// no "+" before the "@") carry their network inside and are still found.
struct AttachmentStore {
    let dir: String
    /// Where the attachments directory is reached from.
    private enum Source { case state(StateDir), path }
    private let source: Source
    /// The state dir the records are in (nil for a store reached by path).
    var stateDir: StateDir? { if case .state(let s) = source { return s } else { return nil } }

    /// The records of `state` (`attachments/`, reached through its verified handle).
    init(state: StateDir) {
        dir = state.attachments
        source = .state(state)
    }

    /// Records directly in `dir` (verified like a state dir).
    init(dir: String) {
        self.dir = dir
        source = .path
    }

    /// The attachments directory, opened (never created); nil when missing.
    func openRecords() throws(RootlessError) -> DirectoryHandle? { try open() }

    private func open() throws(RootlessError) -> DirectoryHandle? {
        switch source {
        case .state(let state):
            guard let root = try state.handle() else { return nil }
            do { return try root.openDirectory("attachments") } catch {
                if error.isENOENT { return nil }
                throw .system(error)
            }
        case .path:
            do { return try StateDir.openPrivate(dir, what: "attachments dir", create: false) } catch {
                if case .system(let e) = error, e.isENOENT { return nil }
                throw error
            }
        }
    }

    /// Records stay far below this; anything larger is refused at ADD (code 7) and treated as
    /// corrupt at DEL, so one oversized record can never wedge teardown.
    static let maxRecordBytes = 1 << 20

    func path(_ key: AttachmentKey) -> String { dir + "/" + key.fileName }
    func legacyPath(_ key: AttachmentKey) -> String { dir + "/" + key.legacyFileName }

    /// The record of `key`, nil when there is none. An unreadable, oversized or malformed record
    /// (a FIFO or symlink in its place included) is `.corruptState`.
    func load(_ key: AttachmentKey) throws(RootlessError) -> Attachment? {
        guard let d = try open() else { return nil }
        if let a = try read(d, key.fileName) { return a }
        // An older version's record: only if it names this network (or none at all).
        guard let legacy = try read(d, key.legacyFileName) else { return nil }
        return legacy.network == key.network || legacy.network.isEmpty ? legacy : nil
    }

    func readRecord(_ d: DirectoryHandle, _ name: String) throws(RootlessError) -> Attachment? { try read(d, name) }

    private func read(_ d: DirectoryHandle, _ name: String) throws(RootlessError) -> Attachment? {
        let bytes: [UInt8]
        do { bytes = try d.readFile(name, limit: Self.maxRecordBytes) } catch {
            if error.isENOENT { return nil }
            throw .corruptState("attachment \(dir)/\(name): \(error)")
        }
        do { return try Attachment(json: JSON.parse(bytes)) } catch let e as RootlessError { throw e } catch {
            throw .corruptState("attachment \(dir)/\(name): \(error)")
        }
    }

    private func requireOpen() throws(RootlessError) -> DirectoryHandle {
        guard let d = try open() else { throw .system(.notFound("open directory", dir)) }
        return d
    }

    /// Compact and bounded: a pretty-printed deeply nested config grows quadratically.
    func save(_ a: Attachment) throws(RootlessError) {
        let bytes = try a.encodedRecord()
        let d = try requireOpen()
        do { try d.writeFileAtomically(a.key.fileName, bytes, mode: 0o600) } catch { throw .system(error) }
        saveSummary(a, name: a.key.fileName, records: d)
        // A record of an older version for the same attachment would be found again later.
        guard a.key.legacyFileName != a.key.fileName else { return }
        do { try d.remove(a.key.legacyFileName) } catch { throw .system(error) }
        removeSummary(name: a.key.legacyFileName)
    }

    /// Removes the record (and an older version's record of the same attachment); missing is fine.
    func remove(_ key: AttachmentKey) throws(RootlessError) {
        guard let d = try open() else { return }
        do {
            try d.remove(key.fileName)
            removeSummary(name: key.fileName)
            if let legacy = try? read(d, key.legacyFileName), legacy.network != key.network, !legacy.network.isEmpty { return }
            try d.remove(key.legacyFileName)
            removeSummary(name: key.legacyFileName)
            try d.sync()
        } catch { throw .system(error) }
    }

    /// Every record's key (all networks), sorted; files that are not records (temp files) are
    /// skipped. An older version's record is read for its network ("" when unreadable).
    func list() throws(RootlessError) -> [AttachmentKey] {
        guard let d = try open() else { return [] }
        let names: [String]
        do { names = try d.list() } catch {
            if error.isENOENT { return [] }
            throw .system(error)
        }
        var keys: [AttachmentKey] = []
        for name in names {
            if let key = AttachmentKey(fileName: name) {
                keys.append(key)
            } else if AttachmentKey.isHashedFileName(name) {
                // Unreadable: listed under its file name, so DEL/GC still see that something is left.
                let record = (try? read(d, name)) ?? nil
                keys.append(record?.key ?? AttachmentKey(network: "", containerID: name, ifName: ""))
            } else if var key = AttachmentKey(legacyFileName: name) {
                key.network = ((try? read(d, name)) ?? nil)?.network ?? ""
                keys.append(key)
            }
        }
        return keys.sorted()
    }

    /// Whether any attachment of any network is recorded (teardown decision).
    func isEmpty() throws(RootlessError) -> Bool { try list().isEmpty }
}
