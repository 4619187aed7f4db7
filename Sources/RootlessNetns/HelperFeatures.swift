import JSON
import System

/// Which options a helper binary supports, from its `--help`, cached by the binary's identity
/// (path, dev, ino, size, mtime, ctime): the probe is an extra exec on every helper start
/// (1.9 ms slirp4netns, 4.1 ms pasta), and an upgrade or replacement changes the identity.
struct HelperFeatureCache {
    /// The cache file; outside the state dir so a teardown keeps it.
    var path: String
    /// Bounded: the oldest entries go first.
    static let maxEntries = 8

    /// `<XDG_RUNTIME_DIR>/rootless-netns-helpers.json` (user-owned, 0700), `/run/...` as root.
    init(context: Context) {
        path = Self.userCacheDirectory(context: context) + "/rootless-netns-helpers.json"
    }

    /// Where the per-user caches live: `XDG_RUNTIME_DIR` (user-owned, 0700), `/run` as root.
    static func userCacheDirectory(context: Context) -> String {
        context.rootless ? (context.runtimeDir ?? context.netnsDir) : "/run"
    }

    init(path: String) { self.path = path }

    struct Key: Equatable {
        var path: String
        var dev: UInt64, ino: UInt64, size: Int64, mtimeNs: Int64, ctimeNs: Int64

        init?(binary: String) {
            guard let info = try? FS.stat(binary), info.type == .regular else { return nil }
            path = binary
            dev = info.dev; ino = info.ino; size = info.size; mtimeNs = info.mtimeNs; ctimeNs = info.ctimeNs
        }

        init?(json: JSON) {
            guard let p = json["path"]?.stringValue, let d = json["dev"]?.intValue, let i = json["ino"]?.intValue,
                  let s = json["size"]?.intValue, let m = json["mtimeNs"]?.intValue, let c = json["ctimeNs"]?.intValue
            else { return nil }
            path = p
            dev = UInt64(truncatingIfNeeded: d); ino = UInt64(truncatingIfNeeded: i)
            size = s; mtimeNs = m; ctimeNs = c
        }

        var json: [(String, JSON)] {
            [("path", .string(path)), ("dev", .int(Int64(truncatingIfNeeded: dev))),
             ("ino", .int(Int64(truncatingIfNeeded: ino))), ("size", .int(size)),
             ("mtimeNs", .int(mtimeNs)), ("ctimeNs", .int(ctimeNs))]
        }
    }

    struct Entry {
        var key: Key
        /// Every option looked for, and those the help text contained.
        var probed: Set<String>
        var present: Set<String>
    }

    /// Which of `options` `binary --help` mentions. A failed probe (no exec, timeout, signal)
    /// counts as "none" and is not cached.
    func options(_ options: Set<String>, of binary: String,
                 probe: (String) -> String? = HelperFeatureCache.helpText) -> Set<String> {
        let key = Key(binary: binary)
        var entries = load()
        if let key, let hit = entries.first(where: { $0.key == key }), options.isSubset(of: hit.probed) {
            return hit.present.intersection(options)
        }
        guard let text = probe(binary) else { return [] }
        let present = Set(options.filter { text.contains($0) })
        // Cache only if the binary did not change while it was probed.
        guard let key, Key(binary: binary) == key else { return present }
        entries.removeAll { $0.key.path == binary }
        entries.append(Entry(key: key, probed: options, present: present))
        save(Array(entries.suffix(Self.maxEntries)))
        return present
    }

    /// `binary --help` (stdout + stderr), nil unless it ran and exited.
    static func helpText(_ binary: String) -> String? {
        guard let r = try? Spawn.run(SpawnRequest(path: binary, argv: [binary, "--help"],
                                                  env: ["PATH=/usr/bin:/bin"], timeoutMs: 5000)),
              !r.timedOut, r.setupFailure == nil, case .exited = r.status else { return nil }
        return String(decoding: r.stdout + r.stderr, as: UTF8.self)
    }

    func load() -> [Entry] {
        guard let bytes = try? FS.readFile(path, limit: 1 << 16), let json = try? JSON.parse(bytes),
              json["version"]?.intValue == 1, let list = json["entries"]?.arrayValue else { return [] }
        return list.compactMap { e in
            guard let key = Key(json: e), let probed = e["probed"]?.arrayValue,
                  let present = e["present"]?.arrayValue else { return nil }
            return Entry(key: key, probed: Set(probed.compactMap(\.stringValue)),
                         present: Set(present.compactMap(\.stringValue)))
        }
    }

    /// Atomically (a concurrent reader sees the old or the new file); failures only cost a probe.
    func save(_ entries: [Entry]) {
        let list: [JSON] = entries.map { e in
            .object(JSONObject(e.key.json + [("probed", .array(e.probed.sorted().map { .string($0) })),
                                             ("present", .array(e.present.sorted().map { .string($0) }))]))
        }
        let json: JSON = ["version": 1, "entries": .array(list)]
        try? FS.writeFileAtomically(path, Array(json.encoded().utf8), mode: 0o600)
    }
}
