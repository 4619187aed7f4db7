import CNI
import JSON
import PortForwarder
import System

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

    var connection: ForwarderConnection { ForwarderConnection(socketPath: socket) }

    func request(_ json: JSON) throws(RootlessError) -> JSON {
        do { return try connection.request(json) } catch { throw .portForward(error.description) }
    }
}
