import CNI
import JSON
import System

/// One invocation of the meta-plugin: its request, the caller's context, the chain of the
/// current config. Verbs live in RootlessNetnsPlugin's extensions; this holds what they share.
struct Operation {
    var context: Context
    var request: CNIRequest
    var chain: PluginChain
    /// The chain locks while the operation holds them (delegates inherit them; see Locking.swift).
    let held = HeldLocks()
    /// Delegates, helper backend, shared namespace (fakes in unit tests).
    var deps: OperationDeps
    var netns: any SharedNamespace { deps.netns(context) }
    var attachments: AttachmentStore { AttachmentStore(state: context.state) }
    var key: AttachmentKey {
        AttachmentKey(network: request.config.name, containerID: request.env.containerID, ifName: request.env.ifName)
    }

    /// Deepest nesting accepted in delegate configs and capability args: the record is parsed
    /// again on every DEL, and a parser depth limit must never make it unreadable.
    static let maxNesting = 64

    init(_ request: CNIRequest, hostEnv: [String: String], deps: OperationDeps = .system) throws(RootlessError) {
        let config: RootlessConfig
        do { config = try RootlessConfig.parse(request.config) } catch { throw .cni(error) }
        self.request = request
        self.deps = deps
        context = try Context(config: config, hostEnv: hostEnv)
        chain = PluginChain(name: request.config.name, version: request.config.version, plugins: config.delegates)
    }

    /// The invoker for the delegates: inside the shared namespace, or directly.
    func invoker(inside: Bool) throws(RootlessError) -> DelegateInvoker { try deps.invoker(self, inside) }

    /// The configured helper backend (for forwards outside ADD's `ensureUp`).
    func backend() throws(RootlessError) -> any HelperBackend { try deps.backend(context) }

    /// The production invoker: delegates spawned (entering the shared namespace when `inside`),
    /// holding the chain locks, each recorded as it starts.
    func systemInvoker(inside: Bool) throws(RootlessError) -> DelegateInvoker {
        var enter: EnterSpec?
        if inside { enter = try EnterPlan.make(context: context, containerNetns: request.env.netns).enterSpec }
        var executor = DelegateExecutor(enter: enter, timeoutMs: context.config.delegateTimeout * 1000,
                                        state: inside ? context.state : nil)
        if let ranges = held.ranges, let owner = held.owner {
            executor.lockFD = ranges.fileDescriptor
            executor.watch = (context.state.root, key.fileName, owner)
        }
        return DelegateInvoker(
            executor: executor,
            searchPath: request.env.path, baseEnv: context.delegateBaseEnv, stderrSink: Stderr.write,
            versionCache: DelegateVersionCache(userCacheDirectory: HelperFeatureCache.userCacheDirectory(context: context),
                                              stateRoot: context.state.root))
    }

    /// CNI_NETNS must name a network namespace (a bind mount or a /proc/PID/ns/net link).
    func validateContainerNetns() throws(RootlessError) {
        let path = request.env.netns
        if path.isEmpty { return }
        guard path.hasPrefix("/") else {
            throw .invalidContainerNetns(path, .relative)
        }
        guard Mounts.isNsfs(path) else {
            throw .invalidContainerNetns(path, .notNamespace)
        }
        // Any namespace file is nsfs: a mount or user namespace must be refused too.
        let isNet: Bool
        do { isNet = try NetNS.isNetworkNamespace(path) } catch {
            throw .invalidContainerNetns(path, .unreadable(error))
        }
        guard isNet else {
            throw .invalidContainerNetns(path, .otherNamespaceType)
        }
    }

