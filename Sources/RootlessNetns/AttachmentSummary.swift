import JSON
import System

/// What every ADD needs of every record (reaping, forward restoration, "first of its network"),
/// without the chain and result that make a record kilobytes of JSON: a small sidecar per record,
/// `summaries/<record file name>`, written atomically right after the record (not fsynced: it is
/// checked against the record file before use, and each flush costs a journal commit).
///
/// A summary is only a hint. It names the record file it was made from (inode, size, mtime,
/// ctime): one that does not match (a crash between the two writes, a record rewritten by an
/// older version, none at all) is ignored and the record itself is read instead (and, under the
/// state lock, the summary rewritten). Reaping confirms every candidate from the record itself,
/// so a wrong summary can at worst delay a reap, never cause one.
struct AttachmentSummary: Equatable {
    var key: AttachmentKey
    var netns: String
    var netnsIdentity: NetnsIdentity?
    var hostForwards: [HostForward]

    init(_ record: Attachment) {
        key = record.key; netns = record.netns; netnsIdentity = record.netnsIdentity
        hostForwards = record.hostForwards
    }

    /// Which record file a summary describes (a record is replaced by rename, so any rewrite
    /// changes at least its ctime).
    struct Stamp: Equatable {
        var ino: UInt64, size: Int64, mtimeNs: Int64, ctimeNs: Int64
        init(_ info: FileInfo) { ino = info.ino; size = info.size; mtimeNs = info.mtimeNs; ctimeNs = info.ctimeNs }
        init?(json: JSON?) {
            guard let json, let i = json["ino"]?.intValue, let s = json["size"]?.intValue,
                  let m = json["mtimeNs"]?.intValue, let c = json["ctimeNs"]?.intValue else { return nil }
            ino = UInt64(bitPattern: i); size = s; mtimeNs = m; ctimeNs = c
        }
        func json() -> JSON {
            ["ino": .int(Int64(bitPattern: ino)), "size": .int(size), "mtimeNs": .int(mtimeNs), "ctimeNs": .int(ctimeNs)]
        }
    }

    static let maxBytes = 64 << 10
    static let dirName = "summaries"

    func encoded(stamp: Stamp) -> [UInt8]? {
        let json: JSON = ["v": 1, "record": stamp.json(), "network": .string(key.network),
                          "containerID": .string(key.containerID), "ifName": .string(key.ifName),
                          "netns": .string(netns), "netnsIdentity": netnsIdentity?.json() ?? .null,
                          "hostForwards": .array(hostForwards.map { $0.json() })]
        let bytes = Array(json.encoded().utf8)
        return bytes.count <= Self.maxBytes ? bytes : nil
    }

    /// The summary in `bytes` if it describes the record file `stamp`.
    init?(bytes: [UInt8], describing stamp: Stamp) {
        guard let json = try? JSON.parse(bytes), json["v"]?.intValue == 1,
              Stamp(json: json["record"]) == stamp,
              let net = json["network"]?.stringValue, let cid = json["containerID"]?.stringValue,
              let ifn = json["ifName"]?.stringValue, let ns = json["netns"]?.stringValue,
              let forwards = json["hostForwards"]?.arrayValue else { return nil }
        key = AttachmentKey(network: net, containerID: cid, ifName: ifn)
        netns = ns
        netnsIdentity = NetnsIdentity(json: json["netnsIdentity"])
        // A recorded identity that does not parse: not a summary to trust.
        if netnsIdentity == nil, json["netnsIdentity"] != nil, json["netnsIdentity"] != .null { return nil }
        hostForwards = forwards.compactMap(HostForward.init(json:))
    }
}

extension AttachmentStore {
    /// The summaries directory (next to `attachments/`, so a listing of records stays records
    /// only); nil for a store reached by path or a missing state dir.
    private func summariesDir(create: Bool) -> DirectoryHandle? {
        guard let state = stateDir, let root = try? state.handle() else { return nil }
        return try? root.openDirectory(AttachmentSummary.dirName, create: create, mode: 0o700)
    }

    /// Every readable record's summary, sorted by key (unreadable records are left out, as
    /// reaping and restoration always skipped them). With `repair` (only under the state lock),
    /// missing or stale summaries are rewritten and those of removed records dropped.
    func summaries(repair: Bool) -> [AttachmentSummary] {
        guard let d = try? openRecords(), let names = try? d.list() else { return [] }
        let side = summariesDir(create: repair)
        var out: [AttachmentSummary] = []
        var recordNames = Set<String>()
        for name in names where isRecordName(name) {
            recordNames.insert(name)
            guard let info = (try? d.lstat(name)) ?? nil, info.type == .regular else { continue }
            let stamp = AttachmentSummary.Stamp(info)
            if let side, let bytes = try? side.readFile(name, limit: AttachmentSummary.maxBytes),
               let summary = AttachmentSummary(bytes: bytes, describing: stamp), fileNameMatches(name, summary.key) {
                out.append(summary)
                continue
            }
            guard let record = (try? readRecord(d, name)) ?? nil else { continue }
            let summary = AttachmentSummary(record)
            out.append(summary)
            if repair, let side, let bytes = summary.encoded(stamp: stamp) {
                try? side.writeFileAtomically(name, bytes, mode: 0o600, durable: false)
            }
        }
        if repair, let side, let left = try? side.list() {
            for name in left where !recordNames.contains(name) { try? side.remove(name) }
        }
        return out.sorted { $0.key < $1.key }
    }

    /// Writes the summary of the record just saved as `name` (holding its container byte). Failing
    /// to is not an error: without a summary the record is read instead.
    func saveSummary(_ record: Attachment, name: String, records d: DirectoryHandle) {
        guard let side = summariesDir(create: true) else { return }
        guard let info = (try? d.lstat(name)) ?? nil,
              let bytes = AttachmentSummary(record).encoded(stamp: AttachmentSummary.Stamp(info)) else {
            try? side.remove(name)
            return
        }
        if (try? side.writeFileAtomically(name, bytes, mode: 0o600, durable: false)) == nil { try? side.remove(name) }
    }

    /// Drops the summary of a removed record; a leftover is ignored (it matches no record file)
    /// and dropped by the next repair.
    func removeSummary(name: String) {
        guard let side = summariesDir(create: false) else { return }
        try? side.remove(name)
    }

    private func isRecordName(_ name: String) -> Bool {
        AttachmentKey(fileName: name) != nil || AttachmentKey.isHashedFileName(name) || AttachmentKey(legacyFileName: name) != nil
    }

    /// A summary under a record's name must be about that record's key.
    private func fileNameMatches(_ name: String, _ key: AttachmentKey) -> Bool {
        if let k = AttachmentKey(fileName: name) { return k == key }
        if AttachmentKey.isHashedFileName(name) { return key.fileName == name }
        if let k = AttachmentKey(legacyFileName: name) { return k.containerID == key.containerID && k.ifName == key.ifName }
        return false
    }
}
