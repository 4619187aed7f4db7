import CNI
import IP
import JSON

/// The user-mode network helper connecting the shared namespace to the host.
public enum BackendKind: String, Sendable, CaseIterable {
    case slirp4netns, pasta
}

/// Who carries port mappings: our forwarder (both backends), or slirp4netns's own API.
public enum PortForwarderKind: String, Sendable, CaseIterable {
    case builtin, slirp4netns
}

/// When the shared namespace is used.
public enum NetnsMode: String, Sendable, CaseIterable {
    /// Shared namespace only when rootless (not real root in the initial user namespace).
    case auto
    case always
    /// Plain pass-through: the delegates run directly, as libcni would run them.
    case never
}

/// The `rootless-netns` plugin entry of a conflist, validated before any state is touched.
public struct RootlessConfig: Sendable {
    public var backend: BackendKind?          // nil: slirp4netns if found, else pasta
    public var backendPath: String?
    public var mtu: Int
    public var cidr: IPNetwork
    public var enableIPv6: Bool
    public var allowHostLoopback: Bool
    public var stateDir: String?               // nil: the default for the caller
    public var mode: NetnsMode
    public var delegates: [JSONObject]
    /// Seconds a delegate may run before it is killed (a hung plugin must not hang the runtime).
    public var delegateTimeout: Int
    /// Seconds to wait for the helper to report ready.
    public var readyTimeout: Int
    /// Pass the caller's whole environment to delegates instead of CNI_* + a sane PATH.
    public var passEnvironment: Bool
    /// `portForwarder`: "builtin" (default) or "slirp4netns" (its add_hostfwd, slirp4netns only).
    public var portForwarder: PortForwarderKind = .builtin
    /// `maxConnectionsPerForward`: connection pairs (TCP) or flows (UDP) one mapping may have.
    public var maxConnectionsPerForward: Int = 512
    /// `maxConnections`: pairs and flows over all forwards of the namespace (nil: what the
    /// forwarder's fd limit allows).
    public var maxConnections: Int? = nil
    /// `sourceIP`: the container sees a TCP or UDP client's own address, IPv4 and IPv6 (not loopback clients).
    public var sourceIP: Bool = true
    /// `udpIdleTimeout`: seconds a UDP flow may stay silent before its socket is dropped.
    public var udpIdleTimeout: Int = 60

    /// slirp4netns's default network.
    public static var defaultCIDR: IPNetwork {
        IPNetwork(clamping: IPAddress(v4: 10, 0, 2, 0), prefixLength: 24)
    }

