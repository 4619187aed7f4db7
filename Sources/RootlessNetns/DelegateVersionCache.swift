import CNI
import JSON
import System

/// Delegates' VERSION answers, keyed by binary identity (dev:ino:size:mtime), in
/// `<stateDir>/var/delegate-versions.json` so each binary is asked once per namespace lifetime,
/// not on every invocation (`var` goes with the namespace's teardown, so a torn-down state
/// dir holds only its lock). The file is only written into a `var` that exists (DEL and
/// STATUS never create it);
/// without it the answers are kept for this invocation only. Bounded (newest `maxEntries`),
/// written atomically (temp + rename, so concurrent writers lose at most an entry, which is
/// asked again), read with a size limit; an unreadable file counts as empty. A replaced binary
/// has a new identity, so a stale answer is never used.
final class DelegateVersionCache: PluginVersionCache {
    let file: String
    static let maxEntries = 32
    static let maxBytes = 64 << 10
    private var entries: [(id: String, versions: [String])]?

    init(stateRoot: String) { file = stateRoot + "/var/delegate-versions.json" }

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
        guard FS.exists(Path.dirname(file)) else { return }
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
