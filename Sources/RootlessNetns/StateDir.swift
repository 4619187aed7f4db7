import CNI
import Glibc
import JSON
import System

/// The files of one shared namespace under its state directory (all 0700/0600, caller-owned):
///
///     lock                 flock held by every ADD/DEL/CHECK/GC (never removed: see teardown)
///     helper.json          the helper's identity (pid, start time, exe) and addresses
///     helper.log           the helper's stdout/stderr
///     resolv.conf          bind-mounted over /etc/resolv.conf for the delegates
///     slirp4netns.sock     slirp4netns API socket
///     run/ run/systemd/    becomes /run for the delegates
///     var/lib/cni/         becomes /var/lib/cni (host-local IPAM state, portmap/firewall state)
///     attachments/         one file per (container ID, ifname)
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
        "forwarder.sock", "forwarder.json", "forwarder.log", "session.json",
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

/// One container attached through the shared namespace, recorded after its chain succeeded.
struct Attachment: Equatable {
    var containerID: String
    var ifName: String
    var netns: String
    var network: String
    var version: CNIVersion
    /// The delegate chain as it ran (name/version injected on use), so DEL and CHECK replay it
    /// even if the conflist changed since.
    var delegates: [JSONObject]
    var capabilityArgs: JSONObject
    var result: CNIResult
    var hostForwards: [HostForward]

    /// File name inside attachments/: container IDs cannot contain "@", so it splits unambiguously;
    /// both parts were validated (no "/", no "." / "..").
    static func fileName(containerID: String, ifName: String) -> String { "\(containerID)@\(ifName).json" }

    func json() -> JSON {
        [
            "containerID": .string(containerID), "ifName": .string(ifName), "netns": .string(netns),
            "network": .string(network), "cniVersion": .string(version.description),
            "delegates": .array(delegates.map { .object($0) }),
            "capabilityArgs": .object(capabilityArgs),
            "result": result.json(version: .latest),
            "hostForwards": .array(hostForwards.map { $0.json() }),
        ]
    }

    init(containerID: String, ifName: String, netns: String, network: String, version: CNIVersion,
         delegates: [JSONObject], capabilityArgs: JSONObject, result: CNIResult, hostForwards: [HostForward]) {
        self.containerID = containerID; self.ifName = ifName; self.netns = netns; self.network = network
        self.version = version; self.delegates = delegates; self.capabilityArgs = capabilityArgs
        self.result = result; self.hostForwards = hostForwards
    }

    init(json: JSON) throws(RootlessError) {
        guard let cid = json["containerID"]?.stringValue, let ifn = json["ifName"]?.stringValue,
              let v = json["cniVersion"]?.stringValue.flatMap(CNIVersion.init),
              case .array(let dels)? = json["delegates"], let res = json["result"]
        else { throw .corruptState("attachment record is missing fields") }
        containerID = cid; ifName = ifn; version = v
        netns = json["netns"]?.stringValue ?? ""
        network = json["network"]?.stringValue ?? ""
        delegates = dels.compactMap(\.objectValue)
        capabilityArgs = json["capabilityArgs"]?.objectValue ?? JSONObject()
        do { result = try CNIResult.parse(res) } catch { throw .corruptState("attachment result: \(error.msg)") }
        hostForwards = (json["hostForwards"]?.arrayValue ?? []).compactMap(HostForward.init(json:))
    }
}

/// The attachment records of one state directory.
struct AttachmentStore {
    let dir: String

    func path(_ containerID: String, _ ifName: String) -> String {
        dir + "/" + Attachment.fileName(containerID: containerID, ifName: ifName)
    }

    func load(_ containerID: String, _ ifName: String) throws(RootlessError) -> Attachment? {
        let bytes: [UInt8]
        do { bytes = try FS.readFile(path(containerID, ifName), limit: 4 << 20) } catch {
            if error.isENOENT { return nil }
            throw .system(error)
        }
        do { return try Attachment(json: JSON.parse(bytes)) } catch let e as RootlessError { throw e } catch {
            throw .corruptState("attachment \(path(containerID, ifName)): \(error)")
        }
    }

    func save(_ a: Attachment) throws(RootlessError) {
        do {
            try FS.writeFileAtomically(path(a.containerID, a.ifName), Array(a.json().encoded(pretty: true).utf8), mode: 0o600)
        } catch { throw .system(error) }
    }

    func remove(_ containerID: String, _ ifName: String) throws(RootlessError) {
        do { try FS.remove(path(containerID, ifName)) } catch { throw .system(error) }
    }

    /// (containerID, ifName) of every record; files that are not records (temp files) are skipped.
    func list() throws(RootlessError) -> [(containerID: String, ifName: String)] {
        let names: [String]
        do { names = try FS.listDirectory(dir) } catch {
            if error.isENOENT { return [] }
            throw .system(error)
        }
        return names.sorted().compactMap { name in
            guard name.hasSuffix(".json"), let at = name.firstIndex(of: "@") else { return nil }
            let cid = String(name[..<at])
            let ifn = String(name[name.index(after: at)...].dropLast(".json".count))
            return cid.isEmpty || ifn.isEmpty ? nil : (cid, ifn)
        }
    }
}
