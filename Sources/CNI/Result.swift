import IP
import JSON

/// A CNI result in the version-independent shape of 1.1.0. `json(version:)` renders it for any
/// supported version, `parse` reads any of them: this is the version conversion.
public struct CNIResult: Sendable, Equatable {
    public struct Interface: Sendable, Equatable {
        public var name: String
        public var mac: String?
        public var mtu: Int?
        public var sandbox: String?
        public var socketPath: String?
        public var pciID: String?
        public init(name: String, mac: String? = nil, mtu: Int? = nil, sandbox: String? = nil,
                    socketPath: String? = nil, pciID: String? = nil) {
            self.name = name; self.mac = mac; self.mtu = mtu; self.sandbox = sandbox
            self.socketPath = socketPath; self.pciID = pciID
        }
    }
    public struct IPConfig: Sendable, Equatable {
        public var address: IPNetwork
        public var gateway: IPAddress?
        public var interface: Int?
        public init(address: IPNetwork, gateway: IPAddress? = nil, interface: Int? = nil) {
            self.address = address; self.gateway = gateway; self.interface = interface
        }
    }
    public struct Route: Sendable, Equatable {
        public var dst: IPNetwork
        public var gw: IPAddress?
        public var mtu: Int?, advmss: Int?, priority: Int?, table: Int?, scope: Int?
        public init(dst: IPNetwork, gw: IPAddress? = nil, mtu: Int? = nil, advmss: Int? = nil,
                    priority: Int? = nil, table: Int? = nil, scope: Int? = nil) {
            self.dst = dst; self.gw = gw; self.mtu = mtu; self.advmss = advmss
            self.priority = priority; self.table = table; self.scope = scope
        }
    }
    public struct DNS: Sendable, Equatable {
        public var nameservers: [String] = []
        public var domain: String?
        public var search: [String] = []
        public var options: [String] = []
        public init(nameservers: [String] = [], domain: String? = nil, search: [String] = [], options: [String] = []) {
            self.nameservers = nameservers; self.domain = domain; self.search = search; self.options = options
        }
        public var isEmpty: Bool { nameservers.isEmpty && domain == nil && search.isEmpty && options.isEmpty }
    }

    public var cniVersion: CNIVersion
    public var interfaces: [Interface] = []
    public var ips: [IPConfig] = []
    public var routes: [Route] = []
    public var dns = DNS()

    public init(cniVersion: CNIVersion, interfaces: [Interface] = [], ips: [IPConfig] = [],
                routes: [Route] = [], dns: DNS = DNS()) {
        self.cniVersion = cniVersion; self.interfaces = interfaces; self.ips = ips
        self.routes = routes; self.dns = dns
    }

    /// Renders the result as `version` prints it. Fields a version does not know are dropped.
    public func json(version: CNIVersion) -> JSON {
        var o: JSONObject = ["cniVersion": .string(version.description)]
        if !interfaces.isEmpty {
            o["interfaces"] = .array(interfaces.map { i in
                var j: JSONObject = ["name": .string(i.name)]
                if let mac = i.mac { j["mac"] = .string(mac) }
                if version.hasV11Fields, let mtu = i.mtu { j["mtu"] = .int(Int64(mtu)) }
                if let sandbox = i.sandbox { j["sandbox"] = .string(sandbox) }
                if version.hasV11Fields, let s = i.socketPath { j["socketPath"] = .string(s) }
                if version.hasV11Fields, let p = i.pciID { j["pciID"] = .string(p) }
                return .object(j)
            })
        }
        if !ips.isEmpty {
            o["ips"] = .array(ips.map { ip in
                var j = JSONObject()
                if version.hasIPVersionField { j["version"] = .string(ip.address.address.isIPv4 ? "4" : "6") }
                if let idx = ip.interface { j["interface"] = .int(Int64(idx)) }
                j["address"] = .string(ip.address.description)
                if let gw = ip.gateway { j["gateway"] = .string(gw.description) }
                return .object(j)
            })
        }
        if !routes.isEmpty {
            o["routes"] = .array(routes.map { r in
                var j: JSONObject = ["dst": .string(r.dst.description)]
                if let gw = r.gw { j["gw"] = .string(gw.description) }
                if version.hasV11Fields {
                    for (k, v) in [("mtu", r.mtu), ("advmss", r.advmss), ("priority", r.priority),
                                   ("table", r.table), ("scope", r.scope)] {
                        if let v { j[k] = .int(Int64(v)) }
                    }
                }
                return .object(j)
            })
        }
        if !dns.isEmpty {
            var j = JSONObject()
            if !dns.nameservers.isEmpty { j["nameservers"] = .array(dns.nameservers.map { .string($0) }) }
            if let d = dns.domain { j["domain"] = .string(d) }
            if !dns.search.isEmpty { j["search"] = .array(dns.search.map { .string($0) }) }
            if !dns.options.isEmpty { j["options"] = .array(dns.options.map { .string($0) }) }
            o["dns"] = .object(j)
        }
        return .object(o)
    }

