import JSON

/// A plugin binary's identity: its VERSION answer holds while this is unchanged.
public struct BinaryIdentity: Hashable, Sendable, CustomStringConvertible {
    public var dev: UInt64, ino: UInt64, size: Int64, mtimeSec: Int64, mtimeNsec: Int64
    public init(dev: UInt64, ino: UInt64, size: Int64, mtimeSec: Int64, mtimeNsec: Int64) {
        self.dev = dev; self.ino = ino; self.size = size; self.mtimeSec = mtimeSec; self.mtimeNsec = mtimeNsec
    }
    /// "dev:ino:size:sec.nsec", the cache key.
    public var description: String { "\(dev):\(ino):\(size):\(mtimeSec).\(mtimeNsec)" }
}

/// Where delegates' VERSION answers are kept. The I/O (stat, a cache file) lives outside this
/// module; a class because it memoises within one invocation too.
public protocol PluginVersionCache: AnyObject {
    /// nil when the binary cannot be identified (then it is asked every time, nothing stored).
    func identity(of path: String) -> BinaryIdentity?
    func versions(for identity: BinaryIdentity) -> [String]?
    func store(_ versions: [String], for identity: BinaryIdentity)
}

/// Version bridging: the meta-plugin speaks every version to the runtime and runs each
/// delegate at a version the delegate knows (docs/runtimes-versions.md).
public enum VersionBridge {
    /// The version to run a delegate at: the chain's when the delegate supports it, else the
    /// highest version both support below it, else the lowest above it. A delegate with no
    /// version in common (or that could not be asked) runs at the chain's and fails as it would.
    public static func pick(chain: CNIVersion, delegateSupports: [CNIVersion]?) -> CNIVersion {
        guard let supported = delegateSupports else { return chain }
        if supported.contains(chain) { return chain }
        let common = CNIVersion.all.filter(supported.contains)
        return common.last(where: { $0 < chain }) ?? common.first(where: { $0 > chain }) ?? chain
    }

    /// `supportedVersions` of a VERSION answer. Without the list, a plugin supports only
    /// the `cniVersion` it printed (the reference decoder's rule for 0.2.0+). nil if malformed.
    public static func supportedVersions(fromVersionOutput bytes: [UInt8]) -> [String]? {
        guard let json = try? JSON.parse(bytes), case .object(let o) = json else { return nil }
        if case .array(let list)? = o.goField("supportedVersions") {
            let texts = list.compactMap(\.stringValue)
            return texts.count == list.count ? texts : nil
        }
        return o.goField("cniVersion")?.stringValue.map { [$0] }
    }
}

extension DelegateInvoker {
    /// The versions the delegate `type` supports, from the cache or by asking it (VERSION, as
    /// libcni's GetVersionInfo: stdin `{"cniVersion": <the chain's>}`). nil without a cache
    /// (no bridging), when it cannot be found or run, or answers nonsense: those are not stored.
    public func supportedVersions(of type: String, chainVersion: CNIVersion) -> [CNIVersion]? {
        guard let cache = versionCache, let path = try? find(type) else { return nil }
        let id = cache.identity(of: path)
        if let id, let known = cache.versions(for: id) { return known.compactMap(CNIVersion.init) }
        var vars = baseEnv
        vars["CNI_COMMAND"] = "VERSION"
        vars["CNI_PATH"] = searchPath.joined(separator: ":")
        let stdin = Array(JSON.object(["cniVersion": .string(chainVersion.description)]).encoded().utf8)
        guard let outcome = try? executor.execute(path: path, env: vars, stdin: stdin),
              outcome.exitCode == 0, !outcome.timedOut,
              let texts = VersionBridge.supportedVersions(fromVersionOutput: outcome.stdout)
        else { return nil }
        if let id { cache.store(texts, for: id) }
        return texts.compactMap(CNIVersion.init)
    }
}
