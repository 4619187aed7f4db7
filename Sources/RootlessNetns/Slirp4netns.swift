import CNI
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

    /// Our forwarder by default; slirp4netns's own add_hostfwd with `portForwarder: "slirp4netns"`.
    func addForwards(_ mappings: [PortMapping], record: HelperRecord, result: CNIResult,
                     context: Context) throws(RootlessError) -> [HostForward] {
        guard context.config.portForwarder == .slirp4netns else {
            return try ForwarderForwards.add(mappings, netnsPath: record.netns, result: result, context: context)
        }
        var added: [HostForward] = []
        for m in mappings {
            var f = HostForward(proto: m.proto.rawValue, hostAddr: m.hostIP.isEmpty ? "0.0.0.0" : m.hostIP,
                                hostPort: Int64(m.hostPort), target: record.guestAddress, targetPort: Int64(m.hostPort),
                                via: .slirp4netns)
            do { f.id = try apiAdd(f, record: record, context: context) } catch {
                _ = removeForwards(added, context: context)
                throw error
            }
            added.append(f)
        }
        return added
    }

    func removeForwards(_ forwards: [HostForward], context: Context) -> [RootlessError] {
        var errors = ForwarderForwards.remove(forwards, context: context)
        let api = forwards.filter { $0.via == .slirp4netns }
        // A dead slirp4netns holds no host socket: its forwards are gone.
        guard !api.isEmpty, let helper = HelperRecord.load(context.state), helper.backend == .slirp4netns,
              helper.isAlive else { return errors }
        let entries: [APIEntry]
        do { entries = try apiList(context) } catch { return errors + [error] }
        for f in api {
            for e in entries where e.matches(f) {
                do {
                    let reply = try call(context.state, ["execute": "remove_hostfwd", "arguments": ["id": .int(e.id)]])
                    if let why = reply["error"]?["desc"]?.stringValue {
                        errors.append(.portForward("remove \(f.proto) \(f.hostEndpoint) (slirp4netns id \(e.id)): \(why)"))
                    }
                } catch {
                    errors.append(error)
                }
            }
        }
        return errors
    }

    func restoreForwards(_ forwards: [HostForward], record: HelperRecord, context: Context) -> [RootlessError] {
        var errors = ForwarderClient(state: context.state).restore(forwards, netnsPath: record.netns,
                                                                   timeoutMs: context.config.readyTimeout * 1000,
                                                      options: ForwarderOptions(context.config))
        let missing = missingForwards(forwards, record: record, context: context).filter { $0.via == .slirp4netns }
        for f in missing {
            do { _ = try apiAdd(f, record: record, context: context) } catch { errors.append(error) }
        }
        return errors
    }

    func missingForwards(_ forwards: [HostForward], record: HelperRecord, context: Context) -> [HostForward] {
        var missing = ForwarderClient(state: context.state).missing(forwards)
        let api = forwards.filter { $0.via == .slirp4netns }
        guard !api.isEmpty else { return missing }
        let entries = (try? apiList(context)) ?? []
        missing += api.filter { f in !entries.contains { $0.matches(f) } }
        return missing
    }

    /// One entry of `list_hostfwd`.
    struct APIEntry {
        var id: Int64, proto: String, hostAddr: String, hostPort: Int64
        func matches(_ f: HostForward) -> Bool { proto == f.proto && hostAddr == f.hostAddr && hostPort == f.hostPort }
    }

    func apiList(_ context: Context) throws(RootlessError) -> [APIEntry] {
        let reply = try call(context.state, ["execute": "list_hostfwd"])
        // slirp4netns answers list_hostfwd with {"entries": [...]}, not {"return": ...}.
        guard let entries = (reply["entries"] ?? reply["return"]?["entries"])?.arrayValue else {
            throw .portForward("slirp4netns list_hostfwd: \(reply["error"]?["desc"]?.stringValue ?? reply.encoded())")
        }
        return entries.compactMap { e in
            guard let id = e["id"]?.intValue, let proto = e["proto"]?.stringValue, let port = e["host_port"]?.intValue else {
                return nil
            }
            return APIEntry(id: id, proto: proto, hostAddr: e["host_addr"]?.stringValue ?? "0.0.0.0", hostPort: port)
        }
    }

    /// add_hostfwd to the namespace's address (portmap DNATs from there); the guest port is
    /// the host port, as the delegates' runtimeConfig says.
    func apiAdd(_ f: HostForward, record: HelperRecord, context: Context) throws(RootlessError) -> Int64 {
        guard !f.hostAddr.contains(":") else {
            throw .portForward("\(f.proto)/\(f.hostEndpoint): slirp4netns's API forwards IPv4 host addresses only (use portForwarder \"builtin\")")
        }
        let request: JSON = ["execute": "add_hostfwd", "arguments": [
            "proto": .string(f.proto), "host_addr": .string(f.hostAddr), "host_port": .int(f.hostPort),
            "guest_addr": .string(record.guestAddress), "guest_port": .int(f.hostPort),
        ]]
        let reply = try call(context.state, request)
        guard let id = reply["return"]?["id"]?.intValue else {
            let why = reply["error"]?["desc"]?.stringValue ?? reply.encoded()
            throw RootlessError.portForward("\(f.proto) \(f.hostEndpoint): \(why)")
        }
        return id
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
