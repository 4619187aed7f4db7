import System

/// A UDP "connection": one socket connected to the container per client address, so replies
/// find their client; dropped after the mapping's idle timeout. With the source IP kept it is
/// bound to the client's own address and port (IP_TRANSPARENT), and the container's replies
/// come back to it by the policy route of TransparentRouting.
final class UDPFlow: LoopMember {
    let mapping: ForwarderDaemon.Mapping
    let socket: OwnedFD
    let peer: SocketAddress
    var lastUsed: Int
    var slot = -1

    init(mapping: ForwarderDaemon.Mapping, socket: consuming OwnedFD, peer: SocketAddress, now: Int) {
        self.mapping = mapping; self.socket = socket; self.peer = peer; lastUsed = now
    }

    func ready(_ events: Epoll.Events, side: Int, daemon: ForwarderDaemon) { daemon.replyDatagrams(self) }
}

extension ForwarderDaemon {
    /// Datagrams per readiness event before other fds get their turn.
    static let datagramBurst = 64

    func receiveDatagrams(_ m: Mapping) {
        for _ in 0..<Self.datagramBurst {
            var peer = SocketAddress()
            let n: Int
            switch ForwardSocket.receive(m.listener, into: datagram, from: &peer) {
            case .moved(let k): n = k
            case .endOfFile: n = 0
            case .wouldBlock, .failed: return
            }
            let now = Clock.monotonicMs()
            guard let flow = m.flows[peer] ?? openFlow(m, peer: peer, now: now) else { continue }
            flow.lastUsed = now
            _ = ForwardSocket.send(flow.socket, UnsafeRawBufferPointer(rebasing: datagram[..<n]))
        }
    }

    private func openFlow(_ m: Mapping, peer: SocketAddress, now: Int) -> UDPFlow? {
        guard admit(m) else { return nil }
        do {
            let flow = UDPFlow(mapping: m, socket: try connectUpstream(m, peer: peer, tcp: false), peer: peer, now: now)
            flow.slot = table.insert(flow)
            do { try epoll.add(flow.socket, .readable, token: MemberTable.token(flow.slot, side: 0)) } catch {
                table.remove(flow.slot)
                throw error
            }
            m.flows[peer] = flow
            return flow
        } catch {
            log.write("\(m.id): \(error)")
            release(m)
            return nil
        }
    }

    func replyDatagrams(_ f: UDPFlow) {
        for _ in 0..<Self.datagramBurst {
            let n: Int
            switch ForwardSocket.receive(f.socket, into: datagram) {
            case .moved(let k): n = k
            case .endOfFile: n = 0
            // ECONNREFUSED (nothing listens in the container yet) keeps the flow.
            case .wouldBlock, .failed: return
            }
            f.lastUsed = Clock.monotonicMs()
            _ = ForwardSocket.send(f.mapping.listener, UnsafeRawBufferPointer(rebasing: datagram[..<n]), to: f.peer)
        }
    }

    func closeFlow(_ f: UDPFlow) {
        guard f.mapping.flows[f.peer] === f else { return }
        f.mapping.flows[f.peer] = nil
        table.remove(f.slot)
        release(f.mapping)
    }

    func sweepIdleFlows(now: Int) {
        for m in mappings.values where !m.tcp && !m.flows.isEmpty {
            let idle = m.flows.values.filter { now - $0.lastUsed > m.udpIdleMs }
            for f in idle { closeFlow(f) }
        }
    }
}
