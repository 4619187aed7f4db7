import JSON
import System

/// The port forwarder: one process per shared namespace, running inside it, one epoll loop,
/// no thread or process per connection. The plugin binds each host port in the host's
/// namespace and hands the socket over (SCM_RIGHTS, see ForwarderControl.swift); the daemon
/// accepts there and connects to the container. TCP bytes move with splice(2) through a pipe
/// pair per connection (ForwarderTCP.swift), UDP datagrams through one flow socket per client
/// (ForwarderUDP.swift).
public final class ForwarderDaemon {
    /// One forwarded host socket.
    final class Mapping: LoopMember {
        let id: String
        let tcp: Bool
        let listener: OwnedFD
        let target: SocketAddress
        /// Connection pairs (TCP) or flows (UDP) at once; the next one is refused.
        let maxConnections: Int
        let udpIdleMs: Int
        /// Connect from the client's own address (TCP and UDP; see TransparentRouting).
        let sourceIP: Bool
        /// The container's subnet: clients inside it are never impersonated (the container
        /// would answer them on the bridge, not through us).
        let subnet: (ip: String, prefix: Int)?
        var connections = 0
        var slot = -1
        var flows: [SocketAddress: UDPFlow] = [:]
        var pairs: [Int: TCPPair] = [:]
        var removed = false

        init(id: String, tcp: Bool, listener: consuming OwnedFD, target: SocketAddress, maxConnections: Int,
             udpIdleMs: Int, sourceIP: Bool, subnet: (ip: String, prefix: Int)?) {
            self.id = id; self.tcp = tcp; self.listener = listener; self.target = target
            self.maxConnections = maxConnections; self.udpIdleMs = udpIdleMs
            self.sourceIP = sourceIP; self.subnet = subnet
        }

        func ready(_ events: Epoll.Events, side: Int, daemon: ForwarderDaemon) {
            if tcp { daemon.acceptAll(self) } else { daemon.receiveDatagrams(self) }
        }
    }

    final class ControlEndpoint: LoopMember {
        let socket: OwnedFD
        init(socket: consuming OwnedFD) { self.socket = socket }
        func ready(_ events: Epoll.Events, side: Int, daemon: ForwarderDaemon) { daemon.serveControl(socket) }
    }

    static let defaultUDPIdleMs = 60_000
    /// fds one TCP pair holds: two sockets and two pipes.
    static let fdsPerPair = 6

    let epoll: Epoll
    var table = MemberTable()
    var mappings: [String: Mapping] = [:]
    /// Pairs and flows over all mappings, kept below the fd limit so a flood on one port never
    /// leaves the others (or the control socket) without fds.
    let fdCap: Int
    var configuredCap: Int?
    var maxTotal: Int { min(fdCap, configuredCap ?? Int.max) }
    var total = 0
    var log = RateLimitedLog()
    /// One datagram buffer for every UDP flow, allocated once.
    let datagram = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
    var routing = TransparentRouting()
    /// See ForwarderDaemon.takePipe (ForwarderTCP.swift).
    var sparePipes: [PipeChannel] = []
    var nextSweepMs = 0

    init(control: consuming OwnedFD, fdLimit: Int) throws(SystemError) {
        epoll = try Epoll()
        fdCap = max(16, (fdLimit - 64 - 2 * Self.sparePipesMax) / Self.fdsPerPair)
        let c = ControlEndpoint(socket: control)
        let slot = table.insert(c)
        try epoll.add(c.socket, .readable, token: MemberTable.token(slot, side: 0))
    }

    deinit { datagram.deallocate() }

    /// Room for one more connection of `m`; counts it when there is.
    func admit(_ m: Mapping) -> Bool {
        guard m.connections < m.maxConnections, total < maxTotal else {
            log.write("\(m.id): connection limit reached (\(m.maxConnections) per mapping, \(maxTotal) in all), refusing")
            return false
        }
        m.connections += 1
        total += 1
        return true
    }

    func release(_ m: Mapping) {
        m.connections -= 1
        total -= 1
    }

    /// Runs until killed.
    func run() -> Never {
        var batch = EpollBatch(capacity: 256)
        while true {
            let n: Int
            do { n = try epoll.wait(into: &batch, timeoutMs: 1000) } catch {
                log.write("\(error)")
                Clock.sleep(ms: 10)
                continue
            }
            for i in 0..<n {
                let token = batch.token(i)
                table[Int(token >> 1)]?.ready(batch.events(i), side: Int(token & 1), daemon: self)
            }
            table.endBatch()
            let now = Clock.monotonicMs()
            if now >= nextSweepMs {
                sweepIdleFlows(now: now)
                nextSweepMs = now + 1000
            }
        }
    }

    /// `rootless-netns __forwarder SOCKET`: listen, report ready on fd 3, serve forever.
    public static func main(socketPath: String) -> Int32 {
        var log = RateLimitedLog()
        ForwardSocket.ignoreBrokenPipe()
        // Connections are fds: take all the hard limit allows (the caps stay under it).
        let limit = ForwardSocket.raiseFileLimit() ?? 1024
        let daemon: ForwarderDaemon
        do {
            daemon = try ForwarderDaemon(control: try UnixSocket.listen(path: socketPath), fdLimit: limit)
        } catch {
            log.write("\(error)")
            return 1
        }
        // Ready: the plugin waits for this byte before sending mappings.
        do {
            let ready = OwnedFD(adopting: 3)
            try? FDIO.writeAll(ready.raw, [49])
        }
        daemon.run()
    }
}
