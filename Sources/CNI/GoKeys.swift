import JSON

/// Object keys read the way Go's encoding/json decodes them into a struct, which is how every
/// reference plugin and libcni read configs and capability args. Runtimes built on go-cni send
/// capability args from Go structs without json tags (`{"HostPort":8080,...}`), which Go
/// plugins accept; so must we.
///
/// Go's rule (decode.go `object`, fold.go, go 1.19 as Debian 12 ships it; 1.21's rewrite is
/// the same for ASCII field names): each key of the document, in order, goes to the field
/// whose name it equals byte for byte, else to the first field whose name it equals under
/// Unicode simple case folding (`bytes.EqualFold`). For the ASCII names used here that is
/// ASCII case-insensitivity of letters (non-letters exact), plus U+212A KELVIN SIGN for k/K
/// and U+017F LONG S for s/S; nothing else (no `_` or `-` folding, no dotless i). Every key
/// that lands on a field overwrites it, so the last matching key in the document wins.
public enum GoKeys {
    /// Whether document key `key` folds onto the ASCII field name `name`.
    public static func folds(_ key: String, onto name: String) -> Bool {
        if key == name { return true }
        var k = key.unicodeScalars.makeIterator()
        for n in name.unicodeScalars {
            guard let c = k.next() else { return false }
            if c == n { continue }
            guard n.isASCII, isLetter(n) else { return false }
            if c.isASCII {
                guard c.value | 0x20 == n.value | 0x20 else { return false }
            } else {
                switch (n.value | 0x20, c.value) {
                case (0x6B, 0x212A), (0x73, 0x17F): continue   // k ↔ Kelvin sign, s ↔ long s
                default: return false
                }
            }
        }
        return k.next() == nil
    }

    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        (s.value >= 0x41 && s.value <= 0x5A) || (s.value >= 0x61 && s.value <= 0x7A)
    }
}

extension JSONObject {
    /// The value Go would decode into the struct field `name`: the last key that folds onto it.
    /// `among` lists the struct's other field names: a key equal byte for byte to one of them
    /// goes there, not here (matters only for structs with fold-equal field names).
    public func goField(_ name: String, among siblings: [String] = []) -> JSON? {
        var found: JSON?
        for (key, value) in self where GoKeys.folds(key, onto: name) {
            if key != name && siblings.contains(key) { continue }
            found = value
        }
        return found
    }

    /// Self with every key that folds onto one of `names` replaced by that canonical name,
    /// holding the value Go would read, at the place of the first such key; other keys as they
    /// were. This is what is passed on, so a delegate sees one spelling only.
    public func canonicalizingGoKeys(_ names: [String]) -> JSONObject {
        var out = JSONObject()
        for (key, value) in self {
            if let name = names.first(where: { GoKeys.folds(key, onto: $0) }) {
                if out[name] == nil { out[name] = goField(name, among: names) ?? value }
            } else {
                out[key] = value
            }
        }
        return out
    }
}

/// The well-known capability args (cni.dev conventions) whose entries are structs with named
/// fields, and those fields' canonical names. go-cni's types (PortMapping, IPRanges, BandWidth,
/// DNS) have the same fields in Go case.
public enum CapabilityArgs {
    public static let portMappingFields = ["hostPort", "containerPort", "protocol", "hostIP"]
    static let rangeFields = ["subnet", "rangeStart", "rangeEnd", "gateway"]
    static let bandwidthFields = ["ingressRate", "ingressBurst", "egressRate", "egressBurst"]
    static let dnsFields = ["servers", "searches", "options"]

    /// `value` of capability `name` with its struct keys in canonical camelCase. Values are
    /// not checked here (the delegate does that); shapes we do not know pass unchanged.
    /// ips, mac, aliases, infinibandGUID, deviceID and cgroupPath are strings or string lists.
    public static func canonical(_ name: String, _ value: JSON) -> JSON {
        func entries(_ v: JSON, _ fields: [String]) -> JSON {
            switch v {
            case .object(let o): return .object(o.canonicalizingGoKeys(fields))
            case .array(let a): return .array(a.map { entries($0, fields) })
            default: return v
            }
        }
        if GoKeys.folds(name, onto: "portMappings") { return entries(value, portMappingFields) }
        // ipRanges is a list of range sets ([[{...}]]); go-cni 1.1.7 sends a flat list. Both
        // nestings are canonicalised, neither is reshaped.
        if GoKeys.folds(name, onto: "ipRanges") { return entries(value, rangeFields) }
        if GoKeys.folds(name, onto: "bandwidth") { return entries(value, bandwidthFields) }
        if GoKeys.folds(name, onto: "dns") { return entries(value, dnsFields) }
        return value
    }

    /// A runtimeConfig for delegates: known capability names and their entries canonical.
    public static func canonical(_ runtimeConfig: JSONObject) -> JSONObject {
        let names = ["portMappings", "ipRanges", "bandwidth", "dns", "ips", "mac", "aliases",
                     "infinibandGUID", "deviceID", "cgroupPath"]
        var out = JSONObject()
        for (key, value) in runtimeConfig.canonicalizingGoKeys(names) { out[key] = canonical(key, value) }
        return out
    }
}
