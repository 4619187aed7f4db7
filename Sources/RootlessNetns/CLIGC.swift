import CNI
import JSON
import System

extension CLI {
    /// `rootless-netns gc`: the reaping sweep of the next ADD/GC, by hand. Attachments whose
    /// container namespace is provably gone are released (their recorded chain's DEL, forwards,
    /// record); the namespace is torn down if nothing is left. Prints what was released.
    func gc(_ inv: Invocation) throws -> Int32 {
        let context = inv.context
        guard FS.exists(context.state.root) else {
            StdIO.writeStdout(JSON.object(["released": .array([])]).encoded(pretty: true) + "\n")
            return 0
        }
        let op = try Operation(try Self.sweepRequest(stateDir: context.state.root, env: env), hostEnv: env)
        let plugin = RootlessNetnsPlugin(hostEnv: env)
        var released: [AttachmentKey] = []
        let outcome = try op.locked { () throws(RootlessError) -> Operation.TeardownOutcome in
            let invoker = op.netns.isMounted ? try op.invoker(inside: true) : nil
            if invoker != nil { try op.enterChains() }
            released = plugin.reapGone(op, invoker: invoker)
            return op.leaveChainsAndTearDownIfUnused()
        }
        _ = op.finishTeardown(outcome)
        let out: JSON = ["released": .array(released.map {
            ["network": .string($0.network), "containerID": .string($0.containerID), "ifName": .string($0.ifName)]
        })]
        StdIO.writeStdout(out.encoded(pretty: true) + "\n")
        return 0
    }

    /// The request a sweep runs under: no conflist (each record replays its own chain), the
    /// delegates found in CNI_PATH (default: Debian's and the usual install dirs).
    static func sweepRequest(stateDir: String, env: [String: String]) throws -> CNIRequest {
        let conf: JSON = ["cniVersion": "1.1.0", "name": "rootless-netns-gc", "type": "rootless-netns",
                          "mode": "always", "stateDir": .string(stateDir), "delegates": [["type": "none"]]]
        let config = try NetConf.parse(Array(conf.encoded().utf8))
        let cniPath = (env["CNI_PATH"].flatMap { $0.isEmpty ? nil : $0 } ?? "/opt/cni/bin:/usr/lib/cni")
            .split(separator: ":").map(String.init)
        return CNIRequest(env: CNIEnvironment(command: .gc, path: cniPath), config: config, stdin: [])
    }
}
