import JSON

/// A forward installed in the helper for one mapping; `id` is the helper's handle.
struct HostForward: Equatable {
    var id: Int64
    var proto: String
    var hostAddr: String
    var hostPort: Int64

    func json() -> JSON {
        ["id": .int(id), "proto": .string(proto), "hostAddr": .string(hostAddr), "hostPort": .int(hostPort)]
    }
    init(id: Int64, proto: String, hostAddr: String, hostPort: Int64) {
        self.id = id; self.proto = proto; self.hostAddr = hostAddr; self.hostPort = hostPort
    }
    init?(json: JSON) {
        guard let id = json["id"]?.intValue else { return nil }
        self.id = id
        proto = json["proto"]?.stringValue ?? ""
        hostAddr = json["hostAddr"]?.stringValue ?? ""
        hostPort = json["hostPort"]?.intValue ?? 0
    }
}
