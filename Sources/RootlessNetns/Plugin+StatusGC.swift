import CNI
import System

extension RootlessNetnsPlugin {
    /// 50: the helper binary is missing or user namespaces are unusable; 51: containers are
    /// attached but the helper died; otherwise the delegates' STATUS.
    public func status(_ request: CNIRequest) throws {
        let op = try Operation(request, hostEnv: hostEnv, deps: deps)
        guard op.context.shared else {
            return try runDirect(op) { (invoker) throws(CNIError) in try op.chain.status(invoker, env: request.env) }
        }
        _ = try op.backend()
        if let max = try? FS.readText("/proc/sys/user/max_user_namespaces"), max.trimmingCharacters == "0" {
            throw RootlessError.userNamespacesDisabled
        }
        let attached = (try? op.attachments.list().count) ?? 0
        switch op.netns.health() {
        case .up:
            let invoker = try op.invoker(inside: true)
            try op.chain.status(invoker, env: request.env)
        case .helperDead(let record) where attached > 0:
            throw RootlessError.helperDead(pid: record?.identity.pid ?? 0)
        case .netnsMissing where attached > 0:
            throw RootlessError.netnsMissing(op.netns.path)
        default:
            try runDirect(op) { (invoker) throws(CNIError) in try op.chain.status(invoker, env: request.env) }
        }
    }

    /// Removes this network's attachments that are not in `cni.dev/valid-attachments` (with
    /// their chain DEL; a failed one keeps its record for the next GC), releases attachments
    /// whose namespace is provably gone, forwards GC to the delegates inside, and tears down
    /// when nothing of any network is left. Other networks sharing the state dir are never
    /// touched, and a GC without the list (which the spec requires) is refused.
    public func gc(_ request: CNIRequest) throws {
        let op = try Operation(request, hostEnv: hostEnv, deps: deps)
        let valid = try request.config.validAttachments()
        guard op.context.shared else {
            return try runDirect(op) { (invoker) throws(CNIError) in
                try op.chain.gc(invoker, env: request.env, validAttachments: valid)
            }
        }
        if request.config.raw["cni.dev/valid-attachments"] == nil && request.config.raw["cni.dev/attachments"] == nil {
            throw RootlessError.validAttachmentsMissing
        }
        if !FS.exists(op.context.state.root) { return }
        var errors: [RootlessError] = []
        let outcome = try op.locked { () throws(RootlessError) -> Operation.TeardownOutcome in
            let keep = Set(valid.map { AttachmentKey(network: op.chain.name, containerID: $0.containerID, ifName: $0.ifName) })
            let invoker = op.netns.isMounted ? try op.invoker(inside: true) : nil
            if invoker != nil { try op.enterChains() }
            for key in try op.attachments.list() where key.network == op.chain.name && !keep.contains(key) {
                // In use right now (a runtime's DEL of it in flight): not ours to release.
                guard let byte = op.tryContainer(key) else { continue }
                defer { op.releaseContainer(byte) }
                var record: Attachment?
                var corrupt = false
                do { record = try op.attachments.load(key) } catch { corrupt = true }
                errors += release(op, key: key, record: record, corrupt: corrupt,
                                  env: CNIEnvironment(command: .del, path: request.env.path), invoker: invoker)
            }
            reapGone(op, invoker: invoker)
            if let invoker {
                do throws(CNIError) { try op.chain.gc(invoker, env: request.env, validAttachments: valid) } catch { errors.append(.cni(error)) }
            }
            return op.leaveChainsAndTearDownIfUnused()
        }
        errors += op.finishTeardown(outcome)
        if let first = errors.first { throw first }
    }
}
