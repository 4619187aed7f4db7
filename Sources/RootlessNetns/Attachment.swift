import CNI
import JSON

/// Which attachment a record is about: a container's interface on one network. Two networks
/// sharing a state dir may attach the same container and ifname; their records never mix.
struct AttachmentKey: Hashable, Comparable, CustomStringConvertible {
    var network: String
    var containerID: String
    var ifName: String

    var description: String { "\(network)/\(containerID)/\(ifName)" }

    static func < (a: Self, b: Self) -> Bool {
        (a.network, a.containerID, a.ifName) < (b.network, b.containerID, b.ifName)
    }

    /// `<network>+<containerID>@<ifName>.json`: network names and container IDs cannot contain
    /// "+" or "@" (validated), interface names contain no "/".
    /// Too long for NAME_MAX (a 240-character container ID is valid CNI): `=<sha256 prefix>.json`,
    /// the key itself is read from inside the record.
    var fileName: String {
        let plain = "\(network)+\(containerID)@\(ifName).json"
        guard plain.utf8.count > Self.maxFileName else { return plain }
        return "=" + SHA256.hex(SHA256.hash(Array("\(network)\u{0}\(containerID)\u{0}\(ifName)".utf8)).prefix(20)) + ".json"
    }
    static let maxFileName = 255
    static func isHashedFileName(_ name: String) -> Bool { name.hasPrefix("=") && name.hasSuffix(".json") }
    /// What versions before state v2 named it (no network).
    var legacyFileName: String {
        let plain = "\(containerID)@\(ifName).json"
        return plain.utf8.count > Self.maxFileName ? fileName : plain
    }

    init(network: String, containerID: String, ifName: String) {
        self.network = network; self.containerID = containerID; self.ifName = ifName
    }

    init?(fileName name: String) {
        guard name.hasSuffix(".json"), let plus = name.firstIndex(of: "+"), let at = name.firstIndex(of: "@"),
              plus < at else { return nil }
        let net = String(name[..<plus])
        let cid = String(name[name.index(after: plus)..<at])
        let ifn = String(name[name.index(after: at)...].dropLast(".json".count))
        guard !net.isEmpty, !cid.isEmpty, !ifn.isEmpty else { return nil }
        self.init(network: net, containerID: cid, ifName: ifn)
    }

    /// An older record's name; its network is read from inside it.
    init?(legacyFileName name: String) {
        guard name.hasSuffix(".json"), let at = name.firstIndex(of: "@"), !name[..<at].contains("+") else { return nil }
        let cid = String(name[..<at])
        let ifn = String(name[name.index(after: at)...].dropLast(".json".count))
        guard !cid.isEmpty, !ifn.isEmpty else { return nil }
        self.init(network: "", containerID: cid, ifName: ifn)
    }
}

/// One container attached through the shared namespace, recorded after its chain succeeded.
struct Attachment: Equatable {
    var containerID: String
    var ifName: String
    var netns: String
    var network: String
    var version: CNIVersion
    /// The delegate chain as it ran (name/version injected on use), so DEL and CHECK replay it
    /// even if the conflist changed since.
    var delegates: [JSONObject]
    var capabilityArgs: JSONObject
    var result: CNIResult
    var hostForwards: [HostForward]
    /// The container's namespace as seen at ADD (nil in records of older versions: never reaped).
    var netnsIdentity: NetnsIdentity? = nil

    var key: AttachmentKey { AttachmentKey(network: network, containerID: containerID, ifName: ifName) }

    /// The record's bytes: compact JSON, at most `AttachmentStore.maxRecordBytes`.
    func encodedRecord() throws(RootlessError) -> [UInt8] {
        let bytes = Array(json().encoded().utf8)
        guard bytes.count <= AttachmentStore.maxRecordBytes else {
            throw .recordTooLarge(bytes: bytes.count)
        }
        return bytes
    }

    func json() -> JSON {
        [
            "containerID": .string(containerID), "ifName": .string(ifName), "netns": .string(netns),
            "network": .string(network), "cniVersion": .string(version.description),
            "delegates": .array(delegates.map { .object($0) }),
            "capabilityArgs": .object(capabilityArgs),
            "result": result.json(version: .latest),
            "hostForwards": .array(hostForwards.map { $0.json() }),
            "netnsIdentity": netnsIdentity?.json() ?? .null,
        ]
    }

    init(containerID: String, ifName: String, netns: String, network: String, version: CNIVersion,
         delegates: [JSONObject], capabilityArgs: JSONObject, result: CNIResult, hostForwards: [HostForward]) {
        self.containerID = containerID; self.ifName = ifName; self.netns = netns; self.network = network
        self.version = version; self.delegates = delegates; self.capabilityArgs = capabilityArgs
        self.result = result; self.hostForwards = hostForwards
    }

    init(json: JSON) throws(RootlessError) {
        guard let cid = json["containerID"]?.stringValue, let ifn = json["ifName"]?.stringValue,
              let v = json["cniVersion"]?.stringValue.flatMap(CNIVersion.init),
              case .array(let dels)? = json["delegates"], let res = json["result"]
        else { throw .corruptState("attachment record is missing fields") }
        containerID = cid; ifName = ifn; version = v
        netns = json["netns"]?.stringValue ?? ""
        network = json["network"]?.stringValue ?? ""
        delegates = dels.compactMap(\.objectValue)
        capabilityArgs = json["capabilityArgs"]?.objectValue ?? JSONObject()
        do { result = try CNIResult.parse(res) } catch { throw .corruptState("attachment result: \(error.msg)") }
        hostForwards = (json["hostForwards"]?.arrayValue ?? []).compactMap(HostForward.init(json:))
        netnsIdentity = NetnsIdentity(json: json["netnsIdentity"])
    }
}
