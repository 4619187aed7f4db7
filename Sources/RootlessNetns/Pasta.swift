import CNI
import JSON
import System

/// pasta (passt): copies the host's addresses and routes into the namespace and forks into the
/// background once the namespace is configured. This release cannot change forwards at run time,
/// so its forwards are the forwarder's only (`HelperBackend`'s defaults).
struct PastaBackend: HelperBackend {
    let binary: String
    var kind: BackendKind { .pasta }

    /// The address the namespace sends DNS to when pasta forwards DNS (podman's choice).
    static let dnsForwardAddress = "169.254.1.1"

    struct Features: Equatable { var dnsForward: Bool; var noMapGW: Bool; var mapGuestAddr: Bool }

    /// From this build's `--help` (cached by binary identity).
    func features(cache: HelperFeatureCache) -> Features {
        let found = cache.options(["--dns-forward", "--no-map-gw", "--map-guest-addr"], of: binary)
        return Features(dnsForward: found.contains("--dns-forward"), noMapGW: found.contains("--no-map-gw"),
                        mapGuestAddr: found.contains("--map-guest-addr"))
    }

    static func arguments(config: RootlessConfig, features: Features, netnsPath: String, pidFile: String) -> [String] {
        var args = ["--config-net", "--netns", netnsPath, "--pid", pidFile, "--quiet", "--mtu", "\(config.mtu)",
                    "-t", "none", "-u", "none", "-T", "none", "-U", "none"]
        if !config.enableIPv6 { args.append("-4") }
        if !config.allowHostLoopback && features.noMapGW { args.append("--no-map-gw") }
        if features.dnsForward { args += ["--dns-forward", dnsForwardAddress] }
        return args
    }

    func start(context: Context, netnsPath: String) throws(RootlessError) -> HelperRecord {
        let state = context.state
        let features = features(cache: HelperFeatureCache(context: context))
        _ = try? FS.remove(state.helperPidFile)
        let args = Self.arguments(config: context.config, features: features, netnsPath: netnsPath,
                                  pidFile: state.helperPidFile)
        _ = try? FS.remove(state.helperLog)
        let daemon: Daemon
        do {
            daemon = try Daemons.start(DaemonRequest(path: binary, argv: [binary] + args, env: ["PATH=/usr/bin:/bin"],
                                                     logPath: state.helperLog, readyFD: false, newSession: true))
        } catch {
            throw .helperFailed("starting pasta (\(binary)): \(error)", log: Backends.logTail(state))
        }
        // The foreground process exits 0 once the namespace is configured and pasta has forked.
        let status = Daemons.waitExit(pid: daemon.pid, timeoutMs: context.config.readyTimeout * 1000)
        guard let status else {
            HelperLauncher.stop(daemon.pid)
            throw .helperFailed("pasta did not finish configuring within \(context.config.readyTimeout)s",
                                log: Backends.logTail(state))
        }
        guard status.isSuccess else {
            throw .helperFailed("pasta failed (\(status))", log: Backends.logTail(state))
        }
        guard let text = try? FS.readText(state.helperPidFile, limit: 64),
              let pid = Int32(text.trimmingCharacters), let identity = Processes.identity(of: pid) else {
            throw .helperFailed("pasta exited without a live process in its pid file", log: Backends.logTail(state))
        }
        var dns: [String] = []
        if features.dnsForward { dns.append(Self.dnsForwardAddress) }
        let record = HelperRecord(backend: .pasta, identity: identity, netns: netnsPath,
                                  guestAddress: "", dnsServers: dns)
        try record.save(state)
        return record
    }
}
