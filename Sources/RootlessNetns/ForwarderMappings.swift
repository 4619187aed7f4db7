import CNI
import JSON
import PortForwarder
import System

/// What the forwarder is told besides the mapping itself (from the plugin config).
struct ForwarderOptions {
    var maxConnections = 512
    var maxTotal: Int? = nil
    var udpIdleMs: Int? = nil
    var sourceIP = false

    init() {}

    init(_ config: RootlessConfig) {
        maxConnections = config.maxConnectionsPerForward
        maxTotal = config.maxConnections
        udpIdleMs = config.udpIdleTimeout * 1000
        sourceIP = config.sourceIP
    }
}

/// The plugin's side of forwarder mappings: every mapping is named by its host socket
/// (HostForward.key), so adding, removing and restoring are idempotent by construction.
extension ForwarderClient {
    /// Binds the host socket here, in the caller's namespace (a taken port fails now, before
    /// anything depends on it), and hands it to the forwarder.
    func add(_ f: HostForward, options: ForwarderOptions) throws(RootlessError) {
        let m = ForwarderConnection.Mapping(id: f.key, tcp: f.proto == "tcp", target: f.target, targetPort: Int(f.targetPort),
                                            targetPrefix: f.targetPrefix, maxConnections: options.maxConnections,
                                            maxTotal: options.maxTotal, udpIdleMs: options.udpIdleMs, sourceIP: options.sourceIP)
        do { try connection.add(m, hostIP: f.hostAddr, hostPort: Int(f.hostPort)) } catch {
            throw .portForward(error.addressInUse ? "host port \(f.proto)/\(f.hostEndpoint) is already in use" : error.description)
        }
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
    func restore(_ forwards: [HostForward], netnsPath: String, timeoutMs: Int, options: ForwarderOptions) -> [RootlessError] {
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
            do { try add(f, options: options) } catch { errors.append(error) }
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
            guard let (target, prefix) = containerAddress(result, v6: wantV6) ?? containerAddress(result, v6: !wantV6) else {
                throw .portForward("the container has no IP address to forward \(m.proto.rawValue)/\(hostAddr):\(m.hostPort) to")
            }
            var f = HostForward(proto: m.proto.rawValue, hostAddr: hostAddr, hostPort: Int64(m.hostPort),
                                target: target, targetPort: Int64(m.containerPort), via: .forwarder)
            f.id = f.hostPort
            f.targetPrefix = prefix
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
            do { try client.add(f, options: ForwarderOptions(context.config)) } catch {
                for a in added { try? client.remove(a) }
                throw error
            }
            added.append(f)
        }
        return added
    }

    /// The container's address of one family: on the interface inside its sandbox, else the first.
    static func containerAddress(_ result: CNIResult, v6: Bool) -> (String, Int)? {
        let ips = result.ips.filter { $0.address.address.isIPv4 != v6 }
        let inSandbox = ips.first { ip in
            guard let i = ip.interface, i >= 0, i < result.interfaces.count else { return false }
            return result.interfaces[i].sandbox != nil
        }
        return (inSandbox ?? ips.first).map { ($0.address.address.description, $0.address.prefixLength) }
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
