import CShim
import Glibc
import JSON
import System

/// pasta's port forwarder: one process per shared namespace, running *inside* it. The plugin
/// binds each host port in the host namespace and hands the socket over (SCM_RIGHTS), so a
/// taken port fails the ADD cleanly; the forwarder accepts there and connects to the
/// container directly. Mappings come and go without touching other containers' connections.
final class Forwarder {
    struct Mapping {
        var id: String
        var tcp: Bool
        var listener: Int32
        var target: String
        var targetPort: Int
        /// Connection pairs (TCP) or flows (UDP) at once; the next one is refused.
        var maxConnections: Int
        var connections = 0
    }

    /// One proxied TCP connection: bytes pending in each direction, half-closes propagated.
    final class Pair {
        let mapping: String
        let client: Int32
        let upstream: Int32
        var connecting = true
        var toUpstream: [UInt8] = []
        var toClient: [UInt8] = []
        var clientEOF = false, upstreamEOF = false
        var shutUpstream = false, shutClient = false
        init(mapping: String, client: Int32, upstream: Int32) {
            self.mapping = mapping; self.client = client; self.upstream = upstream
        }
        var finished: Bool { shutUpstream && shutClient }
    }

    /// A UDP "connection": one connected socket per client address.
    final class UDPSession {
        let mapping: String
        let socket: Int32
        let peer: sockaddr_storage
        let peerLength: socklen_t
        var lastUsed: Int
        init(mapping: String, socket: Int32, peer: sockaddr_storage, peerLength: socklen_t, now: Int) {
            self.mapping = mapping; self.socket = socket; self.peer = peer; self.peerLength = peerLength; lastUsed = now
        }
    }

    static let bufferLimit = 256 * 1024
    static let udpIdleMs = 60_000

    let control: Int32
    /// Pairs over all mappings: two fds each, kept below the fd limit so a flood on one port
    /// never leaves the others (or the control socket) without fds.
    let maxTotal: Int
    var total = 0
    var mappings: [String: Mapping] = [:]
    var pairs: [Pair] = []
    var sessions: [String: UDPSession] = [:]

    init(control: Int32, fdLimit: Int) {
        self.control = control
        maxTotal = max(16, (fdLimit - 64) / 2)
    }

    /// Room for one more connection of mapping `id`; counts it when there is.
    func admit(_ id: String) -> Bool {
        guard let m = mappings[id], m.connections < m.maxConnections, total < maxTotal else {
            Self.log("\(id): connection limit reached (\(mappings[id]?.maxConnections ?? 0) per mapping, \(maxTotal) in all), refusing")
            return false
        }
        mappings[id]?.connections += 1
        total += 1
        return true
    }

    func release(_ id: String) {
        if mappings[id] != nil { mappings[id]?.connections -= 1 }
        total -= 1
    }

    /// Runs until killed. Never returns on success.
    func run() -> Never {
        signal(SIGPIPE, SIG_IGN)
        while true {
            var fds: [pollfd] = [pollfd(fd: control, events: Int16(POLLIN), revents: 0)]
            for m in mappings.values { fds.append(pollfd(fd: m.listener, events: Int16(POLLIN), revents: 0)) }
            for s in sessions.values { fds.append(pollfd(fd: s.socket, events: Int16(POLLIN), revents: 0)) }
            for p in pairs {
                var ce: Int32 = 0, ue: Int32 = 0
                if p.connecting { ue |= POLLOUT } else {
                    if !p.clientEOF && p.toUpstream.count < Self.bufferLimit { ce |= POLLIN }
                    if !p.upstreamEOF && p.toClient.count < Self.bufferLimit { ue |= POLLIN }
                    if !p.toUpstream.isEmpty { ue |= POLLOUT }
                    if !p.toClient.isEmpty { ce |= POLLOUT }
                }
                fds.append(pollfd(fd: p.client, events: Int16(ce), revents: 0))
                fds.append(pollfd(fd: p.upstream, events: Int16(ue), revents: 0))
            }
            let n = poll(&fds, nfds_t(fds.count), 1000)
            if n < 0 && errno != EINTR { Self.log("poll: \(String(cString: strerror(errno)))") }
            var ready: [Int32: Int16] = [:]
            for f in fds where f.revents != 0 { ready[f.fd] = f.revents }
            if ready[control] != nil { serveControl() }
            for m in Array(mappings.values) where ready[m.listener] != nil {
                if m.tcp { accept(m) } else { receiveDatagram(m) }
            }
            for s in Array(sessions.values) where ready[s.socket] != nil { replyDatagram(s) }
            for p in pairs { pump(p, client: ready[p.client] ?? 0, upstream: ready[p.upstream] ?? 0) }
            reap()
        }
    }

    // MARK: TCP

