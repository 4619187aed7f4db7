import CNI
import Glibc
import JSON
import System

/// The `rootless-netns` meta-plugin: a shared, user-owned network namespace with a user-mode
/// helper, in which the delegate chain runs (podman v4's rootless netns as a CNI plugin).
public struct RootlessNetnsPlugin: CNIPlugin {
    let hostEnv: [String: String]

    public init(hostEnv: [String: String]) { self.hostEnv = hostEnv }

    public var supportedVersions: [CNIVersion] { CNIVersion.all }

    struct Operation {
        var context: Context
        var request: CNIRequest
        var chain: PluginChain
        var netns: SharedNetns { SharedNetns(context: context) }
        var attachments: AttachmentStore { AttachmentStore(dir: context.state.attachments) }

        init(_ request: CNIRequest, hostEnv: [String: String]) throws(RootlessError) {
            let config: RootlessConfig
            do { config = try RootlessConfig.parse(request.config) } catch { throw .cni(error) }
            self.request = request
            context = try Context(config: config, hostEnv: hostEnv)
            chain = PluginChain(name: request.config.name, version: request.config.version, plugins: config.delegates)
        }

        /// The invoker for the delegates: inside the shared namespace, or directly.
        func invoker(inside: Bool) throws(RootlessError) -> DelegateInvoker {
            var enter: EnterSpec?
            if inside { enter = try EnterPlan.make(context: context, containerNetns: request.env.netns).enterSpec }
            return DelegateInvoker(
                executor: DelegateExecutor(enter: enter, timeoutMs: context.config.delegateTimeout * 1000),
                searchPath: request.env.path, baseEnv: context.delegateBaseEnv, stderrSink: Stderr.write)
        }

        /// Everything under the state dir happens with the lock held.
        func locked<T>(_ body: () throws(RootlessError) -> T) throws(RootlessError) -> T {
            try context.state.prepareRoot()
            // Held until this returns (flock dies with us if we are killed).
            let lock: Lock
            do { lock = try Lock.exclusive(context.state.lock, timeoutMs: 300_000) } catch {
                if error.isTimeout { throw .lockTimeout(context.state.lock) }
                throw .system(error)
            }
            try context.state.prepareLayout()
            let result = try body()
            lock.release()
            return result
        }

        /// CNI_NETNS must name a network namespace (a bind mount or a /proc/PID/ns/net link).
        func validateContainerNetns() throws(RootlessError) {
            let path = request.env.netns
            if path.isEmpty { return }
            guard path.hasPrefix("/") else {
                throw .cni(CNIError(.invalidEnvironment, "CNI_NETNS \(path) is not an absolute path"))
            }
            guard Mounts.isNsfs(path) else {
                throw .cni(CNIError(.invalidEnvironment, "CNI_NETNS \(path) is not a network namespace"))
            }
        }

        /// Every delegate binary must be there before anything is touched: a typo in a conflist
        /// must not start a helper only to tear it down again.
        func findDelegates() throws(RootlessError) {
            let finder = try invoker(inside: false)
            for delegate in context.config.delegates {
                do { _ = try finder.find(delegate["type"]?.stringValue ?? "") } catch { throw .cni(error) }
            }
        }

        /// DEL/GC env for the delegates: a container namespace that is gone (its file left
        /// behind after the session that mounted it ended) is not passed on, so they release
        /// what lives outside it (IPAM) instead of failing on it forever.
        func delegateEnv(_ env: CNIEnvironment) -> CNIEnvironment {
            var env = env
            if !env.netns.isEmpty && !Mounts.isNsfs(env.netns) { env.netns = "" }
            return env
        }

        /// Tears the shared namespace down when no attachment is left.
        func teardownIfUnused() -> [RootlessError] {
            guard (try? attachments.list().isEmpty) ?? false else { return [] }
            return netns.teardown()
        }
    }

    public func add(_ request: CNIRequest) throws -> CNIResult {
        let op = try Operation(request, hostEnv: hostEnv)
        try op.validateContainerNetns()
        let mappings = try PortMapping.parseAll(request.config.runtimeValue("portMappings"),
                                                allowIPv6: op.context.config.portForwarder == .builtin)
        try op.findDelegates()
        guard op.context.shared else {
            return try runDirect(op) { (invoker) throws(CNIError) -> CNIResult in
                do throws(PluginChain.AddFailure) {
                    return try op.chain.add(invoker, env: request.env, capabilityArgs: request.config.runtimeConfig)
                } catch {
                    throw error.error
                }
            }
        }
        try op.context.requireRuntimeDir()
        try op.context.checkNetnsDir()
        return try op.locked { () throws(RootlessError) -> CNIResult in try addShared(op, mappings: mappings) }
    }

