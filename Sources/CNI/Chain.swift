import JSON

/// A list of plugins run the way libcni runs a conflist: `name` and `cniVersion` injected,
/// `runtimeConfig` only for declared capabilities, prevResult threaded on ADD, DEL in reverse.
public struct PluginChain: Sendable {
    public var name: String
    public var version: CNIVersion
    public var plugins: [JSONObject]

    public init(name: String, version: CNIVersion, plugins: [JSONObject]) {
        self.name = name; self.version = version; self.plugins = plugins
    }

    /// A failed ADD: the error and the result of the plugins that did succeed (for rollback).
    public struct AddFailure: Error, Sendable {
        public var error: CNIError
        public var partialResult: CNIResult?
        public init(error: CNIError, partialResult: CNIResult?) {
            self.error = error; self.partialResult = partialResult
        }
    }

    /// Plugin `index`'s stdin, as libcni's buildOneConfig renders it.
    public func render(_ index: Int, prevResult: CNIResult?, capabilityArgs: JSONObject,
                       extra: JSONObject = JSONObject()) -> JSONObject {
        // One spelling per key the delegate reads (Go plugins fold case; duplicates would make
        // the last one win there), so the injected values are the ones it sees.
        var conf = plugins[index].canonicalizingGoKeys(NetConf.standardKeys)
        conf["cniVersion"] = .string(version.description)
        conf["name"] = .string(name)
        var runtime = JSONObject()
        if case .object(let caps)? = conf["capabilities"] {
            for (cap, enabled) in caps where enabled == .bool(true) {
                // libcni matches capability names exactly; the entries' keys go canonical.
                if let value = capabilityArgs[cap] { runtime[cap] = CapabilityArgs.canonical(cap, value) }
            }
        }
        if !runtime.isEmpty { conf["runtimeConfig"] = .object(runtime) }
        if let prevResult { conf["prevResult"] = prevResult.json(version: version) }
        for (k, v) in extra { conf[k] = v }
        return conf
    }

    public func add(_ invoker: DelegateInvoker, env: CNIEnvironment,
                    capabilityArgs: JSONObject) throws(AddFailure) -> CNIResult {
        var prev: CNIResult?
        for i in plugins.indices {
            let conf = render(i, prevResult: prev, capabilityArgs: capabilityArgs)
            let result: CNIResult?
            do { result = try invoker.invoke(command: .add, config: conf, env: env, version: version) } catch {
                throw AddFailure(error: error, partialResult: prev)
            }
            guard let result else {
                let type = conf["type"]?.stringValue ?? "?"
                throw AddFailure(error: CNIError(.internal, "plugin \(type) returned no result"), partialResult: prev)
            }
            prev = result
        }
        guard let prev else { throw AddFailure(error: CNIError(.invalidNetworkConfig, "empty plugin chain"), partialResult: nil) }
        return prev
    }

    /// DEL every plugin in reverse order. Unlike ADD it keeps going after a failure so one
    /// broken plugin does not leak the others' state; the first error is thrown at the end.
    public func del(_ invoker: DelegateInvoker, env: CNIEnvironment, prevResult: CNIResult?,
                    capabilityArgs: JSONObject) throws(CNIError) {
        // Before 0.4.0 libcni passed no prevResult to DEL.
        let prev = version >= .v0_4_0 ? prevResult : nil
        var first: CNIError?
        for i in plugins.indices.reversed() {
            let conf = render(i, prevResult: prev, capabilityArgs: capabilityArgs)
            do { _ = try invoker.invoke(command: .del, config: conf, env: env, version: version) } catch {
                if first == nil { first = error }
            }
        }
        if let first { throw first }
    }

    public func check(_ invoker: DelegateInvoker, env: CNIEnvironment, prevResult: CNIResult,
                      capabilityArgs: JSONObject) throws(CNIError) {
        // libcni: CHECK exists from 0.4.0.
        try PluginMain.requireVersion(version, atLeast: .v0_4_0, for: "CHECK")
        for i in plugins.indices {
            let conf = render(i, prevResult: prevResult, capabilityArgs: capabilityArgs)
            _ = try invoker.invoke(command: .check, config: conf, env: env, version: version)
        }
    }

    /// STATUS and GC exist from 1.1.0; older chains have nothing to ask.
    public func status(_ invoker: DelegateInvoker, env: CNIEnvironment) throws(CNIError) {
        guard version >= .v1_1_0 else { return }
        for i in plugins.indices {
            let conf = render(i, prevResult: nil, capabilityArgs: JSONObject())
            _ = try invoker.invoke(command: .status, config: conf, env: env, version: version)
        }
    }

    public func gc(_ invoker: DelegateInvoker, env: CNIEnvironment,
                   validAttachments: [(containerID: String, ifName: String)]) throws(CNIError) {
        guard version >= .v1_1_0 else { return }
        let list = JSON.array(validAttachments.map {
            ["containerID": .string($0.containerID), "ifname": .string($0.ifName)]
        })
        var first: CNIError?
        for i in plugins.indices {
            let conf = render(i, prevResult: nil, capabilityArgs: JSONObject(),
                              extra: ["cni.dev/valid-attachments": list])
            do { _ = try invoker.invoke(command: .gc, config: conf, env: env, version: version) } catch {
                if first == nil { first = error }
            }
        }
        if let first { throw first }
    }
}

extension PluginChain.AddFailure: CNIErrorConvertible {
    public var cniError: CNIError { error }
}
