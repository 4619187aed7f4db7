import CNI
import Glibc
import System

extension RootlessNetnsPlugin {
    /// 50: the helper binary is missing or user namespaces are unusable; 51: containers are
    /// attached but the helper died; otherwise the delegates' STATUS.
    public func status(_ request: CNIRequest) throws {
        let op = try Operation(request, hostEnv: hostEnv)
        guard op.context.shared else {
            return try runDirect(op) { (invoker) throws(CNIError) in try op.chain.status(invoker, env: request.env) }
        }
        _ = try Backends.resolve(context: op.context)
        if let max = try? FS.readText("/proc/sys/user/max_user_namespaces"), max.trimmingCharacters == "0" {
            throw CNIError(.pluginNotAvailable, "user namespaces are disabled (user.max_user_namespaces = 0)")
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

    /// Removes attachments not in `cni.dev/valid-attachments` (with their chain DEL), forwards GC
    /// to the delegates inside, and tears down when nothing is left.
    public func gc(_ request: CNIRequest) throws {
        let op = try Operation(request, hostEnv: hostEnv)
        let valid = try request.config.validAttachments()
        guard op.context.shared else {
            return try runDirect(op) { (invoker) throws(CNIError) in
                try op.chain.gc(invoker, env: request.env, validAttachments: valid)
            }
        }
        if !FS.exists(op.context.state.root) { return }
        try op.locked { () throws(RootlessError) in
            var errors: [RootlessError] = []
            let keep = Set(valid.map { "\($0.containerID)@\($0.ifName)" })
            let nsUp = op.netns.isMounted
            let invoker = nsUp ? try op.invoker(inside: true) : nil
            let backend = try? Backends.resolve(context: op.context)
            for (cid, ifn) in try op.attachments.list() where !keep.contains("\(cid)@\(ifn)") {
                guard let record = try? op.attachments.load(cid, ifn) else {
                    try? op.attachments.remove(cid, ifn)
                    continue
                }
                if let invoker {
                    var env = request.env
                    env.command = .del; env.containerID = cid; env.ifName = ifn; env.netns = record.netns
                    env = op.delegateEnv(env)
                    let chain = PluginChain(name: op.chain.name, version: op.chain.version, plugins: record.delegates)
                    do throws(CNIError) { try chain.del(invoker, env: env, prevResult: record.result, capabilityArgs: record.capabilityArgs) } catch {
                        errors.append(.cni(error))
                    }
                    if let backend { errors += backend.removeForwards(record.hostForwards, context: op.context) }
                }
                do throws(RootlessError) { try op.attachments.remove(cid, ifn) } catch { errors.append(error) }
            }
            if let invoker {
                do throws(CNIError) { try op.chain.gc(invoker, env: request.env, validAttachments: valid) } catch { errors.append(.cni(error)) }
            }
            errors += op.teardownIfUnused()
            if let first = errors.first { throw first }
        }
    }
}