    /// Parses a result of any supported version. `fallbackVersion` fills a missing cniVersion
    /// (as libcni's invoke does for plugins that omit it). Errors are decoding failures (6),
    /// or incompatible version (1) for versions this project does not read.
    public static func parse(_ json: JSON, fallbackVersion: CNIVersion? = nil) throws(CNIError) -> CNIResult {
        guard case .object(let o) = json else {
            throw CNIError(.decodingFailure, "result is not a JSON object")
        }
        let version: CNIVersion
        switch o["cniVersion"] {
        case .string(let s) where !s.isEmpty:
            guard let v = CNIVersion(s), CNIVersion.all.contains(v) else {
                throw CNIError(.incompatibleVersion, "unsupported result version \"\(s)\"",
                               details: "supported: \(CNIVersion.all.map(\.description).joined(separator: ", "))")
            }
            version = v
        case nil, .null?, .string:
            guard let fallbackVersion else { throw CNIError(.decodingFailure, "result has no cniVersion") }
            version = fallbackVersion
        default:
            throw CNIError(.decodingFailure, "result cniVersion must be a string")
        }
        var r = CNIResult(cniVersion: version)
        for (i, item) in try array(o, "interfaces").enumerated() {
            let f = Fields(item, "interfaces[\(i)]")
            r.interfaces.append(Interface(
                name: try f.string("name") ?? "", mac: try f.string("mac"), mtu: try f.int("mtu"),
                sandbox: try f.string("sandbox"), socketPath: try f.string("socketPath"),
                pciID: try f.string("pciID")))
        }
        for (i, item) in try array(o, "ips").enumerated() {
            let f = Fields(item, "ips[\(i)]")
            guard let a = try f.string("address"), let net = IPNetwork(a) else {
                throw CNIError(.decodingFailure, "ips[\(i)].address: invalid or missing CIDR")
            }
            let gw = try f.ip("gateway")
            let iface = try f.int("interface")
            if let v = try f.string("version"), v != (net.address.isIPv4 ? "4" : "6") {
                throw CNIError(.decodingFailure, "ips[\(i)].version \"\(v)\" does not match address \(a)")
            }
            if let iface, iface < 0 || (!r.interfaces.isEmpty && iface >= r.interfaces.count) {
                throw CNIError(.decodingFailure, "ips[\(i)].interface \(iface) out of range")
            }
            r.ips.append(IPConfig(address: net, gateway: gw, interface: iface))
        }
        for (i, item) in try array(o, "routes").enumerated() {
            let f = Fields(item, "routes[\(i)]")
            guard let d = try f.string("dst"), let dst = IPNetwork(d) else {
                throw CNIError(.decodingFailure, "routes[\(i)].dst: invalid or missing CIDR")
            }
            r.routes.append(Route(dst: dst, gw: try f.ip("gw"), mtu: try f.int("mtu"), advmss: try f.int("advmss"),
                                  priority: try f.int("priority"), table: try f.int("table"),
                                  scope: try f.int("scope")))
        }
        if let d = o["dns"], d != .null {
            let f = Fields(d, "dns")
            r.dns = DNS(nameservers: try f.strings("nameservers"), domain: try f.string("domain"),
                        search: try f.strings("search"), options: try f.strings("options"))
        }
        return r
    }

    static func array(_ o: JSONObject, _ key: String) throws(CNIError) -> [JSON] {
        switch o[key] {
        case nil, .null?: return []
        case .array(let a)?: return a
        default: throw CNIError(.decodingFailure, "result field \(key) must be an array")
        }
    }

    /// The result converted to `version`, as the reference `GetAsVersion` does: fields the
    /// target version does not know (1.1.0's interface mtu/socketPath/pciID and route
    /// mtu/advmss/priority/table/scope) are dropped, so converting down and up again loses them.
    public func converted(to version: CNIVersion) -> CNIResult {
        var r = self
        r.cniVersion = version
        if !version.hasV11Fields {
            for i in r.interfaces.indices {
                r.interfaces[i].mtu = nil; r.interfaces[i].socketPath = nil; r.interfaces[i].pciID = nil
            }
            for i in r.routes.indices {
                r.routes[i].mtu = nil; r.routes[i].advmss = nil; r.routes[i].priority = nil
                r.routes[i].table = nil; r.routes[i].scope = nil
            }
        }
        return r
    }
}

/// Typed field access with error messages that name the field path.
struct Fields {
    let json: JSON
    let path: String
    init(_ json: JSON, _ path: String) { self.json = json; self.path = path }

    func string(_ key: String) throws(CNIError) -> String? {
        switch json[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case let other?: throw CNIError(.decodingFailure, "\(path).\(key): expected string, got \(other.kindName)")
        }
    }
    func int(_ key: String) throws(CNIError) -> Int? {
        switch json[key] {
        case nil, .null?: return nil
        case let v?:
            guard let i = v.intValue, i >= Int64(Int32.min), i <= Int64(UInt32.max) else {
                throw CNIError(.decodingFailure, "\(path).\(key): expected integer, got \(v.kindName)")
            }
            return Int(i)
        }
    }
    func ip(_ key: String) throws(CNIError) -> IPAddress? {
        guard let s = try string(key), !s.isEmpty else { return nil }
        guard let ip = IPAddress(s) else { throw CNIError(.decodingFailure, "\(path).\(key): invalid IP \"\(s)\"") }
        return ip
    }
    func strings(_ key: String) throws(CNIError) -> [String] {
        switch json[key] {
        case nil, .null?: return []
        case .array(let a)?:
            var out: [String] = []
            for v in a {
                guard let s = v.stringValue else {
                    throw CNIError(.decodingFailure, "\(path).\(key): expected array of strings")
                }
                out.append(s)
            }
            return out
        case let other?: throw CNIError(.decodingFailure, "\(path).\(key): expected array, got \(other.kindName)")
        }
    }
}
