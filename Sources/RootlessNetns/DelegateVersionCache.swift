import CNI
import JSON
import System

/// Delegates' VERSION answers, keyed by binary identity (dev:ino:size:mtime), in one file per
/// user next to the helper feature cache (`<XDG_RUNTIME_DIR>/rootless-netns-delegates.json`,
/// `/run/...` as root), so each binary is asked once, not on every invocation nor again on
/// every cold ADD (a file inside the state dir went with each teardown: two Go VERSION execs
/// per cold ADD). The file is only written while the state dir's `var` exists, i.e. a shared
/// namespace is set up (DEL and STATUS with nothing set up, and direct mode, write nothing);
/// without it the answers are kept for this invocation only. Bounded (newest `maxEntries`),
/// written atomically (temp + rename, so concurrent writers lose at most an entry, which is
/// asked again), read with a size limit; an unreadable file counts as empty. A replaced binary
/// has a new identity, so a stale answer is never used.
final class DelegateVersionCache: PluginVersionCache {
    let file: String
    static let maxEntries = 32
    static let maxBytes = 64 << 10
    private var entries: [(id: String, versions: [String])]?

    /// Written only while this directory exists.
    let gate: String

    init(file: String, writableWhile gate: String) { self.file = file; self.gate = gate }

    /// The user's cache in `directory` (`HelperFeatureCache.userCacheDirectory`), written while
    /// `<stateRoot>/var` exists.
    convenience init(userCacheDirectory directory: String, stateRoot: String) {
        self.init(file: directory + "/rootless-netns-delegates.json", writableWhile: stateRoot + "/var")
    }

    func identity(of path: String) -> BinaryIdentity? {
        guard let info = try? FS.stat(path), info.type == .regular else { return nil }
        return BinaryIdentity(dev: info.dev, ino: info.ino, size: info.size,
                              mtimeSec: info.mtimeSec, mtimeNsec: info.mtimeNsec)
    }

    func versions(for identity: BinaryIdentity) -> [String]? {
        let key = identity.description
        return load().last(where: { $0.id == key })?.versions
    }

    func store(_ versions: [String], for identity: BinaryIdentity) {
        let key = identity.description
        var list = load().filter { $0.id != key }
        list.append((key, versions))
        if list.count > Self.maxEntries { list.removeFirst(list.count - Self.maxEntries) }
        entries = list
        guard FS.exists(gate) else { return }
        let json = JSON.object(["entries": .array(list.map {
            .object(["id": .string($0.id), "supportedVersions": .array($0.versions.map { .string($0) })])
        })])
        // Best effort: a cache that cannot be written only costs a VERSION call next time.
        try? FS.writeFileAtomically(file, Array((json.encoded() + "\n").utf8), mode: 0o600)
    }

    private func load() -> [(id: String, versions: [String])] {
        if let entries { return entries }
        var list: [(id: String, versions: [String])] = []
        if let bytes = try? FS.readFile(file, limit: Self.maxBytes), let json = try? JSON.parse(bytes),
           case .array(let items)? = json["entries"] {
            for item in items.suffix(Self.maxEntries) {
                guard let id = item["id"]?.stringValue, case .array(let vs)? = item["supportedVersions"] else { continue }
                list.append((id, vs.compactMap(\.stringValue)))
            }
        }
        entries = list
        return list
    }
}
