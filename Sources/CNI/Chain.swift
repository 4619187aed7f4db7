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

    /// Plugin `index`'s stdin, as libcni's buildOneConfig renders it, at `at` (a bridged
    /// delegate's version; default the chain's): cniVersion and prevResult in that version.
    public func render(_ index: Int, prevResult: CNIResult?, capabilityArgs: JSONObject,
                       extra: JSONObject = JSONObject(), at: CNIVersion? = nil) -> JSONObject {
        let version = at ?? self.version
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

    /// The version each plugin runs at: the chain's, or a bridged one when the invoker has a
    /// version cache and the delegate does not support the chain's (VersionBridge.pick).
    public func versions(_ invoker: DelegateInvoker) -> [CNIVersion] {
        guard invoker.versionCache != nil else { return plugins.map { _ in version } }
        return plugins.map { conf in
            let type = conf.goField("type")?.stringValue ?? ""
            return VersionBridge.pick(chain: version,
                                      delegateSupports: invoker.supportedVersions(of: type, chainVersion: version))
        }
    }

    public func add(_ invoker: DelegateInvoker, env: CNIEnvironment,
                    capabilityArgs: JSONObject) throws(AddFailure) -> CNIResult {
        let at = versions(invoker)
        var prev: CNIResult?
        for i in plugins.indices {
            let conf = render(i, prevResult: prev, capabilityArgs: capabilityArgs, at: at[i])
            let result: CNIResult?
            do { result = try invoker.invoke(command: .add, config: conf, env: env, version: at[i]) } catch {
                throw AddFailure(error: error, partialResult: prev)
            }
            guard let result else {
                let type = conf["type"]?.stringValue ?? "?"
                throw AddFailure(error: CNIError(.internal, "plugin \(type) returned no result"), partialResult: prev)
            }
            // Parsed into the version-independent shape: the next plugin gets it in its version,
            // the caller converts the last one to the runtime's.
            prev = result
        }
        guard let prev else { throw AddFailure(error: CNIError(.invalidNetworkConfig, "empty plugin chain"), partialResult: nil) }
        return prev
    }

    /// DEL every plugin in reverse order. Unlike ADD it keeps going after a failure so one
    /// broken plugin does not leak the others' state; the first error is thrown at the end.
    public func del(_ invoker: DelegateInvoker, env: CNIEnvironment, prevResult: CNIResult?,
                    capabilityArgs: JSONObject) throws(CNIError) {
        let at = versions(invoker)
        var first: CNIError?
        for i in plugins.indices.reversed() {
            // Before 0.4.0 libcni passed no prevResult to DEL.
            let prev = at[i] >= .v0_4_0 ? prevResult : nil
            let conf = render(i, prevResult: prev, capabilityArgs: capabilityArgs, at: at[i])
            do { _ = try invoker.invoke(command: .del, config: conf, env: env, version: at[i]) } catch {
                if first == nil { first = error }
            }
        }
        if let first { throw first }
    }

    /// CHECK every plugin; a bridged delegate older than 0.4.0 knows no CHECK and is skipped.
    public func check(_ invoker: DelegateInvoker, env: CNIEnvironment, prevResult: CNIResult,
                      capabilityArgs: JSONObject) throws(CNIError) {
        // libcni: CHECK exists from 0.4.0.
        try PluginMain.requireVersion(version, atLeast: .v0_4_0, for: "CHECK")
        let at = versions(invoker)
        for i in plugins.indices where at[i] >= .v0_4_0 {
            let conf = render(i, prevResult: prevResult, capabilityArgs: capabilityArgs, at: at[i])
            _ = try invoker.invoke(command: .check, config: conf, env: env, version: at[i])
        }
    }

    /// STATUS and GC exist from 1.1.0; older chains have nothing to ask, and delegates bridged
    /// to an older version are skipped (GC of what they hold is the caller's DEL of stale
    /// attachments; see docs/runtimes-versions.md).
    public func status(_ invoker: DelegateInvoker, env: CNIEnvironment) throws(CNIError) {
        guard version >= .v1_1_0 else { return }
        let at = versions(invoker)
        for i in plugins.indices where at[i] >= .v1_1_0 {
            let conf = render(i, prevResult: nil, capabilityArgs: JSONObject(), at: at[i])
            _ = try invoker.invoke(command: .status, config: conf, env: env, version: at[i])
        }
    }

    public func gc(_ invoker: DelegateInvoker, env: CNIEnvironment,
                   validAttachments: [(containerID: String, ifName: String)]) throws(CNIError) {
        guard version >= .v1_1_0 else { return }
        let list = JSON.array(validAttachments.map {
            ["containerID": .string($0.containerID), "ifname": .string($0.ifName)]
        })
        let at = versions(invoker)
        var first: CNIError?
        for i in plugins.indices where at[i] >= .v1_1_0 {
            let conf = render(i, prevResult: nil, capabilityArgs: JSONObject(),
                              extra: ["cni.dev/valid-attachments": list], at: at[i])
            do { _ = try invoker.invoke(command: .gc, config: conf, env: env, version: at[i]) } catch {
                if first == nil { first = error }
            }
        }
        if let first { throw first }
    }
}

extension PluginChain.AddFailure: CNIErrorConvertible {
    public var cniError: CNIError { error }
}
