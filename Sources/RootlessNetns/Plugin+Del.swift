import CNI
import JSON
import System

extension RootlessNetnsPlugin {
    public func del(_ request: CNIRequest) throws {
        let op = try Operation(request, hostEnv: hostEnv, deps: deps)
        guard op.context.shared else {
            return try runDirect(op) { (invoker) throws(CNIError) in
                try op.chain.del(invoker, env: request.env, prevResult: request.config.prevResult,
                                 capabilityArgs: request.config.runtimeConfig)
            }
        }
        // Never create anything on DEL: no state dir means nothing to delete.
        if !FS.exists(op.context.state.root) { return }
        try op.withContainer { () throws(RootlessError) in try delShared(op) }
    }

    /// As ADD: read the record under the state lock, run the chain's DEL without it, remove
    /// forwards and record (and decide on teardown) under it again.
    func delShared(_ op: Operation) throws(RootlessError) {
        // An unreadable record (oversized, a crash mid-write on a filesystem without atomic
        // rename, a hand edit) must not make every DEL fail: clean up as without one, then drop it.
        let (record, corrupt, invoker) = try op.locked { () throws(RootlessError) -> (Attachment?, Bool, DelegateInvoker?) in
            var record: Attachment?
            var corrupt = false
            do throws(RootlessError) { record = try op.attachments.load(op.key) } catch {
                guard case .corruptState = error else { throw error }
                Stderr.log("ignoring \(error)")
                corrupt = true
            }
            guard op.netns.isMounted else { return (record, corrupt, nil) }
            let invoker = try op.invoker(inside: true)
            try op.enterChains()
            return (record, corrupt, invoker)
        }
        var errors = releaseChain(op, key: op.key, record: record, env: op.request.env, invoker: invoker)
        let outcome = try op.locked { () throws(RootlessError) -> Operation.TeardownOutcome in
            errors += releaseRecord(op, key: op.key, record: record, corrupt: corrupt, chainErrors: errors, nsUp: invoker != nil)
            return op.leaveChainsAndTearDownIfUnused()
        }
        errors += op.finishTeardown(outcome)
        if let first = errors.first { throw first }
    }

    /// Releases one attachment (GC, reaping; DEL does the two steps itself around the lock).
    func release(_ op: Operation, key: AttachmentKey, record: Attachment?, corrupt: Bool,
                 env: CNIEnvironment, invoker: DelegateInvoker?) -> [RootlessError] {
        var errors = releaseChain(op, key: key, record: record, env: env, invoker: invoker)
        errors += releaseRecord(op, key: key, record: record, corrupt: corrupt, chainErrors: errors, nsUp: invoker != nil)
        return errors
    }

    /// The chain's DEL inside the shared namespace: the record's chain, as it ran (without a
    /// record, the current config's, best effort: errors then do not count).
    func releaseChain(_ op: Operation, key: AttachmentKey, record: Attachment?, env requestEnv: CNIEnvironment,
                      invoker: DelegateInvoker?) -> [RootlessError] {
        guard let invoker else { return [] }
        var env = requestEnv
        env.command = .del; env.containerID = key.containerID; env.ifName = key.ifName
        // Without the runtime's CNI_NETNS, the recorded path is passed on only while it still
        // holds the same namespace: after a reuse of the path, a delegate's DEL would otherwise
        // remove the interface of whatever container lives there now.
        if let record, env.netns.isEmpty {
            let vantage = NetnsIdentity.Vantage.current(sharedNetnsPath: op.context.netnsPath)
            let liveness = record.netnsIdentity?.liveness(path: record.netns, from: vantage)
            if liveness == nil || liveness == .alive { env.netns = record.netns }
        }
        env = op.delegateEnv(env)
        let chain = record.map(op.chain(of:)) ?? op.chain
        do {
            try chain.del(invoker, env: env, prevResult: record?.result ?? op.request.config.prevResult,
                          capabilityArgs: record?.capabilityArgs ?? op.request.config.runtimeConfig)
        } catch {
            if record != nil { return [.cni(error)] }
        }
        return []
    }

    /// Its host forwards, then the record (call under the state lock). A failed chain DEL keeps
    /// the record, so a retry (the runtime's DEL, the next GC) runs it again; every step counts
    /// "already gone" as done. With the namespace gone nothing is left to retry against.
    func releaseRecord(_ op: Operation, key: AttachmentKey, record: Attachment?, corrupt: Bool,
                       chainErrors: [RootlessError], nsUp: Bool) -> [RootlessError] {
        var errors: [RootlessError] = []
        if let record, nsUp, let backend = try? op.backend() {
            errors += backend.removeForwards(record.hostForwards, context: op.context)
        }
        guard record != nil || corrupt else { return errors }
        if (chainErrors.isEmpty && errors.isEmpty) || !nsUp {
            do { try op.attachments.remove(key) } catch { errors.append(error) }
        }
        return errors
    }

    /// Releases attachments whose container namespace provably no longer exists: runtimes
    /// that never send DEL (`ctr run -d`, containerd#6604), crashed runtimes, ended sessions.
    /// Never on doubt (see `NetnsIdentity.liveness`): candidates come from the records'
    /// summaries (`recorded`, else read now) and each is confirmed from its record itself before
    /// it is released. Errors are logged, never fatal: the attachment stays recorded and is
    /// tried again next time. Call under the state lock.
    @discardableResult
    func reapGone(_ op: Operation, invoker: DelegateInvoker?, except: AttachmentKey? = nil,
                  recorded: [AttachmentSummary]? = nil) -> [AttachmentKey] {
        let vantage = NetnsIdentity.Vantage.current(sharedNetnsPath: op.context.netnsPath)
        let summaries = recorded ?? op.attachments.summaries(repair: true)
        var reaped: [AttachmentKey] = []
        for candidate in Self.reapable(summaries, from: vantage) where candidate.key != except {
            // Someone is operating on it right now: not ours to release.
            guard let byte = op.tryContainer(candidate.key) else { continue }
            defer { op.releaseContainer(byte) }
            // The summary was a hint: the record decides.
            guard let record = (try? op.attachments.load(candidate.key)) ?? nil, record.key == candidate.key,
                  let identity = record.netnsIdentity,
                  case .gone(let why) = identity.liveness(path: record.netns, from: vantage) else { continue }
            let errors = release(op, key: candidate.key, record: record, corrupt: false,
                                 env: CNIEnvironment(command: .del, path: op.request.env.path), invoker: invoker)
            if errors.isEmpty {
                Stderr.log("released \(candidate.key): \(why)")
                reaped.append(candidate.key)
            } else {
                Stderr.log("releasing \(candidate.key) (\(why)) failed: \(errors[0])")
            }
        }
        return reaped
    }

    /// Recorded attachments whose container namespace is provably gone, with the reason
    /// (read-only: for `status`).
    static func reapable(_ store: AttachmentStore, sharedNetnsPath: String) -> [(key: AttachmentKey, why: String)] {
        reapable(store.summaries(repair: false), from: .current(sharedNetnsPath: sharedNetnsPath))
    }

    static func reapable(_ summaries: [AttachmentSummary], from vantage: NetnsIdentity.Vantage) -> [(key: AttachmentKey, why: String)] {
        summaries.compactMap { s in
            guard let identity = s.netnsIdentity, case .gone(let why) = identity.liveness(path: s.netns, from: vantage) else { return nil }
            return (s.key, why)
        }
    }
}