    /// Reads the plugin's own keys from `raw`; every problem is code 7 naming the field.
    public static func parse(_ conf: NetConf) throws(CNIError) -> RootlessConfig {
        let raw = conf.raw
        func bad(_ field: String, _ why: String) -> CNIError { RootlessError.invalidConfig(field: field, why: why).cniError }
        // libcni cannot have run a config without a type: it is not one meant for us.
        if conf.type.isEmpty { throw bad("type", "missing") }
        ConfigKeys.warnUnknown(in: raw)
        func string(_ key: String) throws(CNIError) -> String? {
            switch raw[key] {
            case nil, .null?: return nil
            // A NUL would silently cut a path short at the syscall.
            case .string(let s)? where s.utf8.contains(0): throw bad(key, "contains a NUL character")
            case .string(let s)?: return s.isEmpty ? nil : s
            case let v?: throw bad(key, "expected a string, got \(v.kindName)")
            }
        }
        func bool(_ key: String, _ def: Bool) throws(CNIError) -> Bool {
            switch raw[key] {
            case nil, .null?: return def
            case .bool(let b)?: return b
            case let v?: throw bad(key, "expected a boolean, got \(v.kindName)")
            }
        }
        func int(_ key: String, _ def: Int, _ range: ClosedRange<Int>) throws(CNIError) -> Int {
            switch raw[key] {
            case nil, .null?: return def
            case let v?:
                guard let i = v.intValue else { throw bad(key, "expected an integer, got \(v.kindName)") }
                guard range.contains(Int(i)) else {
                    throw bad(key, "\(i) is out of range \(range.lowerBound)-\(range.upperBound)")
                }
                return Int(i)
            }
        }
        var backend: BackendKind?
        if let b = try string("backend") {
            guard let kind = BackendKind(rawValue: b) else {
                throw bad("backend", "\"\(b)\" is not one of slirp4netns, pasta")
            }
            backend = kind
        }
        let backendPath = try string("backendPath")
        if let p = backendPath, !p.hasPrefix("/") {
            throw bad("backendPath", "\"\(p)\" must be an absolute path")
        }
        // 1280 is IPv6's minimum; 65520 is slirp4netns's maximum.
        let mtu = try int("mtu", 65520, 1280...65520)
        var cidr = Self.defaultCIDR
        if let c = try string("cidr") {
            guard let net = IPNetwork(c), net.address.isIPv4 else { throw bad("cidr", "\"\(c)\" is not an IPv4 CIDR") }
            guard net.prefixLength >= 8, net.prefixLength <= 25 else {
                throw bad("cidr", "\"\(c)\": prefix must be between /8 and /25 (the helper uses .2, .3 and .100)")
            }
            guard net.network.address == net.address else {
                throw bad("cidr", "\"\(c)\" has host bits set; did you mean \(net.network)?")
            }
            cidr = net
        }
        var stateDir: String?
        if let s = try string("stateDir") { stateDir = try normalizeStateDir(s) }
        var mode = NetnsMode.auto
        if let m = try string("mode") {
            guard let v = NetnsMode(rawValue: m) else { throw bad("mode", "\"\(m)\" is not one of auto, always, never") }
            mode = v
        }
        guard case .array(let list)? = raw["delegates"] else {
            throw bad("delegates", raw["delegates"] == nil ? "missing" : "expected an array of plugin configs")
        }
        guard !list.isEmpty else { throw bad("delegates", "empty: at least one plugin is needed") }
        var delegates: [JSONObject] = []
        for (i, item) in list.enumerated() {
            guard case .object(let given) = item else { throw bad("delegates[\(i)]", "expected an object") }
            // Standard keys as Go plugins read them ("Type" is "type"), one spelling from here on.
            let o = given.canonicalizingGoKeys(NetConf.standardKeys)
            guard let type = o["type"]?.stringValue, !type.isEmpty else { throw bad("delegates[\(i)].type", "missing") }
            guard !type.contains("/") else {
                throw bad("delegates[\(i)].type", "\"\(type)\" must be a plugin name, not a path")
            }
            if type == "rootless-netns" { throw bad("delegates[\(i)].type", "rootless-netns cannot delegate to itself") }
            delegates.append(o)
        }
        var portForwarder = PortForwarderKind.builtin
        if let f = try string("portForwarder") {
            guard let kind = PortForwarderKind(rawValue: f) else {
                throw bad("portForwarder", "\"\(f)\" is not one of builtin, slirp4netns")
            }
            if kind == .slirp4netns && backend == .pasta {
                throw bad("portForwarder", "\"slirp4netns\" needs backend slirp4netns")
            }
            portForwarder = kind
        }
        return RootlessConfig(
            backend: backend, backendPath: backendPath, mtu: mtu, cidr: cidr,
            enableIPv6: try bool("enableIPv6", false), allowHostLoopback: try bool("allowHostLoopback", false),
            stateDir: stateDir, mode: mode, delegates: delegates,
            delegateTimeout: try int("delegateTimeout", 120, 1...3600),
            readyTimeout: try int("readyTimeout", 10, 1...300),
            passEnvironment: try bool("passEnvironment", false), portForwarder: portForwarder,
            maxConnectionsPerForward: try int("maxConnectionsPerForward", 512, 1...65536),
            maxConnections: raw["maxConnections"] == nil ? nil : try int("maxConnections", 0, 1...1_000_000),
            sourceIP: try bool("sourceIP", true), udpIdleTimeout: try int("udpIdleTimeout", 60, 1...86400))
    }

    /// One spelling per directory (the namespace is named after it): absolute, no . or ..,
    /// cleaned; never "/" (teardown removes what it created there).
    public static func normalizeStateDir(_ s: String) throws(CNIError) -> String {
        func bad(_ why: String) -> CNIError { RootlessError.invalidConfig(field: "stateDir", why: "\"\(s)\" \(why)").cniError }
        guard s.hasPrefix("/") else { throw bad("must be an absolute path") }
        guard !s.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else {
            throw bad("must not contain . or .. components")
        }
        let clean = Path.clean(s)
        guard clean != "/" else { throw bad("must not be the root directory") }
        return clean
    }

    /// Defaults for the CLI, which has no conflist.
    public static func defaults(stateDir: String?) -> RootlessConfig {
        RootlessConfig(backend: nil, backendPath: nil, mtu: 65520, cidr: defaultCIDR, enableIPv6: false,
                       allowHostLoopback: false, stateDir: stateDir, mode: .always, delegates: [],
                       delegateTimeout: 120, readyTimeout: 10, passEnvironment: false)
    }

    /// Addresses slirp4netns gives the namespace with `--configure` (pasta differs; see its backend).
    public var gatewayAddress: IPAddress? { cidr.host(2) }
    public var dnsAddress: IPAddress? { cidr.host(3) }
    public var guestAddress: IPAddress? { cidr.host(100) }
}
