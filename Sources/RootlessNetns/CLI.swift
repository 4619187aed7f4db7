import CNI
import Glibc
import JSON
import System

/// `rootless-netns status|enter|cleanup [--state-dir DIR]`.
struct CLI {
    var env: [String: String]

    static let usage = """
        usage: rootless-netns status  [--state-dir DIR]
               rootless-netns enter   [--state-dir DIR] -- COMMAND [ARGS...]
               rootless-netns cleanup [--state-dir DIR]
        As a CNI plugin it runs when CNI_COMMAND is set; see README.md.
        """

    func run(_ args: [String]) -> Int32 {
        guard let verb = args.first else { fail(Self.usage); return 2 }
        var stateDir: String?
        var rest = Array(args.dropFirst())
        var command: [String] = []
        if let dash = rest.firstIndex(of: "--") {
            command = Array(rest[(dash + 1)...])
            rest = Array(rest[..<dash])
        }
        var i = 0
        while i < rest.count {
            switch rest[i] {
            case "--state-dir" where i + 1 < rest.count: stateDir = rest[i + 1]; i += 2
            case "-h", "--help": StdIO.writeStdout(Self.usage + "\n"); return 0
            default: fail("unknown argument \(rest[i])\n" + Self.usage); return 2
            }
        }
        do {
            let context = try Context(config: .defaults(stateDir: try stateDir.map(RootlessConfig.normalizeStateDir)),
                                      hostEnv: env)
            switch verb {
            case "status": return status(context)
            case "enter":
                guard !command.isEmpty else { fail("enter needs a command after --"); return 2 }
                return try enter(context, command)
            case "cleanup": return try cleanup(context)
            case "-h", "--help", "help": StdIO.writeStdout(Self.usage + "\n"); return 0
            default: fail("unknown command \(verb)\n" + Self.usage); return 2
            }
        } catch {
            fail("\(error)")
            return 1
        }
    }

    func fail(_ message: String) { StdIO.write(fd: 2, Array(("rootless-netns: " + message + "\n").utf8)) }

    func status(_ context: Context) -> Int32 {
        let netns = SharedNetns(context: context)
        let record = HelperRecord.load(context.state)
        var helper: JSON = .null
        if let record {
            helper = ["backend": .string(record.backend.rawValue), "pid": .int(Int64(record.identity.pid)),
                      "alive": .bool(record.isAlive), "exe": .string(record.identity.exe)]
        }
        let store = AttachmentStore(dir: context.state.attachments)
        let attachments: [JSON] = ((try? store.list()) ?? []).map { cid, ifn in
            var entry: JSONObject = ["containerID": .string(cid), "ifName": .string(ifn)]
            if let a = try? store.load(cid, ifn) { entry["netns"] = .string(a.netns); entry["network"] = .string(a.network) }
            return .object(entry)
        }
        let health: String
        switch netns.health() {
        case .up: health = "up"
        case .helperDead: health = "helper-dead"
        case .netnsMissing: health = "down"
        }
        let out: JSON = ["stateDir": .string(context.state.root), "netns": .string(context.netnsPath),
                         "netnsMounted": .bool(Mounts.isNsfs(context.netnsPath)), "health": .string(health),
                         "helper": helper, "attachments": .array(attachments),
                         "forwards": ForwarderClient(state: context.state).statusEntries()]
        StdIO.writeStdout(out.encoded(pretty: true) + "\n")
        return 0
    }

    /// Runs COMMAND inside the shared namespace with the delegates' mounts; output is relayed.
    func enter(_ context: Context, _ command: [String]) throws -> Int32 {
        guard Mounts.isNsfs(context.netnsPath) else {
            fail("the shared namespace \(context.netnsPath) does not exist (no container attached?)")
            return 1
        }
        let plan = try EnterPlan.make(context: context, containerNetns: "")
        var path = command[0]
        if !path.contains("/") {
            let dirs = context.delegatePATH.split(separator: ":").map(String.init)
            path = dirs.map { $0 + "/" + command[0] }.first(where: FS.isExecutable) ?? command[0]
        }
        var childEnv = env
        childEnv["PATH"] = context.delegatePATH
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
    func cleanup(_ context: Context) throws -> Int32 {
        // Without a state dir (e.g. XDG_RUNTIME_DIR was removed) there is no lock to take, but a
        // stranded helper or namespace may still exist: teardown finds them by the netns path.
        guard FS.exists(context.state.root) else {
            let errors = SharedNetns(context: context).teardown()
            for e in errors { fail("\(e)") }
            return errors.isEmpty ? 0 : 1
        }
        let lock = try Lock.exclusive(context.state.lock, timeoutMs: 60_000)
        let errors = SharedNetns(context: context).teardown()
        lock.release()
        for e in errors { fail("\(e)") }
        return errors.isEmpty ? 0 : 1
    }
}
