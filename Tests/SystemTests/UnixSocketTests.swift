import Glibc
import System
import Testing
import TestSupport

/// A one-connection echo server on a pthread: replies "echo:" + everything read until EOF.
private final class EchoServer: @unchecked Sendable {
    let listenFD: Int32

    init(path: String) throws {
        listenFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in
            for (i, b) in path.utf8.enumerated() { buf[i] = b }
        }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listenFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard r == 0, listen(listenFD, 4) == 0 else { throw SystemError(op: "bind", path: path, errno: errno) }
    }

    func serveOnce() {
        var tid = pthread_t()
        let ctx = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&tid, nil, { arg in
            guard let arg else { return nil }
            let server = Unmanaged<EchoServer>.fromOpaque(arg).takeRetainedValue()
            let conn = accept(server.listenFD, nil, nil)
            guard conn >= 0 else { return nil }
            var got: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(conn, &buf, buf.count)
                if n <= 0 { break }
                got += buf[0..<n]
            }
            let reply = Array("echo:".utf8) + got
            _ = reply.withUnsafeBytes { write(conn, $0.baseAddress, $0.count) }
            close(conn)
            return nil
        }, ctx)
        pthread_detach(tid)
    }

    deinit { close(listenFD) }
}

@Suite struct UnixSocketTests {
    @Test func requestReadsToEOF() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.sub("api.sock")
        let server = try EchoServer(path: path)
        server.serveOnce()
        let body = #"{"execute":"list_hostfwd"}"#
        let reply = try UnixSocket.request(path: path, bytes(body), timeoutMs: 5000)
        #expect(text(reply) == "echo:" + body)
    }

    @Test func errorsNameThePath() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.sub("missing.sock")
        #expect(throws: SystemError(op: "connect", path: path, errno: ENOENT)) {
            _ = try UnixSocket.request(path: path, [], timeoutMs: 1000)
        }
    }

    @Test func timesOutWhenServerNeverAnswers() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.sub("silent.sock")
        let server = try EchoServer(path: path)  // listens, never accepts
        let start = Sys2.nowMs()
        #expect(throws: SystemError(op: "read", path: path, errno: ETIMEDOUT)) {
            _ = try UnixSocket.request(path: path, bytes("x"), timeoutMs: 200)
        }
        #expect(Sys2.nowMs() - start < 2000)
        _ = server
    }
}
