import CNI
import JSON
import System

/// The subcommands listed in `CLI.commands`.
extension CLI {
    func status(_ inv: Invocation) -> Int32 {
        let context = inv.context
        let netns = SharedNetns(context: context)
        let record = HelperRecord.load(context.state)
        var helper: JSON = .null
        if let record {
            helper = ["backend": .string(record.backend.rawValue), "pid": .int(Int64(record.identity.pid)),
                      "alive": .bool(record.isAlive), "exe": .string(record.identity.exe)]
        }
        let store = AttachmentStore(state: context.state)
        let attachments: [JSON] = ((try? store.list()) ?? []).map { key in
            var entry: JSONObject = ["network": .string(key.network), "containerID": .string(key.containerID),
                                     "ifName": .string(key.ifName)]
            if let a = try? store.load(key) { entry["netns"] = .string(a.netns) }
            return .object(entry)
        }
        // Attachments whose container namespace is provably gone: the next ADD or GC (or
        // `rootless-netns gc`) releases them.
        let reapable: [JSON] = FS.exists(context.state.root) ? RootlessNetnsPlugin.reapable(store, sharedNetnsPath: context.netnsPath).map {
            ["network": .string($0.key.network), "containerID": .string($0.key.containerID),
             "ifName": .string($0.key.ifName), "why": .string($0.why)]
        } : []
        let health: String
        switch netns.health() {
        case .up: health = "up"
        case .helperDead: health = "helper-dead"
        case .netnsMissing: health = "down"
        }
        let out: JSON = ["stateDir": .string(context.state.root), "stateDirExists": .bool(FS.exists(context.state.root)),
                         "netns": .string(context.netnsPath),
                         "netnsMounted": .bool(Mounts.isNsfs(context.netnsPath)), "health": .string(health),
                         "session": inv.session.json, "helper": helper, "attachments": .array(attachments),
                         "reapable": .array(reapable),
                         "forwards": ForwarderClient(state: context.state).statusEntries()]
        StdIO.writeStdout(out.encoded(pretty: true) + "\n")
        return 0
    }

    /// Runs COMMAND inside the shared namespace with the delegates' mounts; output is relayed.
    func enter(_ inv: Invocation) throws -> Int32 {
        let context = inv.context
        let command = inv.command
        guard Mounts.isNsfs(context.netnsPath) else {
            if case .gone = inv.session {
                fail("the shared namespace \(context.netnsPath) is gone: the rootless session that created it has ended (see 'rootless-netns status')")
            } else {
                fail("the shared namespace \(context.netnsPath) does not exist (no container attached to \(context.state.root)?)")
            }
            return 1
        }
        let plan = try EnterPlan.make(context: context, containerNetns: "")
        var path = command[0]
        if !path.contains("/") {
            let dirs = context.delegatePATH.split(separator: ":").map(String.init)
            guard let found = FS.findExecutable(command[0], in: dirs) else {
                fail("enter: command not found: \(command[0]) (PATH: \(context.delegatePATH))")
                return 127
            }
            path = found
        }
        var childEnv = env
        childEnv["PATH"] = context.delegatePATH
        childEnv.removeValue(forKey: SessionJoin.joinedVariable)
        let result = try Spawn.run(SpawnRequest(path: path, argv: command,
                                                env: childEnv.map { "\($0.key)=\($0.value)" },
                                                enter: plan.enterSpec))
        if let failure = result.setupFailure { fail(failure.description); return 127 }
        StdIO.write(fd: 1, result.stdout)
        StdIO.write(fd: 2, result.stderr)
        switch result.status {
        case .exited(let code): return code
        case .signaled(let sig): return 128 + sig
        }
    }

    /// Forced teardown: forget every attachment, stop the helper, remove the namespace and state.
    func cleanup(_ inv: Invocation) throws -> Int32 {
        let context = inv.context
        // The session that mounted the namespace has ended: what is left here is the empty file
        // the mount was on (umount would fail with EPERM outside any user namespace of ours).
        if case .gone = inv.session, !Mounts.isNsfs(context.netnsPath),
           ((try? FS.lstat(context.netnsPath)) ?? nil)?.type == .regular {
            try FS.remove(context.netnsPath)
        }
        // Without a state dir (e.g. XDG_RUNTIME_DIR was removed) there is no lock to take, but a
        // stranded helper or namespace may still exist: teardown finds them by the netns path.
        guard FS.exists(context.state.root) else {
            let errors = SharedNetns(context: context).teardown()
            for e in errors { fail("\(e)") }
            return errors.isEmpty ? 0 : 1
        }
        let lock = try context.state.lockExclusive(timeoutMs: 60_000)
        let errors = SharedNetns(context: context).teardown()
        lock.release()
        for e in errors { fail("\(e)") }
        return errors.isEmpty ? 0 : 1
    }
}
