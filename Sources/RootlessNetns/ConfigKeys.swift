import JSON
import System

/// Unknown keys of the plugin entry: a typo (`mtuu`) must not silently fall back to a default.
/// They are warned about on stderr (the runtime logs it), never rejected: configs written for a
/// newer version of the plugin keep working.
enum ConfigKeys {
    /// The plugin's own keys.
    static let plugin = ["backend", "backendPath", "mtu", "cidr", "enableIPv6", "allowHostLoopback", "stateDir",
                         "mode", "delegates", "delegateTimeout", "readyTimeout", "passEnvironment",
                         "portForwarder", "maxConnectionsPerForward", "maxConnections", "sourceIP",
                         "udpIdleTimeout"]
    /// Keys of every plugin entry (CNI spec) and the ones runtimes inject (libcni: runtimeConfig,
    /// prevResult; CRI-O/podman: args).
    static let standard = ["cniVersion", "cniVersions", "name", "type", "capabilities", "runtimeConfig",
                           "prevResult", "args", "ipam", "dns", "disableCheck", "disableGC"]

    struct Unknown: Equatable {
        var key: String
        var suggestion: String?
        var message: String {
            "rootless-netns: warning: unknown config key \"\(key)\" ignored"
                + (suggestion.map { " (did you mean \"\($0)\"?)" } ?? "")
        }
    }

    /// Keys that are neither ours nor standard. Namespaced keys (`cni.dev/...`, `io.x.y`) belong
    /// to someone else and are left alone.
    static func unknown(in raw: JSONObject) -> [Unknown] {
        let known = plugin + standard
        return raw.keys.filter { !known.contains($0) && !$0.contains("/") && !$0.contains(".") }
            .map { Unknown(key: $0, suggestion: suggestion(for: $0, among: known)) }
    }

    static func warnUnknown(in raw: JSONObject) {
        for u in unknown(in: raw) { StdIO.write(fd: 2, Array((u.message + "\n").utf8)) }
    }

    /// The closest known key: same letters in another case, or at most 2 edits (1 for short keys).
    static func suggestion(for key: String, among known: [String]) -> String? {
        let lower = key.lowercased()
        if let same = known.first(where: { $0.lowercased() == lower }) { return same }
        let limit = key.count <= 4 ? 1 : 2
        let scored = known.map { ($0, distance(lower, $0.lowercased())) }.filter { $0.1 <= limit }
        return scored.min(by: { $0.1 < $1.1 })?.0
    }

    /// Levenshtein distance.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var prev = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let cur = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                prev = cur
            }
        }
        return row[b.count]
    }
}
