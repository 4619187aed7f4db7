import PortForwarder

/// The port forwarder's entry (`rootless-netns __forwarder SOCKET`, see HiddenCommand): the
/// daemon lives in the PortForwarder target; this file only names it for Entry.swift.
enum Forwarder {
    static func main(socketPath: String) -> Int32 { ForwarderDaemon.main(socketPath: socketPath) }
}
