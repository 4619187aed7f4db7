import JSON

/// A plugin's network configuration as read from stdin. `raw` keeps every key in document
/// order, so a meta-plugin can pass unknown keys on to its delegates unchanged.
public struct NetConf: Sendable, Equatable {
    public var raw: JSONObject
    /// The version this invocation speaks: `cniVersion`, or the highest of `cniVersions` we support.
    public var version: CNIVersion
    public var name: String
    public var type: String
    public var capabilities: [String: Bool]
    public var runtimeConfig: JSONObject
    public var prevResult: CNIResult?

    public var rawPrevResult: JSON? { raw.goField("prevResult", among: Self.standardKeys) }

    /// The keys of libcni's types.NetConf that this project reads or injects. They are read as
    /// Go reads them (see GoKeys): exact, else case-folded, last one wins.
    public static let standardKeys = ["cniVersion", "cniVersions", "name", "type", "capabilities",
                                      "runtimeConfig", "prevResult"]

    /// Largest config accepted on stdin; larger input is refused rather than buffered.
    public static let maxSize = 4 << 20

    /// Parses the bytes read from stdin. Malformed JSON: code 6; unsupported version: 1;
    /// a field that is present but wrong: 7 naming the field.
    public static func parse(_ bytes: [UInt8], supported: [CNIVersion] = CNIVersion.all,
                             requireName: Bool = true) throws(CNIError) -> NetConf {
        if bytes.count > maxSize {
            throw CNIError(.decodingFailure, "network config is \(bytes.count) bytes, more than the \(maxSize) accepted")
        }
        let json: JSON
        do { json = try JSON.parse(bytes) } catch {
            throw CNIError(.decodingFailure, "decoding network config: \(error)")
        }
        guard case .object(let raw) = json else {
            throw CNIError(.decodingFailure, "network config must be a JSON object, got \(json.kindName)")
        }
        let version = try negotiateVersion(raw, supported: supported)
        let name = try optionalString(raw, "name") ?? ""
        if requireName { try Validation.networkName(name) }
        let type = try optionalString(raw, "type") ?? ""
        var caps: [String: Bool] = [:]
        switch raw.goField("capabilities", among: standardKeys) {
        case nil, .null?: break
        case .object(let o)?:
            for (k, v) in o {
                guard let b = v.boolValue else {
                    throw CNIError(.invalidNetworkConfig, "capabilities.\(k) must be a boolean")
                }
                caps[k] = b
            }
        default: throw CNIError(.invalidNetworkConfig, "capabilities must be an object")
        }
        var runtime = JSONObject()
        switch raw.goField("runtimeConfig", among: standardKeys) {
        case nil, .null?: break
        case .object(let o)?: runtime = o
        default: throw CNIError(.invalidNetworkConfig, "runtimeConfig must be an object")
        }
        var prev: CNIResult?
        if let p = raw.goField("prevResult", among: standardKeys), p != .null {
            prev = try CNIResult.parse(p, fallbackVersion: version)
        }
        return NetConf(raw: raw, version: version, name: name, type: type, capabilities: caps,
                       runtimeConfig: runtime, prevResult: prev)
    }

    /// skel's rule: a config without cniVersion is 0.1.0, which nobody here supports. A version
    /// must be spelled exactly as the spec does ("1.0.0", not "1.0"), as skel's reconciler
    /// compares strings, so the printed result's cniVersion always equals the config's.
    /// With `cniVersions` (libcni's rule) the highest supported of those and `cniVersion` wins.
    static func negotiateVersion(_ raw: JSONObject, supported: [CNIVersion]) throws(CNIError) -> CNIVersion {
        let supportedText = supported.map(\.description).joined(separator: ", ")
        func exact(_ text: String) -> CNIVersion? {
            guard let v = CNIVersion(text), v.description == text, supported.contains(v) else { return nil }
            return v
        }
        let single = try optionalString(raw, "cniVersion").flatMap { $0.isEmpty ? nil : $0 }
        switch raw.goField("cniVersions", among: standardKeys) {
        case nil, .null?:
            break
        case .array(let list)?:
            var texts: [String] = []
            for (i, item) in list.enumerated() {
                guard let t = item.stringValue else {
                    throw CNIError(.invalidNetworkConfig, "cniVersions[\(i)] must be a string, got \(item.kindName)")
                }
                texts.append(t)
            }
            if let best = (texts + (single.map { [$0] } ?? [])).compactMap(exact).max() { return best }
            throw CNIError(.incompatibleVersion, "incompatible CNI versions",
                           details: "config lists cniVersions [\(texts.joined(separator: ", "))], plugin supports [\(supportedText)]")
        case let other?:
            throw CNIError(.invalidNetworkConfig, "cniVersions must be an array of strings, got \(other.kindName)")
        }
        if let text = single {
            guard let v = exact(text) else {
                throw CNIError(.incompatibleVersion, "incompatible CNI versions",
                               details: "config is \"\(text)\", plugin supports [\(supportedText)]")
            }
            return v
        }
        throw CNIError(.incompatibleVersion, "incompatible CNI versions",
                       details: "config has no cniVersion (0.1.0), plugin supports [\(supportedText)]")
    }

    static func optionalString(_ o: JSONObject, _ key: String) throws(CNIError) -> String? {
        switch o.goField(key, among: standardKeys) {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case let v?: throw CNIError(.invalidNetworkConfig, "\(key) must be a string, got \(v.kindName)")
        }
    }

    /// The capability arguments this plugin declared and the runtime passed in `runtimeConfig`.
    public func runtimeValue(_ capability: String) -> JSON? {
        // libcni passes capability names exactly as declared; a Go plugin reads them folded.
        capabilities[capability] == true ? runtimeConfig.goField(capability) : nil
    }

    /// GC's list of attachments to keep (`cni.dev/valid-attachments`, older `cni.dev/attachments`).
    public func validAttachments() throws(CNIError) -> [(containerID: String, ifName: String)] {
        guard let list = raw["cni.dev/valid-attachments"] ?? raw["cni.dev/attachments"], list != .null else {
            return []
        }
        guard case .array(let items) = list else {
            throw CNIError(.invalidNetworkConfig, "cni.dev/valid-attachments must be an array")
        }
        var out: [(String, String)] = []
        for (i, item) in items.enumerated() {
            guard let id = item["containerID"]?.stringValue, let ifn = item["ifname"]?.stringValue else {
                throw CNIError(.invalidNetworkConfig, "cni.dev/valid-attachments[\(i)] needs containerID and ifname")
            }
            out.append((id, ifn))
        }
        return out
    }
}