    func accept(_ m: Mapping) {
        while true {
            let c = cshim_accept(m.listener, 1)
            if c < 0 { return }
            // Over the limit: accepted and closed at once (the client sees the refusal; left in
            // the backlog it would keep the listener readable and spin the loop).
            guard admit(m.id) else { close(c); continue }
            do {
                let up = try InetSocket.connect(ip: m.target, port: m.targetPort, tcp: true).take()
                pairs.append(Pair(mapping: m.id, client: c, upstream: up))
            } catch {
                Self.log("\(m.id): \(error)")
                release(m.id)
                close(c)
            }
        }
    }

    func pump(_ p: Pair, client: Int16, upstream: Int16) {
        if p.connecting {
            guard upstream != 0 else { return }
            if InetSocket.pendingError(p.upstream) != 0 { p.shutClient = true; p.shutUpstream = true; return }
            p.connecting = false
        }
        if client & Int16(POLLIN | POLLHUP | POLLERR) != 0 && !p.clientEOF {
            if !Self.readInto(p.client, &p.toUpstream) { p.clientEOF = true }
        }
        if upstream & Int16(POLLIN | POLLHUP | POLLERR) != 0 && !p.upstreamEOF {
            if !Self.readInto(p.upstream, &p.toClient) { p.upstreamEOF = true }
        }
        if !Self.flush(p.upstream, &p.toUpstream) || !Self.flush(p.client, &p.toClient) {
            p.shutClient = true; p.shutUpstream = true; return
        }
        if p.clientEOF && p.toUpstream.isEmpty && !p.shutUpstream { shutdown(p.upstream, Int32(SHUT_WR)); p.shutUpstream = true }
        if p.upstreamEOF && p.toClient.isEmpty && !p.shutClient { shutdown(p.client, Int32(SHUT_WR)); p.shutClient = true }
    }

    /// Appends what is readable; false on EOF or a hard error.
    static func readInto(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 { buffer += chunk[0..<n]; return true }
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return true }
        return false
    }

    /// Writes what the socket takes; false on a hard error.
    static func flush(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
        guard !buffer.isEmpty else { return true }
        let n = buffer.withUnsafeBytes { cshim_send(fd, $0.baseAddress, $0.count) }
        if n > 0 { buffer.removeFirst(n); return true }
        return n == -Int(EAGAIN) || n == -Int(EINTR)
    }

    // MARK: UDP

    func receiveDatagram(_ m: Mapping) {
        var buf = [UInt8](repeating: 0, count: 65536)
        var peer = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let n = buf.withUnsafeMutableBytes { b in
            withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(m.listener, b.baseAddress, b.count, 0, $0, &len) }
            }
        }
        guard n >= 0 else { return }
        let key = m.id + "|" + withUnsafeBytes(of: &peer) { SHA256.hex($0.prefix(Int(len))) }
        let now = Self.nowMs()
        if sessions[key] == nil {
            guard admit(m.id) else { return }
            guard let s = try? InetSocket.connect(ip: m.target, port: m.targetPort, tcp: false).take() else {
                release(m.id)
                return
            }
            sessions[key] = UDPSession(mapping: m.id, socket: s, peer: peer, peerLength: len, now: now)
        }
        guard let s = sessions[key] else { return }
        s.lastUsed = now
        _ = buf.withUnsafeBytes { cshim_send(s.socket, $0.baseAddress, n) }
    }

    func replyDatagram(_ s: UDPSession) {
        guard let m = mappings[s.mapping] else { return }
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = buf.withUnsafeMutableBytes { recv(s.socket, $0.baseAddress, $0.count, 0) }
        guard n >= 0 else { return }
        s.lastUsed = Self.nowMs()
        var peer = s.peer
        _ = buf.withUnsafeBytes { b in
            withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { cshim_sendto(m.listener, b.baseAddress, n, $0, s.peerLength) }
            }
        }
    }

    // MARK: bookkeeping

    func reap() {
        pairs.removeAll { p in
            let gone = p.finished || mappings[p.mapping] == nil
            if gone { close(p.client); close(p.upstream); release(p.mapping) }
            return gone
        }
        let now = Self.nowMs()
        for (key, s) in sessions where now - s.lastUsed > Self.udpIdleMs || mappings[s.mapping] == nil {
            close(s.socket)
            sessions[key] = nil
            release(s.mapping)
        }
    }

    static func nowMs() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
    }

    /// At most one line per second; what was dropped is counted in the next line, so a flood
    /// of refused connections cannot grow the log without bound.
    nonisolated(unsafe) static var lastLog = 0
    nonisolated(unsafe) static var dropped = 0
    static func log(_ text: String) {
        let now = nowMs()
        guard now - lastLog >= 1000 else { dropped += 1; return }
        let note = dropped > 0 ? " (\(dropped) earlier messages dropped)" : ""
        lastLog = now
        dropped = 0
        StdIO.write(fd: 2, Array(("forwarder: " + text + note + "\n").utf8))
    }
}