    /// What becomes a record must be storable, checked before any delegate runs: bounded size and
    /// nesting (code 7), so an ADD never succeeds into a record that every later DEL fails to read.
    func validateRecordable(capabilityArgs: JSONObject) throws(RootlessError) {
        let delegates = JSON.array(context.config.delegates.map { .object($0) })
        for (what, value) in [("delegates", delegates), ("runtimeConfig", JSON.object(capabilityArgs))] {
            if value.nestingDepth > Self.maxNesting {
                throw .invalidConfig(field: what, why: "nested deeper than \(Self.maxNesting) levels")
            }
        }
        // The result is added later; leave it a quarter of the record.
        let size = delegates.encoded().utf8.count + JSON.object(capabilityArgs).encoded().utf8.count
        if size > AttachmentStore.maxRecordBytes * 3 / 4 {
            throw .invalidConfig(field: "delegates/runtimeConfig",
                                 why: "\(size) bytes, more than an attachment record can hold (\(AttachmentStore.maxRecordBytes * 3 / 4))")
        }
    }

    /// Every delegate binary must be there before anything is touched: a typo in a conflist
    /// must not start a helper only to tear it down again.
    func findDelegates() throws(RootlessError) {
        let finder = try invoker(inside: false)
        for delegate in context.config.delegates {
            do { _ = try finder.find(delegate["type"]?.stringValue ?? "") } catch { throw .cni(error) }
        }
    }

    /// DEL/GC env for the delegates: a container namespace that is gone (its file left
    /// behind after the session that mounted it ended) is not passed on, so they release
    /// what lives outside it (IPAM) instead of failing on it forever.
    func delegateEnv(_ env: CNIEnvironment) -> CNIEnvironment {
        var env = env
        if !env.netns.isEmpty && !Mounts.isNsfs(env.netns) { env.netns = "" }
        return env
    }

    /// The chain a record ran, under the record's own network name and version (as it ran),
    /// even if the conflist changed since.
    func chain(of record: Attachment) -> PluginChain {
        PluginChain(name: record.network.isEmpty ? chain.name : record.network,
                    version: record.version, plugins: record.delegates)
    }

}

/// What an operation reaches beyond its state dir: the delegates, the helper backend, the
/// shared namespace and its helper. `.system` is the production wiring; unit tests pass fakes
/// (Tests/RootlessNetnsTests/OperationFakes.swift), so rollback, replay and GC run without
/// root or namespaces. Locks and records stay real either way.
struct OperationDeps {
    var invoker: (_ op: Operation, _ inside: Bool) throws(RootlessError) -> DelegateInvoker
    var backend: (_ context: Context) throws(RootlessError) -> any HelperBackend
    var netns: (_ context: Context) -> any SharedNamespace

    static var system: OperationDeps {
        OperationDeps(
            invoker: { (op, inside) throws(RootlessError) -> DelegateInvoker in try op.systemInvoker(inside: inside) },
            backend: { (context) throws(RootlessError) -> any HelperBackend in try Backends.resolve(context: context) },
            netns: { SharedNetns(context: $0) })
    }
}

/// The shared namespace's lifecycle as the verbs use it (callers hold the state lock).
protocol SharedNamespace {
    var path: String { get }
    /// Our namespace is mounted at `path`.
    var isMounted: Bool { get }
    func health() -> SharedNetns.Health
    /// The namespace exists and its helper runs (started or restarted as needed).
    func ensureUp() throws(RootlessError) -> (HelperRecord, any HelperBackend)
    func writeResolvConf(helper: HelperRecord) throws(RootlessError)
    /// Unmount and remove the namespace, stop the helper, remove state; collects errors.
    func teardown() -> [RootlessError]
}

extension SharedNetns: SharedNamespace {}

extension JSON {
    /// Depth of the deepest array/object (a scalar is 0).
    var nestingDepth: Int {
        var deepest = 0
        var stack: [(JSON, Int)] = [(self, 0)]
        while let (value, depth) = stack.popLast() {
            switch value {
            case .array(let items):
                deepest = Swift.max(deepest, depth + 1)
                stack += items.map { ($0, depth + 1) }
            case .object(let o):
                deepest = Swift.max(deepest, depth + 1)
                for (_, v) in o { stack.append((v, depth + 1)) }
            default: break
            }
            if deepest > 1024 { return deepest }
        }
        return deepest
    }
}
