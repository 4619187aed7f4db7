import CNI
import CShim
import Glibc
import JSON
import System

/// The forwarder's control socket: one JSON request per connection, a listening socket
/// attached to "add" requests.
///
///     {"op":"add","id":ID,"proto":"tcp","target":"10.89.0.2","targetPort":8080} + fd
///     {"op":"remove","id":ID}      {"op":"list"}
extension Forwarder {
    func serveControl() {
        let conn = cshim_accept(control, 0)
        guard conn >= 0 else { return }
        defer { close(conn) }
        var reply: JSON
        do {
            let (bytes, fd) = try UnixSocket.receiveRequest(conn, timeoutMs: 2000)
            reply = handle(try JSON.parse(bytes), fd: fd)
        } catch {
            reply = ["ok": false, "error": .string("\(error)")]
        }
        let out = Array(reply.encoded().utf8)
        _ = out.withUnsafeBytes { cshim_send(conn, $0.baseAddress, $0.count) }
    }

    func handle(_ request: JSON, fd: Int32) -> JSON {
        let id = request["id"]?.stringValue ?? ""
        switch request["op"]?.stringValue {
        case "add":
            guard fd >= 0, !id.isEmpty, let target = request["target"]?.stringValue,
                  let port = request["targetPort"]?.intValue, mappings[id] == nil else {
                if fd >= 0 { close(fd) }
                return ["ok": false, "error": "add needs a new id, target, targetPort and a socket"]
            }
            let tcp = request["proto"]?.stringValue != "udp"
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            let cap = Int(request["maxConnections"]?.intValue ?? 512)
            mappings[id] = Mapping(id: id, tcp: tcp, listener: fd, target: target, targetPort: Int(port),
                                   maxConnections: max(1, cap))
            return ["ok": true]
        case "remove":
            if let m = mappings.removeValue(forKey: id) { close(m.listener) }
            if fd >= 0 { close(fd) }
            return ["ok": true]
        case "list":
            if fd >= 0 { close(fd) }
            let details: [JSON] = mappings.keys.sorted().compactMap { k in
                guard let m = mappings[k] else { return nil }
                return ["id": .string(k), "proto": .string(m.tcp ? "tcp" : "udp"),
                        "target": .string(HostForward.endpoint(m.target, Int64(m.targetPort))),
                        "connections": .int(Int64(m.connections)), "maxConnections": .int(Int64(m.maxConnections))]
            }
            return ["ok": true, "ids": .array(mappings.keys.sorted().map { .string($0) }), "forwards": .array(details)]
        default:
            if fd >= 0 { close(fd) }
            return ["ok": false, "error": "unknown op"]
        }
    }

    /// `rootless-netns __forwarder SOCKET`: listen, report ready on fd 3, serve forever.
    static func main(socketPath: String) -> Int32 {
        let control: Int32
        do { control = try UnixSocket.listen(path: socketPath).take() } catch {
            log("\(error)")
            return 1
        }
        // Ready: the plugin waits for this byte before sending mappings.
        // Connections are fds: take all the hard limit allows (the limits below stay under it).
        let limit = cshim_fwd_raise_nofile()
        var one: UInt8 = 49
        _ = write(3, &one, 1)
        close(3)
        Forwarder(control: control, fdLimit: limit > 0 ? limit : 1024).run()
    }
}

/// The plugin's side: start/stop the forwarder, add/remove mappings.
struct ForwarderClient {
    let state: StateDir
    var socket: String { state.root + "/forwarder.sock" }
    var recordPath: String { state.root + "/forwarder.json" }

    func identity() -> ProcessIdentity? {
        guard let bytes = (try? state.readFile("forwarder.json", limit: 4096)) ?? nil,
              let id = ProcessIdentity(encoded: String(decoding: bytes, as: UTF8.self)) else { return nil }
        return Processes.identity(of: id.pid) == id ? id : nil
    }

    /// Starts the forwarder inside the shared namespace unless it already runs.
    func ensureRunning(netnsPath: String, timeoutMs: Int) throws(RootlessError) {
        if identity() != nil { return }
        let exe: String
        do { exe = try FS.readlink("/proc/self/exe") } catch { throw .system(error) }
        let log = state.root + "/forwarder.log"
        let daemon: Daemon
        do {
            daemon = try Daemons.start(DaemonRequest(path: exe, argv: [exe, HiddenCommand.forwarder.rawValue, socket], env: [],
                                                     logPath: log, readyFD: true, newSession: true,
                                                     enter: EnterSpec(netnsPath: netnsPath)))
        } catch {
            throw .helperFailed("starting the port forwarder: \(error)", log: "")
        }
        let outcome: ReadyOutcome
        do { outcome = try Daemons.waitReady(daemon, timeoutMs: timeoutMs) } catch { throw .system(error) }
        guard case .ready = outcome, let id = Processes.identity(of: daemon.pid) else {
            HelperLauncher.stop(daemon.pid)
            let tail = (try? FS.readText(log, limit: 1 << 16)) ?? ""
            throw .helperFailed("the port forwarder did not start (\(outcome))", log: tail.trimmingCharacters)
        }
        try state.writeFile("forwarder.json", Array(id.encoded.utf8))
    }

    func stop() -> [RootlessError] {
        var errors: [RootlessError] = []
        if let id = identity() {
            do { try Processes.terminate(id.pid, expected: id, graceMs: 1000) } catch { errors.append(.system(error)) }
        }
        _ = try? state.removeFile("forwarder.json")
        _ = try? state.removeFile("forwarder.sock")
        return errors
    }

    func request(_ json: JSON, passing fd: Int32? = nil) throws(RootlessError) -> JSON {
        let bytes: [UInt8]
        do { bytes = try UnixSocket.request(path: socket, Array(json.encoded().utf8), passing: fd, timeoutMs: 5000) } catch {
            throw .portForward("port forwarder \(socket): \(error)")
        }
        guard let reply = try? JSON.parse(bytes) else { throw .portForward("port forwarder sent an invalid reply") }
        if reply["ok"]?.boolValue != true {
            throw .portForward("port forwarder: \(reply["error"]?.stringValue ?? reply.encoded())")
        }
        return reply
    }
}
