import CNetlinkShim
#if canImport(Glibc)
import Glibc
#endif

/// rtnetlink over a `NetlinkSocket`: builds requests with libmnl, checks every reply's sequence
/// number and port id, follows multi-part dumps to NLMSG_DONE, maps NLMSG_ERROR to
/// `NetlinkError.kernel`, and repeats a dump the kernel flagged NLM_F_DUMP_INTR.
public final class RouteNetlink {
    public let socket: any NetlinkSocket
    /// How many times a dump is tried before giving up on NLM_F_DUMP_INTR.
    public let maxDumpAttempts: Int
    public private(set) var nextSequence: UInt32

    /// `firstSequence` is fixed (not time-based) so recorded replies replay deterministically.
    public init(socket: any NetlinkSocket, firstSequence: UInt32 = 1, maxDumpAttempts: Int = 5) {
        self.socket = socket
        self.nextSequence = firstSequence
        self.maxDumpAttempts = max(1, maxDumpAttempts)
    }

    /// Opens a real socket inside the namespace at `netnsPath` (nil: our own namespace).
    public convenience init(netnsPath: String?) throws(NetlinkError) {
        self.init(socket: try KernelNetlinkSocket(netnsPath: netnsPath))
    }

    private func takeSequence() -> UInt32 {
        defer { nextSequence &+= 1 }
        return nextSequence
    }

    /// Sends the dump request built by `build(sequence)` and hands each reply message of type
    /// `replyType` to `parse`, retrying from scratch when the kernel flags the dump inconsistent.
    func dump<Item>(
        _ name: String, replyType: Int32,
        build: (UInt32) -> [UInt8],
        parse: (UnsafePointer<nlmsghdr>) throws(NetlinkError) -> Item?
    ) throws(NetlinkError) -> [Item] {
        for _ in 0..<maxDumpAttempts {
            let sequence = takeSequence()
            try socket.send(build(sequence), request: name)
            var items: [Item] = []
            var interrupted = false
            var done = false
            while !done {
                let datagram = try socket.receive(request: name)
                try walkMessages(datagram, request: name, sequence: sequence) { (nlh) throws(NetlinkError) in
                    let flags = Int32(nlh.pointee.nlmsg_flags)
                    if flags & NLM_F_DUMP_INTR != 0 { interrupted = true }
                    switch Int32(nlh.pointee.nlmsg_type) {
                    case NLMSG_DONE:
                        try checkDoneStatus(nlh, request: name)
                        done = true
                    case NLMSG_ERROR:
                        try checkError(nlh, request: name)
                        done = true  // an ack (error 0) ends the exchange as well
                    case NLMSG_NOOP:
                        break
                    case replyType:
                        // Items of an interrupted dump are dropped below; still parse to stay in sync.
                        if let item = try parse(nlh) { items.append(item) }
                    default:
                        break  // other message types in a dump are not ours to interpret
                    }
                    return !done
                }
            }
            if !interrupted { return items }
        }
        throw .dumpInterrupted(request: name, attempts: maxDumpAttempts)
    }

