import Glibc
import Netlink

/// A fake socket that hands out recorded kernel datagrams in order and keeps what was sent.
public final class RecordedNetlinkSocket: NetlinkSocket {
    public let portID: UInt32
    /// Requests sent so far, each exactly as it would have gone to the kernel.
    public private(set) var sent: [[UInt8]] = []
    private var replies: [[UInt8]]

    public init(portID: UInt32, replies: [[UInt8]]) {
        self.portID = portID
        self.replies = replies
    }

    /// Datagrams not yet received (a test can check a dump consumed exactly what it should).
    public var remainingReplies: Int { replies.count }

    public func send(_ message: [UInt8], request: String) throws(NetlinkError) {
        sent.append(message)
    }

    public func receive(request: String) throws(NetlinkError) -> [UInt8] {
        // Running out means the code under test waits for a reply the kernel would never send.
        guard !replies.isEmpty else { throw .receive(request: request, errno: EAGAIN) }
        return replies.removeFirst()
    }
}

/// A socket wrapper that records every datagram received, for capturing fixtures.
public final class RecordingNetlinkSocket: NetlinkSocket {
    public let inner: any NetlinkSocket
    public private(set) var received: [[UInt8]] = []
    public private(set) var sent: [[UInt8]] = []

    public init(_ inner: any NetlinkSocket) { self.inner = inner }
    public var portID: UInt32 { inner.portID }

    public func send(_ message: [UInt8], request: String) throws(NetlinkError) {
        sent.append(message)
        try inner.send(message, request: request)
    }

    public func receive(request: String) throws(NetlinkError) -> [UInt8] {
        let bytes = try inner.receive(request: request)
        received.append(bytes)
        return bytes
    }
}
