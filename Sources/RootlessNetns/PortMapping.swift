import CNI
import IP
import JSON

/// One entry of runtimeConfig.portMappings (the `portMappings` capability).
struct PortMapping: Equatable {
    enum Proto: String { case tcp, udp }
    var hostPort: UInt16
    var containerPort: UInt16
    var proto: Proto
    var hostIP: String   // "" = all host addresses

    /// `allowIPv6`: IPv6 host addresses (our forwarder takes them; slirp4netns's API does not).
    static func parseAll(_ json: JSON?, allowIPv6: Bool = false) throws(RootlessError) -> [PortMapping] {
        guard let json, json != .null else { return [] }
        guard case .array(let items) = json else { throw .portMapping("expected an array") }
        var out: [PortMapping] = []
        for (i, entry) in items.enumerated() {
            // Keys as Go plugins read them: go-cni sends {"HostPort":8080,...} (no json tags).
            let fields = entry.objectValue?.canonicalizingGoKeys(CapabilityArgs.portMappingFields) ?? JSONObject()
            let item = JSON.object(fields)
            func port(_ key: String) throws(RootlessError) -> UInt16 {
                guard let v = item[key]?.intValue, v >= 1, v <= 65535 else {
                    throw .portMapping("[\(i)].\(key) must be a port number 1-65535")
                }
                return UInt16(v)
            }
            if let p = item["protocol"], p != .null, p.stringValue == nil {
                throw .portMapping("[\(i)].protocol must be a string")
            }
            let protoText = (item["protocol"]?.stringValue ?? "tcp").lowercased()
            guard let proto = Proto(rawValue: protoText) else {
                throw .portMapping("[\(i)].protocol \"\(protoText)\" is not tcp or udp")
            }
            var hostIP = item["hostIP"]?.stringValue ?? ""
            if hostIP == "0.0.0.0" { hostIP = "" }
            if !hostIP.isEmpty {
                guard let ip = IPAddress(hostIP) else { throw .portMapping("[\(i)].hostIP \"\(hostIP)\" is not an IP address") }
                guard ip.isIPv4 || allowIPv6 else {
                    throw .portMapping("[\(i)].hostIP \(hostIP): only IPv4 host addresses can be forwarded by slirp4netns")
                }
                if !ip.isIPv4 { hostIP = ip.description }
            }
            let m = PortMapping(hostPort: try port("hostPort"), containerPort: try port("containerPort"),
                                proto: proto, hostIP: hostIP)
            // The wildcard overlaps every address on the same port.
            if out.contains(where: { $0.hostPort == m.hostPort && $0.proto == m.proto
                && ($0.hostIP == m.hostIP || $0.hostIP.isEmpty || m.hostIP.isEmpty) }) {
                throw .portMapping("[\(i)] duplicates host port \(proto.rawValue)/\(m.hostPort)")
            }
            out.append(m)
        }
        return out
    }
}

extension PortMapping {
    /// runtimeConfig as the delegates inside see it: the helper delivers forwarded traffic to
    /// the namespace's own address, so that is the "host IP" portmap must match there.
    /// Capability names and entry keys are canonical camelCase, whatever case the runtime used.
    static func delegateRuntimeConfig(_ runtime: JSONObject, guestAddress: String) -> JSONObject {
        var out = CapabilityArgs.canonical(runtime)
        guard case .array(let items)? = out["portMappings"] else { return out }
        out["portMappings"] = .array(items.map { item in
            guard case .object(var o) = item else { return item }
            if guestAddress.isEmpty { o["hostIP"] = nil } else { o["hostIP"] = .string(guestAddress) }
            return .object(o)
        })
        return out
    }
}
