import System

/// Where one direction's bytes wait between the two sockets: a pipe (splice(2), the pages never
/// enter user space) or, if splice is refused for these sockets, a user-space buffer.
protocol Channel: AnyObject {
    var capacity: Int { get }
    /// Bytes held now.
    var pending: Int { get }
    var isPipe: Bool { get }
    func fill(from src: borrowing OwnedFD) -> Transfer
    func drain(to dst: borrowing OwnedFD) -> Transfer
}

final class PipeChannel: Channel {
    let pipe: SplicePipe
    let capacity: Int
    var pending = 0
    var isPipe: Bool { true }

    init(size: Int) throws(SystemError) {
        pipe = try SplicePipe(size: size)
        capacity = pipe.capacity
    }

    func fill(from src: borrowing OwnedFD) -> Transfer {
        let t = Splice.move(from: src, to: pipe.write, max: capacity - pending)
        if case .moved(let n) = t { pending += n }
        return t
    }

    func drain(to dst: borrowing OwnedFD) -> Transfer {
        let t = Splice.move(from: pipe.read, to: dst, max: pending)
        if case .moved(let n) = t { pending -= n }
        return t
    }
}

final class BufferChannel: Channel {
    let buffer: UnsafeMutableRawBufferPointer
    var capacity: Int { buffer.count }
    var pending = 0
    /// Where the pending bytes start.
    var start = 0
    var isPipe: Bool { false }

    init(size: Int) { buffer = .allocate(byteCount: size, alignment: 16) }
    deinit { buffer.deallocate() }

    func fill(from src: borrowing OwnedFD) -> Transfer {
        if start + pending == capacity && start > 0, let base = buffer.baseAddress {
            base.copyMemory(from: base + start, byteCount: pending)
            start = 0
        }
        let t = ForwardSocket.receive(src, into: UnsafeMutableRawBufferPointer(rebasing: buffer[(start + pending)...]))
        if case .moved(let n) = t { pending += n }
        return t
    }

    func drain(to dst: borrowing OwnedFD) -> Transfer {
        let t = ForwardSocket.send(dst, UnsafeRawBufferPointer(rebasing: buffer[start..<(start + pending)]))
        if case .moved(let n) = t {
            pending -= n
            start = pending == 0 ? 0 : start + n
        }
        return t
    }
}

/// One direction of a pair: source socket → channel → destination socket, half-close carried.
final class Direction {
    var channel: Channel
    var eof = false
    var shut = false
    /// The last fill found no room (a pipe counts slots, not bytes): read again after a drain.
    var stalled = false

    init(_ channel: Channel) { self.channel = channel }

    var wantsRead: Bool { !eof && !stalled && channel.pending < channel.capacity }
    var wantsWrite: Bool { channel.pending > 0 }

    /// Moves what the sockets take now. False on a hard error (the pair closes).
    func pump(from src: borrowing OwnedFD, to dst: borrowing OwnedFD) -> Bool {
        for _ in 0..<8 {
            var progressed = false
            if !eof && channel.pending < channel.capacity {
                let t = channel.fill(from: src)
                switch t {
                case .moved: progressed = true; stalled = false
                case .endOfFile: eof = true
                case .wouldBlock: stalled = channel.pending > 0
                case .failed:
                    // splice refused for this socket (EINVAL): carry on through a buffer.
                    guard t.isUnsupported, channel.isPipe, channel.pending == 0 else { return false }
                    channel = BufferChannel(size: 65536)
                    progressed = true
                }
            }
            if channel.pending > 0 {
                switch channel.drain(to: dst) {
                case .moved: progressed = true; stalled = false
                case .wouldBlock, .endOfFile: break
                case .failed: return false
                }
            }
            if !progressed { break }
        }
        if eof && channel.pending == 0 && !shut {
            ForwardSocket.shutdownWrite(dst)
            shut = true
        }
        return true
    }
}

/// One proxied TCP connection: the accepted client, the socket to the container.
final class TCPPair: LoopMember {
    let mapping: ForwarderDaemon.Mapping
    let client: OwnedFD
    let upstream: OwnedFD
    var slot = -1
    var connecting = true
    let up: Direction
    let down: Direction
    var registered: (client: Epoll.Events?, upstream: Epoll.Events?) = (nil, nil)
    var closed = false

    init(mapping: ForwarderDaemon.Mapping, client: consuming OwnedFD, upstream: consuming OwnedFD,
         up: Channel, down: Channel) {
        self.mapping = mapping
        self.client = client
        self.upstream = upstream
        self.up = Direction(up)
        self.down = Direction(down)
    }

    var finished: Bool { up.shut && down.shut }

