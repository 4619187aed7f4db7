import CNI
import CShim
import Glibc
import JSON
import System

/// The plugin's side of forwarder mappings: every mapping is named by its host socket
/// (HostForward.key), so adding, removing and restoring are idempotent by construction.
extension ForwarderClient {
    /// Binds the host socket here, in the caller's namespace (a taken port fails now, before
    /// anything depends on it), and hands it to the forwarder.
    func add(_ f: HostForward, maxConnections: Int = 512) throws(RootlessError) {
        let raw = cshim_fwd_bind(f.hostAddr, Int32(f.hostPort), f.proto == "tcp" ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue))
        guard raw >= 0 else {
            throw .portForward(-raw == EADDRINUSE ? "host port \(f.proto)/\(f.hostEndpoint) is already in use"
                : "bind \(f.proto) \(f.hostEndpoint): \(String(cString: strerror(-raw)))")
        }
        let socket = OwnedFD(adopting: raw)
        _ = try request(["op": "add", "id": .string(f.key), "proto": .string(f.proto),
                         "target": .string(f.target), "targetPort": .int(f.targetPort),
                         "maxConnections": .int(Int64(maxConnections))],
                        passing: socket.raw)
    }

    /// A forwarder that is not running holds no host socket: the forward is gone already.
    func remove(_ f: HostForward) throws(RootlessError) {
        guard identity() != nil else { return }
        _ = try request(["op": "remove", "id": .string(f.key)])
    }

    /// The keys the running forwarder serves; nil when none runs.
    func activeKeys() -> Set<String>? {
        guard identity() != nil, let reply = try? request(["op": "list"]) else { return nil }
        return Set((reply["ids"]?.arrayValue ?? []).compactMap(\.stringValue))
    }

    /// Starts the forwarder if needed and gives it every recorded forward it lacks.
    func restore(_ forwards: [HostForward], netnsPath: String, timeoutMs: Int, maxConnections: Int) -> [RootlessError] {
        let wanted = forwards.filter { $0.via == .forwarder }
        guard !wanted.isEmpty else { return [] }
        do { try ensureRunning(netnsPath: netnsPath, timeoutMs: timeoutMs) } catch { return [error] }
        let active = activeKeys() ?? []
        var errors: [RootlessError] = []
        for f in wanted where !active.contains(f.key) {
            guard !f.target.isEmpty else {
                errors.append(.portForward("\(f.key): recorded without a target (older record), cannot restore"))
                continue
            }
            do { try add(f, maxConnections: maxConnections) } catch { errors.append(error) }
        }
        return errors
    }

    /// Recorded forwards the forwarder does not serve (CHECK).
    func missing(_ forwards: [HostForward]) -> [HostForward] {
        let wanted = forwards.filter { $0.via == .forwarder }
        guard !wanted.isEmpty else { return [] }
        let active = activeKeys() ?? []
        return wanted.filter { !active.contains($0.key) }
    }
}

/// Forwards for one attachment through the forwarder, shared by both backends.
enum ForwarderForwards {
    /// One HostForward per mapping, to the container's own address of the host address's family
    /// (v4 when the container has no v6 address).
    static func plan(_ mappings: [PortMapping], result: CNIResult) throws(RootlessError) -> [HostForward] {
        var out: [HostForward] = []
        for m in mappings {
            let hostAddr = m.hostIP.isEmpty ? "0.0.0.0" : m.hostIP
            let wantV6 = hostAddr.contains(":")
            guard let target = containerAddress(result, v6: wantV6) ?? containerAddress(result, v6: !wantV6) else {
                throw .portForward("the container has no IP address to forward \(m.proto.rawValue)/\(hostAddr):\(m.hostPort) to")
            }
            var f = HostForward(proto: m.proto.rawValue, hostAddr: hostAddr, hostPort: Int64(m.hostPort),
                                target: target, targetPort: Int64(m.containerPort), via: .forwarder)
            f.id = f.hostPort
            out.append(f)
        }
        return out
    }

    static func add(_ mappings: [PortMapping], netnsPath: String, result: CNIResult,
                    context: Context) throws(RootlessError) -> [HostForward] {
        guard !mappings.isEmpty else { return [] }
        let planned = try plan(mappings, result: result)
        let client = ForwarderClient(state: context.state)
        try client.ensureRunning(netnsPath: netnsPath, timeoutMs: context.config.readyTimeout * 1000)
        var added: [HostForward] = []
        for f in planned {
            do { try client.add(f, maxConnections: context.config.maxConnectionsPerForward) } catch {
                for a in added { try? client.remove(a) }
                throw error
            }
            added.append(f)
        }
        return added
    }

    /// The container's address of one family: on the interface inside its sandbox, else the first.
    static func containerAddress(_ result: CNIResult, v6: Bool) -> String? {
        let ips = result.ips.filter { $0.address.address.isIPv4 != v6 }
        let inSandbox = ips.first { ip in
            guard let i = ip.interface, i >= 0, i < result.interfaces.count else { return false }
            return result.interfaces[i].sandbox != nil
        }
        return (inSandbox ?? ips.first)?.address.address.description
    }
}

extension ForwarderForwards {
    /// Removes the forwarder's forwards among `forwards`; an absent one counts as removed.
    static func remove(_ forwards: [HostForward], context: Context) -> [RootlessError] {
        let client = ForwarderClient(state: context.state)
        var errors: [RootlessError] = []
        for f in forwards where f.via == .forwarder {
            do { try client.remove(f) } catch { errors.append(error) }
        }
        return errors
    }
}

extension ForwarderClient {
    /// For `rootless-netns status`: host addr:port → container addr:port, proto, connections.
    func statusEntries() -> JSON {
        guard identity() != nil, let reply = try? request(["op": "list"]) else { return .array([]) }
        return .array((reply["forwards"]?.arrayValue ?? []).map { e in
            let parts = (e["id"]?.stringValue ?? "").split(separator: "/").map(String.init)
            let host = parts.count == 3 ? HostForward.endpoint(parts[1], Int64(parts[2]) ?? 0) : ""
            return ["host": .string(host), "container": e["target"] ?? .null, "proto": e["proto"] ?? .null,
                    "connections": e["connections"] ?? .null]
        })
    }
}
