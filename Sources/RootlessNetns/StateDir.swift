import CNI
import Glibc
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

    /// Refuses a state directory someone else could tamper with: a symlink, another owner,
    /// group/world-writable. Creates it (0700) when missing.
    func prepare() throws(RootlessError) {
        try prepareRoot()
        try prepareLayout()
    }

    func prepareRoot() throws(RootlessError) {
        try Self.ensurePrivateDirectory(root, what: "stateDir")
    }

    /// The subdirectories; called with the lock held (a concurrent teardown removes them).
    func prepareLayout() throws(RootlessError) {
        for dir in [run, run + "/systemd", varLibCNI, attachments] {
            do { try FS.mkdirAll(dir, mode: 0o700) } catch { throw .system(error) }
        }
    }

    static func ensurePrivateDirectory(_ path: String, what: String) throws(RootlessError) {
        do {
            if try FS.lstat(path) == nil {
                try FS.mkdirAll(Path.dirname(path), mode: 0o700)
                if mkdir(path, 0o700) != 0 && errno != EEXIST {
                    throw SystemError(op: "mkdir", path: path, errno: errno)
                }
            }
            guard let info = try FS.lstat(path) else {
                throw SystemError(op: "stat", path: path, errno: ENOENT)
            }
            if info.type == .symlink { throw RootlessError.unsafePath(path, "\(what) is a symlink") }
            if info.type != .directory { throw RootlessError.unsafePath(path, "\(what) is not a directory") }
            if info.uid != geteuid() {
                throw RootlessError.unsafePath(path, "\(what) is owned by uid \(info.uid), not by the caller (uid \(geteuid()))")
            }
            if info.mode & 0o022 != 0 {
                throw RootlessError.unsafePath(path, "\(what) is group- or world-writable (mode \(String(info.mode & 0o7777, radix: 8)))")
            }
        } catch {
            throw .from(error)
        }
    }

    /// Every name this plugin creates in the state directory, except the lock.
    static let ownedNames: Set<String> = [
"run", "var", "attachments", "helper.json", "helper.log", "helper.pid", "resolv.conf", "slirp4netns.sock",
        "forwarder.sock", "forwarder.json", "forwarder.log", "running",
    ]

    /// `NAME.tmp-PID` of an owned file: left by a run killed inside `writeFileAtomically`.
    static func isOwnedTemp(_ name: String) -> Bool {
        ownedNames.contains { name.hasPrefix($0 + ".tmp-") }
    }

    /// Removes what we created, nothing else (a misconfigured stateDir must never cost a user
    /// their files), and never the lock file: a waiter blocked on the lock holds the old inode,
    /// so deleting it would let a newcomer lock a new file and run concurrently.
    func removeAllButLock() -> [RootlessError] {
        var errors: [RootlessError] = []
        let names: [String]
        do { names = try FS.listDirectory(root) } catch {
            if error.isENOENT { return [] }
            return [.system(error)]
        }
        for name in names where Self.ownedNames.contains(name) || Self.isOwnedTemp(name) {
            do { try FS.removeTree(root + "/" + name) } catch { errors.append(.system(error)) }
        }
        return errors
    }
}

/// The attachment records of one state directory, one file per (network, container ID, ifname):
/// `<network>+<containerID>@<ifName>.json`. Network names and container IDs cannot contain "+"
/// or "@", so the name splits unambiguously. Records of older versions (`<containerID>@<ifName>.json`,
/// no "+" before the "@") carry their network inside and are still found.
struct AttachmentStore {
    let dir: String

    /// Records stay far below this; anything larger is refused at ADD (code 7) and treated as
    /// corrupt at DEL, so one oversized record can never wedge teardown.
    static let maxRecordBytes = 1 << 20

    func path(_ key: AttachmentKey) -> String { dir + "/" + key.fileName }
    func legacyPath(_ key: AttachmentKey) -> String { dir + "/" + key.legacyFileName }

    /// The record of `key`, nil when there is none. An unreadable, oversized or malformed record is
    /// `.corruptState`.
    func load(_ key: AttachmentKey) throws(RootlessError) -> Attachment? {
        if let a = try read(path(key)) { return a }
        // An older version's record: only if it names this network (or none at all).
        guard let legacy = try read(legacyPath(key)) else { return nil }
        return legacy.network == key.network || legacy.network.isEmpty ? legacy : nil
    }

    private func read(_ path: String) throws(RootlessError) -> Attachment? {
        let bytes: [UInt8]
        do { bytes = try FS.readFile(path, limit: Self.maxRecordBytes) } catch {
            if error.isENOENT { return nil }
            throw .corruptState("attachment \(path): \(error)")
        }
        do { return try Attachment(json: JSON.parse(bytes)) } catch let e as RootlessError { throw e } catch {
            throw .corruptState("attachment \(path): \(error)")
        }
    }

    /// Compact and bounded: a pretty-printed deeply nested config grows quadratically.
    func save(_ a: Attachment) throws(RootlessError) {
        let bytes = try a.encodedRecord()
        do { try FS.writeFileAtomically(path(a.key), bytes, mode: 0o600) } catch { throw .system(error) }
        // A record of an older version for the same attachment would be found again later.
        do { try FS.remove(legacyPath(a.key)) } catch { throw .system(error) }
    }

    /// Removes the record (and an older version's record of the same attachment); missing is fine.
    func remove(_ key: AttachmentKey) throws(RootlessError) {
        do {
            try FS.remove(path(key))
            if let legacy = try? read(legacyPath(key)), legacy.network != key.network, !legacy.network.isEmpty { return }
            try FS.remove(legacyPath(key))
        } catch { throw .system(error) }
    }

    /// Every record's key (all networks), sorted; files that are not records (temp files) are
    /// skipped. An older version's record is read for its network ("" when unreadable).
    func list() throws(RootlessError) -> [AttachmentKey] {
        let names: [String]
        do { names = try FS.listDirectory(dir) } catch {
            if error.isENOENT { return [] }
            throw .system(error)
        }
        var keys: [AttachmentKey] = []
        for name in names {
            if let key = AttachmentKey(fileName: name) {
                keys.append(key)
            } else if AttachmentKey.isHashedFileName(name) {
                // Unreadable: listed under its file name, so DEL/GC still see that something is left.
                let record = (try? read(dir + "/" + name)) ?? nil
                keys.append(record?.key ?? AttachmentKey(network: "", containerID: name, ifName: ""))
            } else if var key = AttachmentKey(legacyFileName: name) {
                key.network = ((try? read(dir + "/" + name)) ?? nil)?.network ?? ""
                keys.append(key)
            }
        }
        return keys.sorted()
    }

    /// Whether any attachment of any network is recorded (teardown decision).
    func isEmpty() throws(RootlessError) -> Bool { try list().isEmpty }
}