    func addShared(_ op: Operation, mappings: [PortMapping]) throws(RootlessError) -> CNIResult {
        let env = op.request.env
        let (helper, backend) = try op.netns.ensureUp()
        // A restarted helper or forwarder carries no forwards: give back every recorded one
        // (other containers' problems are logged, not this ADD's failure; their CHECK reports them).
        for e in backend.restoreForwards(RecordedForwards.all(op.attachments), record: helper, context: op.context) {
            Stderr.log("restoring port forwards: \(e)")
        }
        try op.netns.writeResolvConf(helper: helper)
        let invoker = try op.invoker(inside: true)
        let capabilityArgs = PortMapping.delegateRuntimeConfig(op.request.config.runtimeConfig,
                                                               guestAddress: helper.guestAddress)
        var result: CNIResult
        do {
            result = try op.chain.add(invoker, env: env, capabilityArgs: capabilityArgs)
        } catch {
            // Roll back: the chain's DEL with what did succeed, no record, no unused namespace.
            try? op.chain.del(invoker, env: env, prevResult: error.partialResult, capabilityArgs: capabilityArgs)
            _ = op.teardownIfUnused()
            throw .cni(error.error)
        }
        var forwards: [HostForward] = []
        do {
            forwards = try backend.addForwards(mappings, record: helper, result: result, context: op.context)
            let record = Attachment(containerID: env.containerID, ifName: env.ifName, netns: env.netns,
                                    network: op.request.config.name, version: op.request.config.version,
                                    delegates: op.context.config.delegates,
                                    capabilityArgs: capabilityArgs, result: result,
                                    hostForwards: forwards)
            try op.attachments.save(record)
        } catch {
            _ = backend.removeForwards(forwards, context: op.context)
            try? op.chain.del(invoker, env: env, prevResult: result, capabilityArgs: capabilityArgs)
            _ = op.teardownIfUnused()
            throw error
        }
        if result.dns.nameservers.isEmpty { result.dns.nameservers = helper.dnsServers }
        return result.converted(to: op.request.config.version)
    }

    public func del(_ request: CNIRequest) throws {
        let op = try Operation(request, hostEnv: hostEnv)
        guard op.context.shared else {
            return try runDirect(op) { (invoker) throws(CNIError) in
                try op.chain.del(invoker, env: request.env, prevResult: request.config.prevResult,
                                 capabilityArgs: request.config.runtimeConfig)
            }
        }
        // Never create anything on DEL: no state dir means nothing to delete.
        if !FS.exists(op.context.state.root) { return }
        try op.locked { () throws(RootlessError) in try delShared(op) }
    }

    func delShared(_ op: Operation) throws(RootlessError) {
        let env = op.delegateEnv(op.request.env)
        // An unreadable record (a crash mid-write on a filesystem without atomic rename, a
        // hand edit) must not make every DEL fail: clean up as without one, then drop it.
        var corrupt = false
        let record: Attachment?
        do { record = try op.attachments.load(env.containerID, env.ifName) } catch {
            guard case .corruptState = error else { throw error }
            Stderr.log("ignoring \(error)")
            record = nil
            corrupt = true
        }
        var errors: [RootlessError] = []
        let nsUp = op.netns.isMounted
        if nsUp {
            let invoker = try op.invoker(inside: true)
            let chain = record.map { PluginChain(name: op.chain.name, version: op.chain.version, plugins: $0.delegates) } ?? op.chain
            do {
                try chain.del(invoker, env: env, prevResult: record?.result ?? op.request.config.prevResult,
                              capabilityArgs: record?.capabilityArgs ?? op.request.config.runtimeConfig)
            } catch {
                // Without a record this was a best-effort cleanup of a half-done ADD.
                if record != nil { errors.append(.cni(error)) }
            }
        }
        if let record {
            if nsUp, let backend = try? Backends.resolve(context: op.context) {
                errors += backend.removeForwards(record.hostForwards, context: op.context)
            }
            // A failed chain DEL keeps the record so the runtime's retry runs it again.
            if errors.isEmpty { try op.attachments.remove(env.containerID, env.ifName) }
        } else if corrupt {
            try op.attachments.remove(env.containerID, env.ifName)
        }
        errors += op.teardownIfUnused()
        if let first = errors.first { throw first }
    }

    public func check(_ request: CNIRequest) throws {
        let op = try Operation(request, hostEnv: hostEnv)
        try op.validateContainerNetns()
        guard op.context.shared else {
            guard let prev = request.config.prevResult else {
                throw CNIError(.invalidNetworkConfig, "CHECK needs prevResult")
            }
            return try runDirect(op) { (invoker) throws(CNIError) in
                try op.chain.check(invoker, env: request.env, prevResult: prev, capabilityArgs: request.config.runtimeConfig)
            }
        }
        try op.context.requireRuntimeDir()
        guard FS.exists(op.context.state.root) else { throw RootlessError.netnsMissing(op.netns.path) }
        try op.locked { () throws(RootlessError) in
            switch op.netns.health() {
            case .netnsMissing: throw .netnsMissing(op.netns.path)
            case .helperDead(let record): throw .helperDead(pid: record?.identity.pid ?? 0)
            case .up: break
            }
            guard let record = try op.attachments.load(request.env.containerID, request.env.ifName) else {
                throw .notAttached(containerID: request.env.containerID, ifName: request.env.ifName)
            }
            let chain = PluginChain(name: op.chain.name, version: op.chain.version, plugins: record.delegates)
            let invoker = try op.invoker(inside: true)
            do throws(CNIError) {
                try chain.check(invoker, env: request.env,
                                prevResult: request.config.prevResult ?? record.result,
                                capabilityArgs: record.capabilityArgs)
            } catch { throw .cni(error) }
            if case .up(let helper) = op.netns.health(), let backend = try? Backends.resolve(context: op.context) {
                let missing = backend.missingForwards(record.hostForwards, record: helper, context: op.context)
                if !missing.isEmpty { throw .portForward("not in place: \(missing.map(\.key).joined(separator: ", "))") }
            }
        }
    }

    func runDirect<T>(_ op: Operation, _ body: (DelegateInvoker) throws(CNIError) -> T) throws -> T {
        let invoker = try op.invoker(inside: false)
        return try body(invoker)
    }
}

enum Stderr {
    static func write(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            offset += n
        }
    }
    static func log(_ text: String) { write(Array(("rootless-netns: " + text + "\n").utf8)) }
}
