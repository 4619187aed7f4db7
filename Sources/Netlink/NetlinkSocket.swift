/// The seam between the rtnetlink verbs and the kernel: whole datagrams in, whole datagrams out.
///
/// `KernelNetlinkSocket` is the real one; `RecordedNetlinkSocket` (target NetlinkTestSupport) replays
/// captured kernel replies so that message building and parsing are tested without privileges.
public protocol NetlinkSocket: AnyObject {
    /// The port id the kernel assigned to this socket; replies addressed to another port are rejected.
    var portID: UInt32 { get }
    /// Sends one complete netlink request. `request` names it for error messages.
    func send(_ message: [UInt8], request: String) throws(NetlinkError)
    /// Receives one datagram (possibly several netlink messages), blocking until one arrives.
    func receive(request: String) throws(NetlinkError) -> [UInt8]
}
