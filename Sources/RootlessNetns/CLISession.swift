import CNI
import JSON
import System

/// The CLI runs in the rootless session that owns the state dir: the shared namespace is a bind
/// mount only that session's mount namespace sees, so from outside `status` would say "down"
/// next to a live helper. Like `podman unshare --rootless-netns`, the CLI joins the session by
/// itself (re-running itself in a forked child after setns into the recorded user + mount
/// namespace), or says why it cannot.
enum SessionJoin {
    /// Set in the re-run child (the pid it joined): never join twice.
    static let joinedVariable = "ROOTLESS_NETNS_JOINED"

    /// How this invocation relates to the session that wrote the state.
    enum Outcome: Equatable {
        /// No session.json (nothing attached since this version, or no state at all).
        case notRecorded
        /// Already in the recorded namespaces.
        case inside
        /// Re-run inside the session through the namespaces of this pid.
        case joined(Int32)
        /// Recorded, but no process of that user + mount namespace is left: the session ended
        /// and took the namespace with it; the state is stale.
        case gone(SessionRecord)

        var json: JSON {
            switch self {
            case .notRecorded: ["recorded": false]
            case .inside: ["recorded": true, "joined": false, "inside": true]
            case .joined(let pid): ["recorded": true, "joined": true, "viaPid": .int(Int64(pid))]
            case .gone(let r):
                ["recorded": true, "joined": false, "inside": false, "userns": .string(r.userns), "mntns": .string(r.mntns),
                 "note": "no process of the session that ran ADD is left (was it stopped?); its namespace is gone with it. 'rootless-netns cleanup' removes the stale state"]
            }
        }
    }

    enum Decision: Equatable {
        case stay(Outcome)
        case join(Int32, SessionRecord)
    }

    static func decide(state: StateDir, env: [String: String]) -> Decision {
        if let joined = env[joinedVariable], let pid = Int32(joined) { return .stay(.joined(pid)) }
        guard let record = SessionRecord.load(state) else { return .stay(.notRecorded) }
        if record.isCurrent { return .stay(.inside) }
        guard let pid = record.findMember() else { return .stay(.gone(record)) }
        return .join(pid, record)
    }

    /// Runs this executable again, with the same arguments, inside the session; returns its exit
    /// code. If joining is not possible, says exactly what to run instead.
    static func rerun(joining pid: Int32, record: SessionRecord, args: [String], env: [String: String],
                      fail: (String) -> Void) -> Int32 {
        var childEnv = env
        childEnv[joinedVariable] = String(pid)
        // The netns path is derived from XDG_RUNTIME_DIR: use the one the ADD used.
        if let dir = record.runtimeDir { childEnv["XDG_RUNTIME_DIR"] = dir }
        let exe = (try? Identity.executablePath()) ?? "rootless-netns"
        do {
            let status = try NamespaceJoin.run(joining: pid, path: "/proc/self/exe", argv: ["rootless-netns"] + args,
                                               env: childEnv.map { "\($0.key)=\($0.value)" }.sorted(), cwd: Identity.currentDirectory())
            switch status {
            case .exited(let code): return code
            case .signaled(let sig): return 128 + sig
            }
        } catch {
            fail("""
                the shared namespace belongs to another rootless session (user+mount namespace of pid \(pid)) \
                and joining it failed: \(error)
                run it inside that session instead, e.g.:
                  nsenter -U --preserve-credentials -m -t \(pid) -- \(exe) \(args.joined(separator: " "))
                """)
            return 1
        }
    }
}