    /// Calls `body` for every message in one datagram, after checking framing, port id and
    /// sequence number. `body` returns false to stop (NLMSG_DONE seen).
    func walkMessages(
        _ datagram: [UInt8], request: String, sequence: UInt32,
        _ body: (UnsafePointer<nlmsghdr>) throws(NetlinkError) -> Bool
    ) throws(NetlinkError) {
        let headerSize = MemoryLayout<nlmsghdr>.size
        guard datagram.count >= headerSize else {
            throw .malformed(request: request, detail: "datagram of \(datagram.count) bytes")
        }
        // A scratch copy aligned for nlmsghdr; Swift arrays are, but that is not promised.
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: datagram.count,
                                                         alignment: MemoryLayout<UInt64>.alignment)
        defer { raw.deallocate() }
        raw.copyBytes(from: datagram)
        guard let base = raw.baseAddress else { return }
        var remaining = Int32(datagram.count)
        var current: UnsafeRawPointer? = UnsafeRawPointer(base)
        while let ptr = current {
            let nlh = ptr.assumingMemoryBound(to: nlmsghdr.self)
            guard cshim_nlmsg_ok(nlh, remaining) != 0 else {
                if remaining > 0 {
                    throw .malformed(request: request, detail: "\(remaining) trailing bytes do not form a message")
                }
                return
            }
            if nlh.pointee.nlmsg_pid != socket.portID && nlh.pointee.nlmsg_pid != 0 {
                throw .malformed(request: request,
                                 detail: "reply for port \(nlh.pointee.nlmsg_pid), we are \(socket.portID)")
            }
            if nlh.pointee.nlmsg_seq != sequence {
                throw .sequenceMismatch(request: request, expected: sequence, got: nlh.pointee.nlmsg_seq)
            }
            guard try body(nlh) else { return }
            current = UnsafeRawPointer(cshim_nlmsg_next(nlh, &remaining))
            if remaining <= 0 { return }
        }
    }

    /// NLMSG_DONE carries an int: negative when the dump failed part way.
    private func checkDoneStatus(_ nlh: UnsafePointer<nlmsghdr>, request: String) throws(NetlinkError) {
        guard cshim_nlmsg_payload_len(nlh) >= MemoryLayout<Int32>.size,
              let payload = cshim_nlmsg_payload(nlh) else { return }
        let status = payload.loadUnaligned(as: Int32.self)
        if status < 0 { throw .kernel(errno: -status, request: request, message: extAckMessage(nlh, isDone: true)) }
    }

    /// NLMSG_ERROR: error 0 is an ack, anything else becomes `.kernel` with the extended-ack text.
    func checkError(_ nlh: UnsafePointer<nlmsghdr>, request: String) throws(NetlinkError) {
        guard cshim_nlmsg_payload_len(nlh) >= MemoryLayout<nlmsgerr>.size,
              let payload = cshim_nlmsg_payload(nlh) else {
            throw .malformed(request: request, detail: "short NLMSG_ERROR")
        }
        let err = payload.loadUnaligned(as: nlmsgerr.self)
        if err.error == 0 { return }
        throw .kernel(errno: -err.error, request: request, message: extAckMessage(nlh, isDone: false))
    }

    /// The NLMSGERR_ATTR_MSG string of an extended ack, if the kernel attached one.
    private func extAckMessage(_ nlh: UnsafePointer<nlmsghdr>, isDone: Bool) -> String? {
        let flags = Int32(nlh.pointee.nlmsg_flags)
        guard flags & NLM_F_ACK_TLVS != 0 else { return nil }
        var offset = isDone ? MemoryLayout<Int32>.size : MemoryLayout<nlmsgerr>.size
        if !isDone && flags & NLM_F_CAPPED == 0, let payload = cshim_nlmsg_payload(nlh) {
            // Uncapped: the whole original request follows the nlmsgerr header.
            let original = payload.loadUnaligned(as: nlmsgerr.self).msg
            offset += Int(original.nlmsg_len) - MemoryLayout<nlmsghdr>.size
        }
        let table = attributeTable(nlh, offset: offset, max: Int(NLMSGERR_ATTR_MAX.rawValue))
        guard let attr = table[Int(NLMSGERR_ATTR_MSG.rawValue)] else { return nil }
        return attributeString(attr)
    }
}

/// Attribute pointers of a message by type (index), via libmnl's parser; nil where absent.
func attributeTable(_ nlh: UnsafePointer<nlmsghdr>, offset: Int, max: Int) -> [UnsafePointer<nlattr>?] {
    var table = [UnsafePointer<nlattr>?](repeating: nil, count: max + 1)
    guard offset >= 0, Int(cshim_nlmsg_payload_len(nlh)) >= offset else { return table }
    _ = table.withUnsafeMutableBufferPointer { tb in
        cshim_nl_attr_table(nlh, UInt32(offset), tb.baseAddress, UInt32(max))
    }
    return table
}

/// The same for the attributes nested in `nest`.
func nestedAttributeTable(_ nest: UnsafePointer<nlattr>, max: Int) -> [UnsafePointer<nlattr>?] {
    var table = [UnsafePointer<nlattr>?](repeating: nil, count: max + 1)
    _ = table.withUnsafeMutableBufferPointer { tb in cshim_nl_attr_table_nested(nest, tb.baseAddress, UInt32(max)) }
    return table
}
