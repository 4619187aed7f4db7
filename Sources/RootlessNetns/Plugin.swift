import CNI
import JSON
import System

/// The `rootless-netns` meta-plugin: a shared, user-owned network namespace with a user-mode
/// helper, in which the delegate chain runs (podman v4's rootless netns as a CNI plugin).
public struct RootlessNetnsPlugin: CNIPlugin {
    let hostEnv: [String: String]
    /// Delegates, backend, shared namespace: the real ones, fakes in unit tests.
    let deps: OperationDeps

    public init(hostEnv: [String: String]) { self.init(hostEnv: hostEnv, deps: .system) }

    init(hostEnv: [String: String], deps: OperationDeps) { self.hostEnv = hostEnv; self.deps = deps }

    public var supportedVersions: [CNIVersion] { CNIVersion.all }

    public func add(_ request: CNIRequest) throws -> CNIResult {
        let op = try Operation(request, hostEnv: hostEnv, deps: deps)
        try op.validateContainerNetns()
        let mappings = try PortMapping.parseAll(request.config.runtimeValue("portMappings"),
                                                allowIPv6: op.context.config.portForwarder == .builtin)
        try op.validateRecordable(capabilityArgs: request.config.runtimeConfig)
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
        return try op.withContainer { () throws(RootlessError) -> CNIResult in try addShared(op, mappings: mappings) }
    }

    /// Three steps: the namespace and helper under the state lock; the chain without it
    /// (concurrently with other containers' chains); the record (and forwards, under the lock
    /// again). `RCNI_PHASE_LOG=FILE` logs the phases' timestamps (PhaseTrace, figure 9's analysis).
    func addShared(_ op: Operation, mappings: [PortMapping]) throws(RootlessError) -> CNIResult {
        let env = op.request.env
        let (helper, backend, invoker, first) = try op.locked { () throws(RootlessError) -> (HelperRecord, any HelperBackend, DelegateInvoker, Bool) in
            // Starting the helper is part of the ADD: if it fails, nothing of it may stay behind
            // (a namespace mounted, a helper record) unless other containers use them.
            let helper: HelperRecord, backend: any HelperBackend
            do throws(RootlessError) {
                (helper, backend) = try op.netns.ensureUp()
                try op.netns.writeResolvConf(helper: helper)
            } catch {
                op.teardownIfUnused()
                throw error
            }
            // One pass over the records' small summaries, not their JSON (see AttachmentSummary).
            let recorded = op.attachments.summaries(repair: true)
            // A restarted helper or forwarder carries no forwards: give back every recorded one
            // (other containers' problems are logged, not this ADD's failure; their CHECK reports them).
            for e in backend.restoreForwards(RecordedForwards.all(recorded), record: helper, context: op.context) {
                Stderr.log("restoring port forwards: \(e)")
            }
            let invoker = try op.invoker(inside: true)
            try op.enterChains()
            // Attachments whose container namespace provably no longer exists (never DELed).
            let reaped = Set(reapGone(op, invoker: invoker, recorded: recorded))
            let first = !recorded.contains { $0.key.network == op.chain.name && !reaped.contains($0.key) }
            return (helper, backend, invoker, first)
        }
        // A network's first chains in the namespace create what all its containers share
        // (bridge, iptables chains): the reference plugins race on that (firewall's
        // `iptables -N CNI-FORWARD`: File exists), so they run one at a time until one is recorded.
        if first {
            PhaseTrace.mark("setup-wait")
            try op.lockNetworkSetup()
            PhaseTrace.mark("setup-locked")
        }
        defer { if first { op.unlockNetworkSetup() } }
        let capabilityArgs = PortMapping.delegateRuntimeConfig(op.request.config.runtimeConfig,
                                                               guestAddress: helper.guestAddress)
        var result: CNIResult
        do throws(PluginChain.AddFailure) {
            PhaseTrace.mark("chain")
            result = try op.chain.add(invoker, env: env, capabilityArgs: capabilityArgs)
            PhaseTrace.mark("chain-done")
        } catch {
            // Roll back: the chain's DEL with what did succeed, no record, no unused namespace.
            try? op.chain.del(invoker, env: env, prevResult: error.partialResult, capabilityArgs: capabilityArgs)
            op.leaveChains()
            finishTeardown(op)
            throw .cni(error.error)
        }
        // Forwards, then the record; on failure the chain's DEL (rollback), nothing recorded.
        func record() -> RootlessError? {
            var forwards: [HostForward] = []
            do {
                forwards = try backend.addForwards(mappings, record: helper, result: result, context: op.context)
                var record = Attachment(containerID: env.containerID, ifName: env.ifName, netns: env.netns,
                                        network: op.request.config.name, version: op.request.config.version,
                                        delegates: op.context.config.delegates,
                                        capabilityArgs: capabilityArgs, result: result,
                                        hostForwards: forwards)
                record.netnsIdentity = NetnsIdentity.current(netnsPath: env.netns, sharedNetnsPath: op.context.netnsPath)
                try op.attachments.save(record)
                PhaseTrace.mark("recorded")
            } catch {
                _ = backend.removeForwards(forwards, context: op.context)
                try? op.chain.del(invoker, env: env, prevResult: result, capabilityArgs: capabilityArgs)
                return RootlessError.from(error)
            }
            return nil
        }
        if mappings.isEmpty {
            // No forwards: the record needs no state lock. This chain still holds the chains
            // byte, so no teardown decision falls between its end and its record (and its
            // container byte keeps its own DEL out); its fsyncs overlap other ADDs' instead of
            // queueing on the lock, where they were most of a parallel burst's serial time.
            let failure = record()
            op.leaveChains()
            if let failure {
                finishTeardown(op)
                throw failure
            }
        } else {
            // A helper restart (another ADD's, under the lock) restores the recorded forwards:
            // a forward never exists unrecorded beside it.
            let failure = try op.locked { () throws(RootlessError) -> (RootlessError, Bool)? in
                let failure = record()
                op.leaveChains()
                guard let failure else { return nil }
                return (failure, op.teardownIfUnused().isBusy)
            }
            if let (error, busy) = failure {
                if busy { _ = op.teardownWhenIdle() }
                throw error
            }
        }
        if result.dns.nameservers.isEmpty { result.dns.nameservers = helper.dnsServers }
        return result.converted(to: op.request.config.version)
    }

