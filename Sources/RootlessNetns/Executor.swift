import CNI
import System

/// Runs delegate binaries, optionally inside the shared namespace, with a timeout so a hung
/// delegate cannot hang the runtime. Inside, the namespaces are set up once per chain by a
/// `NamespaceHolder` (setns → unshare → mounts, started at the first delegate) and every delegate
/// joins them (setns → execve in the C child).
struct DelegateExecutor: PluginExecutor {
    var enter: EnterSpec?
    var timeoutMs: Int
    /// The state dir the mounts of `enter` are under: re-verified before every spawn, since the
    /// child mounts by path (a swapped ancestor must not make a delegate write elsewhere).
    var state: StateDir? = nil
    /// The held chain locks, kept by every delegate (see RunningDelegate), and where to record it.
    var lockFD: Int32? = nil
    var watch: (stateDir: String, name: String, owner: ProcessIdentity)? = nil
    private let holder = HolderSlot()

    init(enter: EnterSpec?, timeoutMs: Int, state: StateDir? = nil) {
        self.enter = enter
        self.timeoutMs = timeoutMs
        self.state = state
    }

    /// The one holder of this executor's chain (copies of the executor share it).
    final class HolderSlot: @unchecked Sendable {
        var holder: NamespaceHolder?
    }

    func execute(path: String, env: [String: String], stdin: [UInt8]) throws -> ExecOutcome {
        try state?.verifyPath()
        var join: NamespaceHolder?
        if let enter {
            if holder.holder == nil {
                PhaseTrace.mark("holder")
                defer { PhaseTrace.mark("holder-up") }
                do { holder.holder = try NamespaceHolder(enter, label: path, timeoutMs: timeoutMs) } catch {
                    throw RootlessError.system(error)
                }
            }
            join = holder.holder
        }
        var request = SpawnRequest(path: path, argv: [path], env: env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
                                   stdin: stdin, timeoutMs: timeoutMs, join: join)
        if let lockFD { request.inheritedFDs = [lockFD] }
        if let watch {
            let timeout = timeoutMs
            request.onStart = { pid in RunningDelegate.record(stateDir: watch.stateDir, name: watch.name, owner: watch.owner, pid: pid, timeoutMs: timeout) }
        }
        PhaseTrace.mark("exec " + path)
        let result = try Spawn.run(request)
        PhaseTrace.mark("exit " + path)
        if let failure = result.setupFailure {
            throw RootlessError.system(failure)
        }
        switch result.status {
        case .exited(let code):
            return ExecOutcome(exitCode: code, stdout: result.stdout, stderr: result.stderr, timedOut: result.timedOut)
        case .signaled(let sig):
            return ExecOutcome(exitCode: nil, signal: sig, stdout: result.stdout, stderr: result.stderr, timedOut: result.timedOut)
        }
    }

    func isExecutableFile(_ path: String) -> Bool {
        guard let info = try? FS.stat(path), info.type == .regular else { return false }
        return FS.isExecutable(path)
    }
}
