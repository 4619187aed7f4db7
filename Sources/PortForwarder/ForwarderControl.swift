import JSON
import System

/// The control socket: one JSON request per connection, the host socket attached to "add"
/// (SCM_RIGHTS).
///
///     {"op":"add","id":ID,"proto":"tcp","target":"10.89.0.2","targetPort":8080,
///      "maxConnections":512,"maxTotal":N,"udpIdleMs":60000,"sourceIP":true,"targetPrefix":24} + fd
///     {"op":"remove","id":ID}      {"op":"list"}
extension ForwarderDaemon {
    func serveControl(_ control: borrowing OwnedFD) {
        guard case .connection(let conn, _) = ForwardSocket.accept(control) else { return }
        var reply: JSON
        do {
            let (bytes, raw) = try UnixSocket.receiveRequest(conn.raw, timeoutMs: 2000)
            let passed: OwnedFD? = raw >= 0 ? OwnedFD(adopting: raw) : nil
            reply = handle(try JSON.parse(bytes), passed: passed)
        } catch {
            reply = ["ok": false, "error": .string("\(error)")]
        }
        try? FDIO.writeAll(conn.raw, Array(reply.encoded().utf8))
    }

    func handle(_ request: JSON, passed: consuming OwnedFD?) -> JSON {
        let id = request["id"]?.stringValue ?? ""
        switch request["op"]?.stringValue {
        case "add":
            switch consume passed {
            case .some(let fd): return add(request, id: id, listener: fd)
            case .none: return ["ok": false, "error": "add needs a socket"]
            }
        case "remove":
            if let m = mappings.removeValue(forKey: id) { removeMapping(m) }
            return ["ok": true]
        case "list":
            let details: [JSON] = mappings.keys.sorted().compactMap { k in
                guard let m = mappings[k] else { return nil }
                return ["id": .string(k), "proto": .string(m.tcp ? "tcp" : "udp"), "target": .string(m.target.description),
                        "connections": .int(Int64(m.connections)), "maxConnections": .int(Int64(m.maxConnections)),
                        "sourceIP": .bool(m.sourceIP && routing.ready(v6: m.target.isIPv6))]
            }
            return ["ok": true, "ids": .array(mappings.keys.sorted().map { .string($0) }), "forwards": .array(details),
                    "connections": .int(Int64(total)), "maxTotal": .int(Int64(maxTotal))]
        default:
            return ["ok": false, "error": "unknown op"]
        }
    }

    private func add(_ request: JSON, id: String, listener: consuming OwnedFD) -> JSON {
        guard !id.isEmpty, mappings[id] == nil, let ip = request["target"]?.stringValue,
              let port = request["targetPort"]?.intValue, let target = SocketAddress(ip: ip, port: Int(port)) else {
            return ["ok": false, "error": "add needs a new id, a target address and targetPort"]
        }
        do { try ForwardSocket.setNonBlocking(listener) } catch { return ["ok": false, "error": .string("\(error)")] }
        let tcp = request["proto"]?.stringValue != "udp"
        let sourceIP = request["sourceIP"]?.boolValue == true
        if let cap = request["maxTotal"]?.intValue, cap > 0 { configuredCap = Int(cap) }
        if sourceIP { routing.prepare(log: &log) }
        let m = Mapping(id: id, tcp: tcp, listener: listener, target: target,
                        maxConnections: max(1, Int(request["maxConnections"]?.intValue ?? 512)),
                        udpIdleMs: max(1, Int(request["udpIdleMs"]?.intValue ?? Int64(Self.defaultUDPIdleMs))),
                        sourceIP: sourceIP, subnet: request["targetPrefix"]?.intValue.map { (ip, Int($0)) })
        m.slot = table.insert(m)
        do { try epoll.add(m.listener, .readable, token: MemberTable.token(m.slot, side: 0)) } catch {
            table.remove(m.slot)
            return ["ok": false, "error": .string("\(error)")]
        }
        mappings[id] = m
        return ["ok": true]
    }

    /// The listener closes with the mapping; its connections close now.
    private func removeMapping(_ m: Mapping) {
        m.removed = true
        table.remove(m.slot)
        for p in Array(m.pairs.values) { close(p) }
        for f in Array(m.flows.values) { closeFlow(f) }
    }
}
