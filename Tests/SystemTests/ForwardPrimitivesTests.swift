import System
import Testing

/// The forwarder's OS primitives (no privileges): addresses, epoll tokens, splice through pipes,
/// TCP over loopback through accept/connect with the peer address.
@Suite("forwarder primitives")
struct ForwardPrimitivesTests {
    @Test("SocketAddress parses both families, knows loopback and subnets, compares by value")
    func addresses() throws {
        let a = try #require(SocketAddress(ip: "10.89.0.7", port: 80))
        #expect(!a.isIPv6 && !a.isLoopback && a.ip == "10.89.0.7" && a.port == 80 && a.description == "10.89.0.7:80")
        #expect(a.isIn(network: "10.89.0.2", prefix: 24) && !a.isIn(network: "10.89.1.2", prefix: 24))
        #expect(!a.isIn(network: "fd00::1", prefix: 64), "never across families")
        let v6 = try #require(SocketAddress(ip: "::1", port: 8080))
        #expect(v6.isIPv6 && v6.isLoopback && v6.description == "[::1]:8080")
        #expect(SocketAddress(ip: "127.3.4.5", port: 1)?.isLoopback == true)
        #expect(SocketAddress(ip: "::ffff:127.0.0.1", port: 1)?.isLoopback == true)
        #expect(SocketAddress(ip: "not an address", port: 1) == nil)
        #expect(SocketAddress(ip: "10.89.0.7", port: 80) == a && SocketAddress(ip: "10.89.0.7", port: 81) != a)
        #expect(Set([a, a, v6]).count == 2)
    }

    @Test("bytes spliced pipe to pipe; epoll reports the token of the readable end")
    func spliceAndEpoll() throws {
        let first = try SplicePipe(), second = try SplicePipe(size: 256 * 1024)
        #expect(first.capacity >= 4096 && second.capacity >= first.capacity)
        let epoll = try Epoll()
        try epoll.add(second.read, .readable, token: 42)
        var batch = EpollBatch(capacity: 8)
        #expect(try epoll.wait(into: &batch, timeoutMs: 0) == 0)
        try FDIO.writeAll(first.write.raw, Array("hello".utf8))
        #expect(Splice.move(from: first.read, to: second.write, max: 65536) == .moved(5))
        #expect(Splice.move(from: first.read, to: second.write, max: 65536) == .wouldBlock)
        #expect(try epoll.wait(into: &batch, timeoutMs: 1000) == 1)
        #expect(batch.token(0) == 42 && batch.events(0).contains(.readable))
    }

    @Test("a loopback TCP pair: accept names the peer, data moves socket → pipe → socket, EOF carried")
    func tcpThroughSplice() throws {
        let listener = try ForwardSocket.bindListener(ip: "127.0.0.1", port: 0, tcp: true)
        let bound = ForwardSocket.localAddress(listener)
        let port = try #require(bound?.port)
        let client = try ForwardSocket.connect(to: try #require(SocketAddress(ip: "127.0.0.1", port: port)), tcp: true)
        var accepted: Int32 = -1
        var peer = SocketAddress()
        for _ in 0..<100 where accepted < 0 {
            switch ForwardSocket.accept(listener) {
            case .connection(let fd, let p): accepted = fd.take(); peer = p
            case .wouldBlock: Clock.sleep(ms: 10)
            case .failed(let e): Issue.record("accept: \(e)"); return
            }
        }
        try #require(accepted >= 0)
        let server = OwnedFD(adopting: accepted)
        #expect(peer.ip == "127.0.0.1" && peer.isLoopback)
        #expect(ForwardSocket.pendingError(client) == 0)
        let bytes = Array("ping".utf8)
        var sent = Transfer.wouldBlock
        for _ in 0..<100 where sent == .wouldBlock {
            sent = bytes.withUnsafeBytes { ForwardSocket.send(client, $0) }
            if sent == .wouldBlock { Clock.sleep(ms: 10) }
        }
        #expect(sent == .moved(4))
        ForwardSocket.shutdownWrite(client)
        let pipe = try SplicePipe()
        var moved = 0, eof = false
        for _ in 0..<200 where !eof {
            switch Splice.move(from: server, to: pipe.write, max: 65536) {
            case .moved(let n): moved += n
            case .endOfFile: eof = true
            case .wouldBlock: Clock.sleep(ms: 5)
            case .failed(let e): Issue.record("splice: \(e)"); return
            }
        }
        #expect(moved == 4 && eof)
    }
}