    func ready(_ events: Epoll.Events, side: Int, daemon: ForwarderDaemon) {
        guard !closed else { return }
        if connecting {
            guard side == 1 else { return }
            if ForwardSocket.pendingError(upstream) != 0 { daemon.close(self); return }
            connecting = false
        }
        guard up.pump(from: client, to: upstream), down.pump(from: upstream, to: client) else {
            daemon.close(self)
            return
        }
        if finished { daemon.close(self); return }
        daemon.updateInterest(self)
    }

    /// What each socket waits for now (nil: nothing, so it is not registered at all: a
    /// hung-up socket would otherwise report EPOLLHUP on every wait).
    var wanted: (client: Epoll.Events?, upstream: Epoll.Events?) {
        if connecting { return (nil, .writable) }
        var c: Epoll.Events = [], u: Epoll.Events = []
        if up.wantsRead { c.insert(.readable) }
        if up.wantsWrite { u.insert(.writable) }
        if down.wantsRead { u.insert(.readable) }
        if down.wantsWrite { c.insert(.writable) }
        return (c.isEmpty ? nil : c, u.isEmpty ? nil : u)
    }
}

extension ForwarderDaemon {
    /// Pipe capacity per direction: room for a few full-size segments of a 64k MTU.
    static let pipeSize = 256 * 1024
    /// Empty pipes kept from closed pairs for the next ones: a short connection then costs no
    /// pipe2/fcntl/close (6 syscalls and 4 fds set up and torn down each time otherwise).
    static let sparePipesMax = 32

    func takePipe() throws(SystemError) -> Channel {
        if let p = sparePipes.popLast() { return p }
        return try PipeChannel(size: Self.pipeSize)
    }

    /// Keeps `c` for reuse if it is an empty pipe and there is room.
    func givePipe(_ c: Channel) {
        guard let p = c as? PipeChannel, p.pending == 0, sparePipes.count < Self.sparePipesMax else { return }
        sparePipes.append(p)
    }

    func acceptAll(_ m: Mapping) {
        for _ in 0..<64 {
            switch ForwardSocket.accept(m.listener) {
            case .wouldBlock: return
            case .failed(let e):
                log.write("\(m.id): accept: \(SystemError.describe(errno: e))")
                return
            case .connection(let client, let peer):
                // Over the limit: closed at once (the client sees the refusal; left in the
                // backlog it would keep the listener readable and spin the loop).
                guard admit(m) else { continue }
                do {
                    let upstream = try connectUpstream(m, peer: peer, tcp: true)
                    let up = try takePipe()
                    let down: Channel
                    do { down = try takePipe() } catch { givePipe(up); throw error }
                    let pair = TCPPair(mapping: m, client: client, upstream: upstream, up: up, down: down)
                    pair.slot = table.insert(pair)
                    m.pairs[pair.slot] = pair
                    updateInterest(pair)
                } catch {
                    log.write("\(m.id): \(error)")
                    release(m)
                }
            }
        }
    }

    /// From the client's own address when the mapping asks for it and it can work (see
    /// TransparentRouting.applies); otherwise from the namespace's own address.
    func connectUpstream(_ m: Mapping, peer: SocketAddress, tcp: Bool) throws(SystemError) -> OwnedFD {
        if m.sourceIP, routing.applies(peer: peer, target: m.target, subnet: m.subnet) {
            do { return try ForwardSocket.connect(to: m.target, from: peer, tcp: tcp) } catch {
                log.write("\(m.id): \(error); connecting without the client's address")
            }
        }
        return try ForwardSocket.connect(to: m.target, tcp: tcp)
    }

    func updateInterest(_ p: TCPPair) {
        let want = p.wanted
        do {
            try apply(p.client, token: MemberTable.token(p.slot, side: 0), from: p.registered.client, to: want.client)
            try apply(p.upstream, token: MemberTable.token(p.slot, side: 1), from: p.registered.upstream, to: want.upstream)
            p.registered = want
        } catch {
            log.write("\(p.mapping.id): \(error)")
            close(p)
        }
    }

    private func apply(_ fd: borrowing OwnedFD, token: UInt64, from old: Epoll.Events?, to new: Epoll.Events?) throws(SystemError) {
        switch (old, new) {
        case (nil, nil): return
        case (nil, let n?): try epoll.add(fd, n, token: token)
        case (_?, nil): epoll.remove(fd)
        case (let o?, let n?): if o != n { try epoll.modify(fd, n, token: token) }
        }
    }

    func close(_ p: TCPPair) {
        guard !p.closed else { return }
        p.closed = true
        table.remove(p.slot)
        p.mapping.pairs[p.slot] = nil
        release(p.mapping)
        givePipe(p.up.channel)
        givePipe(p.down.channel)
        // The fds close when the pair is freed (no other reference is left once the slot is).
    }
}
