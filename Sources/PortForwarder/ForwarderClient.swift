import JSON
import System

/// The plugin's side of the control socket (ForwarderControl.swift has the daemon's).
public struct ForwarderConnection {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// The host port was taken (bind failed with EADDRINUSE).
        public var addressInUse = false
    }

    /// What one mapping asks of the forwarder.
    public struct Mapping {
        public var id: String
        public var tcp: Bool
        public var target: String
        public var targetPort: Int
        /// Prefix length of the container's subnet (clients inside it keep the namespace's address).
        public var targetPrefix: Int?
        public var maxConnections: Int
        public var maxTotal: Int?
        public var udpIdleMs: Int?
        public var sourceIP: Bool

        public init(id: String, tcp: Bool, target: String, targetPort: Int, targetPrefix: Int? = nil,
                    maxConnections: Int = 512, maxTotal: Int? = nil, udpIdleMs: Int? = nil, sourceIP: Bool = false) {
            self.id = id; self.tcp = tcp; self.target = target; self.targetPort = targetPort
            self.targetPrefix = targetPrefix; self.maxConnections = maxConnections; self.maxTotal = maxTotal
            self.udpIdleMs = udpIdleMs; self.sourceIP = sourceIP
        }

        var json: JSON {
            var j: JSON = ["op": "add", "id": .string(id), "proto": .string(tcp ? "tcp" : "udp"), "target": .string(target),
                           "targetPort": .int(Int64(targetPort)), "maxConnections": .int(Int64(maxConnections)),
                           "sourceIP": .bool(sourceIP)]
            if let targetPrefix { j["targetPrefix"] = .int(Int64(targetPrefix)) }
            if let maxTotal { j["maxTotal"] = .int(Int64(maxTotal)) }
            if let udpIdleMs { j["udpIdleMs"] = .int(Int64(udpIdleMs)) }
            return j
        }
    }

    public let socketPath: String
    public init(socketPath: String) { self.socketPath = socketPath }

    /// Binds the host socket in the caller's namespace (a taken port fails here, before anything
    /// depends on it) and hands it to the forwarder; our copy closes on return.
    public func add(_ m: Mapping, hostIP: String, hostPort: Int) throws(Failure) {
        let listener: OwnedFD
        do { listener = try ForwardSocket.bindListener(ip: hostIP, port: hostPort, tcp: m.tcp) } catch {
            throw Failure(description: "\(error)", addressInUse: ForwardSocket.isAddressInUse(error))
        }
        _ = try exchange(m.json, passing: listener.raw)
    }

    public func remove(id: String) throws(Failure) { _ = try request(["op": "remove", "id": .string(id)]) }

    /// {"ids": [...], "forwards": [{id, proto, target, connections, maxConnections, sourceIP}], ...}
    public func list() throws(Failure) -> JSON { try request(["op": "list"]) }

    public func request(_ json: JSON) throws(Failure) -> JSON { try exchange(json, passing: nil) }

    /// One request; `fd` (still ours: SCM_RIGHTS duplicates it) rides along.
    private func exchange(_ json: JSON, passing fd: Int32?) throws(Failure) -> JSON {
        let bytes: [UInt8]
        do { bytes = try UnixSocket.request(path: socketPath, Array(json.encoded().utf8), passing: fd, timeoutMs: 5000) } catch {
            throw Failure(description: "port forwarder \(socketPath): \(error)")
        }
        guard let reply = try? JSON.parse(bytes) else { throw Failure(description: "port forwarder sent an invalid reply") }
        if reply["ok"]?.boolValue != true {
            throw Failure(description: "port forwarder: \(reply["error"]?.stringValue ?? reply.encoded())")
        }
        return reply
    }
}
