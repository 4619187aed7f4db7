import System

/// Starting a helper and waiting for it, shared by the backends.
enum HelperLauncher {
    static func launch(_ request: DaemonRequest, backend: BackendKind, context: Context, netnsPath: String,
                       expect: [UInt8]?, guestAddress: String, dnsServers: [String]) throws(RootlessError) -> HelperRecord {
        let state = context.state
        // A fresh log per start, so the error quotes this run only.
        _ = try? FS.remove(state.helperLog)
        let daemon: Daemon
        do { daemon = try Daemons.start(request) } catch {
            throw .helperFailed("starting \(backend.rawValue) (\(request.path)): \(error)", log: Backends.logTail(state))
        }
        let pid = daemon.pid
        // Record it before waiting: if we are killed now, the next run finds and stops it.
        if let id = Processes.identity(of: pid) {
            var pending = HelperRecord(backend: backend, identity: id, netns: netnsPath, guestAddress: guestAddress,
                                       dnsServers: dnsServers)
            pending.ready = false
            try? pending.save(state)
        }
        let outcome: ReadyOutcome
        do { outcome = try Daemons.waitReady(daemon, timeoutMs: context.config.readyTimeout * 1000, expect: expect) } catch {
            stop(pid)
            throw .helperFailed("waiting for \(backend.rawValue) to get ready: \(error)", log: Backends.logTail(state))
        }
        switch outcome {
        case .ready: break
        case .exited(let status):
            throw .helperFailed("\(backend.rawValue) exited before it was ready (\(status))", log: Backends.logTail(state))
        case .timedOut:
            stop(pid)
            throw .helperFailed("\(backend.rawValue) was not ready after \(context.config.readyTimeout)s", log: Backends.logTail(state))
        case .unexpected(let bytes):
            stop(pid)
            throw .helperFailed("\(backend.rawValue) reported \(bytes) instead of ready", log: Backends.logTail(state))
        case .closedWithoutReady:
            stop(pid)
            throw .helperFailed("\(backend.rawValue) closed its ready fd without reporting ready", log: Backends.logTail(state))
        }
        guard let identity = Processes.identity(of: pid) else {
            throw .helperFailed("\(backend.rawValue) (pid \(pid)) died right after it was ready", log: Backends.logTail(state))
        }
        let record = HelperRecord(backend: backend, identity: identity, netns: netnsPath,
                                  guestAddress: guestAddress, dnsServers: dnsServers)
        try record.save(state)
        return record
    }

    /// Our own just-started child: verified by identity like any other stop.
    static func stop(_ pid: Int32) {
        if let id = Processes.identity(of: pid) { try? Processes.terminate(pid, expected: id, graceMs: 1000) }
        _ = Daemons.waitExit(pid: pid, timeoutMs: 100)
    }
}
