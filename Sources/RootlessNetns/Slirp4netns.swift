import CNI
import Glibc
import JSON
import System

/// slirp4netns: `--configure` gives the namespace tap0 = cidr .100, gateway .2 (the host,
/// when host loopback is allowed), DNS .3; forwards are added at run time on its API socket.
struct Slirp4netnsBackend: HelperBackend {
    let binary: String
    var kind: BackendKind { .slirp4netns }

    struct Features: Equatable { var sandbox: Bool; var seccomp: Bool }

    /// Sandbox and seccomp only when this build's `--help` lists them (cached by binary identity).
    func features(cache: HelperFeatureCache) -> Features {
        let found = cache.options(["--enable-sandbox", "--enable-seccomp"], of: binary)
        return Features(sandbox: found.contains("--enable-sandbox"), seccomp: found.contains("--enable-seccomp"))
    }

    static func arguments(config: RootlessConfig, features: Features, apiSocket: String,
                          readyFD: Int32, netnsPath: String) -> [String] {
        var args = ["--configure", "--mtu=\(config.mtu)", "--cidr=\(config.cidr)"]
        if !config.allowHostLoopback { args.append("--disable-host-loopback") }
        if config.enableIPv6 { args.append("--enable-ipv6") }
        if features.sandbox { args.append("--enable-sandbox") }
        if features.seccomp { args.append("--enable-seccomp") }
        args += ["--api-socket", apiSocket, "-r", "\(readyFD)", "--netns-type=path", netnsPath, "tap0"]
        return args
    }

    func start(context: Context, netnsPath: String) throws(RootlessError) -> HelperRecord {
        let state = context.state
        let features = features(cache: HelperFeatureCache(context: context))
        _ = try? FS.remove(state.slirpSocket)
        let args = Self.arguments(config: context.config, features: features, apiSocket: state.slirpSocket,
                                  readyFD: 3, netnsPath: netnsPath)
        // The sandbox pivot_roots: give it a mount namespace of its own, as podman does.
        let request = DaemonRequest(path: binary, argv: [binary] + args, env: ["PATH=/usr/bin:/bin:/usr/sbin:/sbin"],
                                    logPath: state.helperLog, readyFD: true, newSession: true,
                                    enter: features.sandbox ? EnterSpec(unshareMount: true) : nil)
        return try HelperLauncher.launch(request, backend: .slirp4netns, context: context, netnsPath: netnsPath,
                                         expect: Array("1".utf8), guestAddress: context.config.guestAddress?.description ?? "",
                                         dnsServers: dnsServers(context.config))
    }

    func dnsServers(_ config: RootlessConfig) -> [String] {
        var servers: [String] = []
        if let dns = config.dnsAddress { servers.append(dns.description) }
        if config.enableIPv6 { servers.append("fd00::3") }
        return servers
    }

    func addForwards(_ mappings: [PortMapping], record: HelperRecord,
                     context: Context) throws(RootlessError) -> [HostForward] {
        var added: [HostForward] = []
        for m in mappings {
            let hostAddr = m.hostIP.isEmpty ? "0.0.0.0" : m.hostIP
            let request: JSON = ["execute": "add_hostfwd", "arguments": [
                "proto": .string(m.proto.rawValue), "host_addr": .string(hostAddr), "host_port": .int(Int64(m.hostPort)),
                "guest_addr": .string(record.guestAddress), "guest_port": .int(Int64(m.hostPort)),
            ]]
            do {
                let reply = try call(context.state, request)
                guard let id = reply["return"]?["id"]?.intValue else {
                    let why = reply["error"]?["desc"]?.stringValue ?? reply.encoded()
                    throw RootlessError.portForward("\(m.proto.rawValue) \(hostAddr):\(m.hostPort): \(why)")
                }
                added.append(HostForward(id: id, proto: m.proto.rawValue, hostAddr: hostAddr, hostPort: Int64(m.hostPort)))
            } catch {
                _ = removeForwards(added, context: context)
                throw .from(error)
            }
        }
        return added
    }

    func removeForwards(_ forwards: [HostForward], context: Context) -> [RootlessError] {
        var errors: [RootlessError] = []
        for f in forwards {
            do {
                let reply = try call(context.state, ["execute": "remove_hostfwd", "arguments": ["id": .int(f.id)]])
                if let why = reply["error"]?["desc"]?.stringValue {
                    errors.append(.portForward("remove \(f.proto) \(f.hostAddr):\(f.hostPort) (id \(f.id)): \(why)"))
                }
            } catch {
                errors.append(error)
            }
        }
        return errors
    }

    /// One request per connection, as the API wants.
    private func call(_ state: StateDir, _ request: JSON) throws(RootlessError) -> JSON {
        let bytes: [UInt8]
        do { bytes = try UnixSocket.request(path: state.slirpSocket, Array(request.encoded().utf8), timeoutMs: 5000) } catch {
            throw .portForward("slirp4netns API \(state.slirpSocket): \(error)")
        }
        do { return try JSON.parse(bytes) } catch {
            throw .portForward("slirp4netns API replied with invalid JSON: \(String(decoding: bytes.prefix(200), as: UTF8.self))")
        }
    }
}

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
    static func stop(_ pid: pid_t) {
        if let id = Processes.identity(of: pid) { try? Processes.terminate(pid, expected: id, graceMs: 1000) }
        _ = Daemons.waitExit(pid: pid, timeoutMs: 100)
    }
}