    /// After a chain left the namespace with no attachment recorded: tear down now if no other
    /// chain is inside, else once they are gone.
    @discardableResult
    func finishTeardown(_ op: Operation) -> [RootlessError] {
        let outcome = (try? op.locked { () throws(RootlessError) -> Operation.TeardownOutcome in op.teardownIfUnused() }) ?? .notUnused
        return op.finishTeardown(outcome)
    }

    public func check(_ request: CNIRequest) throws {
        let op = try Operation(request, hostEnv: hostEnv, deps: deps)
        try op.validateContainerNetns()
        guard op.context.shared else {
            guard let prev = request.config.prevResult else {
                throw RootlessError.prevResultMissing(command: "CHECK")
            }
            return try runDirect(op) { (invoker) throws(CNIError) in
                try op.chain.check(invoker, env: request.env, prevResult: prev, capabilityArgs: request.config.runtimeConfig)
            }
        }
        try op.context.requireRuntimeDir()
        guard FS.exists(op.context.state.root) else { throw RootlessError.netnsMissing(op.netns.path) }
        try op.withContainer { () throws(RootlessError) in
            let (record, invoker) = try op.locked { () throws(RootlessError) -> (Attachment, DelegateInvoker) in
                switch op.netns.health() {
                case .netnsMissing: throw .netnsMissing(op.netns.path)
                case .helperDead(let record): throw .helperDead(pid: record?.identity.pid ?? 0)
                case .up: break
                }
                guard let record = try op.attachments.load(op.key) else {
                    throw .notAttached(containerID: request.env.containerID, ifName: request.env.ifName)
                }
                let invoker = try op.invoker(inside: true)
                try op.enterChains()
                return (record, invoker)
            }
            // Its record exists, so no teardown is due when it leaves: no state lock needed.
            defer { op.leaveChains() }
            do throws(CNIError) {
                try op.chain(of: record).check(invoker, env: request.env,
                                               prevResult: request.config.prevResult ?? record.result,
                                               capabilityArgs: record.capabilityArgs)
            } catch { throw .cni(error) }
            if case .up(let helper) = op.netns.health(), let backend = try? op.backend() {
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
