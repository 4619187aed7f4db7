import JSON

/// One host → container forward of an attachment. It is identified by what it is: the host
/// socket (proto, host address, host port), which the host can bind only once. Never by a
/// helper's handle: slirp4netns numbers its forwards from 1 again after a restart, so an id
/// recorded before the restart names someone else's forward afterwards.
struct HostForward: Equatable {
    enum Via: String, Equatable {
        /// Our forwarder process inside the shared namespace (both backends).
        case forwarder
        /// slirp4netns's own `add_hostfwd` (the `portForwarder: "slirp4netns"` option).
        case slirp4netns
    }

    var proto: String
    var hostAddr: String
    var hostPort: Int64
    /// Where it lands (inside the shared namespace): the container, or for slirp4netns's API
    /// the namespace's own address (portmap DNATs from there). Empty in records written before
    /// targets were recorded: such a forward is removed like any other but cannot be restored.
    var target: String
    var targetPort: Int64
    var via: Via
    /// Prefix length of the container's subnet (forwarder only; nil in older records): clients
    /// inside it are never shown to the container as themselves.
    var targetPrefix: Int? = nil
    /// The helper's handle when it was added, for logs only: never used to remove it.
    var id: Int64 = 0

    /// The identity: "tcp/0.0.0.0/8080".
    var key: String { "\(proto)/\(hostAddr)/\(hostPort)" }

    /// `[::1]:8080` or `127.0.0.1:8080`.
    var hostEndpoint: String { Self.endpoint(hostAddr, hostPort) }
    var targetEndpoint: String { Self.endpoint(target, targetPort) }
    static func endpoint(_ addr: String, _ port: Int64) -> String {
        addr.contains(":") ? "[\(addr)]:\(port)" : "\(addr):\(port)"
    }

    func sameSocket(_ other: HostForward) -> Bool { key == other.key }

    init(proto: String, hostAddr: String, hostPort: Int64, target: String, targetPort: Int64, via: Via) {
        self.proto = proto; self.hostAddr = hostAddr; self.hostPort = hostPort
        self.target = target; self.targetPort = targetPort; self.via = via
    }

    func json() -> JSON {
        var j: JSON = ["id": .int(id), "proto": .string(proto), "hostAddr": .string(hostAddr), "hostPort": .int(hostPort),
                       "target": .string(target), "targetPort": .int(targetPort), "via": .string(via.rawValue)]
        if let targetPrefix { j["targetPrefix"] = .int(Int64(targetPrefix)) }
        return j
    }

    /// A forward as records of the old format described it (`id` = the helper's handle, which
    /// is dropped): pasta's used the host port as id and are forwarder ones.
    init(id: Int64, proto: String, hostAddr: String, hostPort: Int64) {
        self.init(proto: proto, hostAddr: hostAddr, hostPort: hostPort, target: "", targetPort: 0,
                  via: id == hostPort ? .forwarder : .slirp4netns)
        self.id = id
    }

    /// Also reads records of the old format (see `init(id:...)`).
    init?(json: JSON) {
        let port = json["hostPort"]?.intValue, legacyID = json["id"]?.intValue
        guard port != nil || legacyID != nil else { return nil }
        let proto = json["proto"]?.stringValue ?? "", hostAddr = json["hostAddr"]?.stringValue ?? ""
        if let v = json["via"]?.stringValue.flatMap(Via.init(rawValue:)) {
            self.init(proto: proto, hostAddr: hostAddr, hostPort: port ?? 0, target: json["target"]?.stringValue ?? "",
                      targetPort: json["targetPort"]?.intValue ?? 0, via: v)
            id = legacyID ?? 0
            targetPrefix = json["targetPrefix"]?.intValue.map { Int($0) }
        } else {
            self.init(id: legacyID ?? 0, proto: proto, hostAddr: hostAddr, hostPort: port ?? 0)
        }
    }
}

/// Forwards recorded in the attachments: what a restarted helper or forwarder must carry again.
enum RecordedForwards {
    /// From the records' summaries (see AttachmentSummary): no record is parsed on the warm path.
    static func all(_ recorded: [AttachmentSummary]) -> [HostForward] {
        var out: [HostForward] = []
        var seen = Set<String>()
        for s in recorded {
            for f in s.hostForwards where seen.insert(f.key).inserted { out.append(f) }
        }
        return out
    }
}
