import CNI
import JSON
import System
@testable import RootlessNetns
import TestSupport

/// Delegates that run nowhere: each call is recorded, ADD appends an interface named after
/// the delegate to its prevResult (so a partial result is told from a full one), failures
/// are set per delegate, command and container.
final class FakeDelegates: PluginExecutor {
    struct Call: CustomStringConvertible {
        var plugin: String
        var command: String
        var containerID: String
        var netns: String
        var config: JSONObject
        var description: String { "\(command) \(plugin) \(containerID)" }
        var prevInterfaces: [String] {
            (config["prevResult"]?["interfaces"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        }
    }
    struct Failure { var plugin: String; var command: CNICommand; var containerID: String?; var code: Int64 }

    var calls: [Call] = []
    var failures: [Failure] = []
    /// ADD results padded past what a record can hold (saving it fails).
    var hugeResults = false
    /// Runs at the start of every delegate call (plugin, command), e.g. to take a lock mid-chain.
    var onExecute: ((String, String) -> Void)?

    func fail(_ plugin: String, on command: CNICommand, container: String? = nil, code: Int64 = 11) {
        failures.append(Failure(plugin: plugin, command: command, containerID: container, code: code))
    }

    func calls(_ command: CNICommand, _ containerID: String? = nil) -> [Call] {
        calls.filter { $0.command == command.rawValue && (containerID == nil || $0.containerID == containerID) }
    }

    /// "DEL f2 c1" lines, for readable expectations.
    func log(_ command: CNICommand, _ containerID: String? = nil) -> [String] {
        calls(command, containerID).map { $0.plugin }
    }

    func isExecutableFile(_ path: String) -> Bool { path.hasPrefix("/fake/") }

    func execute(path: String, env: [String: String], stdin: [UInt8]) throws -> ExecOutcome {
        let plugin = String(path.split(separator: "/").last ?? "")
        let command = env["CNI_COMMAND"] ?? ""
        let config = ((try? JSON.parse(stdin)) ?? .null).objectValue ?? JSONObject()
        let containerID = env["CNI_CONTAINERID"] ?? ""
        calls.append(Call(plugin: plugin, command: command, containerID: containerID,
                          netns: env["CNI_NETNS"] ?? "", config: config))
        onExecute?(plugin, command)
        let version = config["cniVersion"]?.stringValue ?? "1.0.0"
        if let f = failures.first(where: {
            $0.plugin == plugin && $0.command.rawValue == command && ($0.containerID == nil || $0.containerID == containerID)
        }) {
            let error: JSON = ["cniVersion": .string(version), "code": .int(f.code), "msg": .string("\(plugin) failed")]
            return ExecOutcome(exitCode: Int32(f.code), stdout: Array(error.encoded().utf8), stderr: [])
        }
        guard command == "ADD" else { return ExecOutcome(exitCode: 0, stdout: [], stderr: []) }
        var result = config["prevResult"]?.objectValue
            ?? ["ips": [["address": "10.99.0.2/24", "interface": 0]]]
        result["cniVersion"] = .string(version)
        let own: JSON = ["name": .string(plugin), "sandbox": .string(env["CNI_NETNS"] ?? "")]
        result["interfaces"] = .array((result["interfaces"]?.arrayValue ?? []) + [own])
        if hugeResults {
            result["dns"] = ["domain": .string(String(repeating: "a", count: AttachmentStore.maxRecordBytes))]
        }
        return ExecOutcome(exitCode: 0, stdout: Array(JSON.object(result).encoded().utf8), stderr: [])
    }
}

/// A helper backend whose forwards are bookkeeping only.
final class FakeBackend: HelperBackend {
    var kind: BackendKind { .slirp4netns }
    var binary: String { "/fake/slirp4netns" }
    var added: [HostForward] = []
    var removed: [HostForward] = []
    var failAdd = false

    func start(context: Context, netnsPath: String) throws(RootlessError) -> HelperRecord {
        throw .internalError("the fake backend is never started")
    }

    func addForwards(_ mappings: [PortMapping], record: HelperRecord, result: CNIResult,
                     context: Context) throws(RootlessError) -> [HostForward] {
        if failAdd { throw .portForward("fake forward failure") }
        let forwards = mappings.map {
            HostForward(proto: $0.proto.rawValue, hostAddr: $0.hostIP.isEmpty ? "0.0.0.0" : $0.hostIP,
                        hostPort: Int64($0.hostPort), target: "10.99.0.2", targetPort: Int64($0.containerPort), via: .forwarder)
        }
        added += forwards
        return forwards
    }

    func removeForwards(_ forwards: [HostForward], context: Context) -> [RootlessError] {
        removed += forwards
        return []
    }

    func restoreForwards(_ forwards: [HostForward], record: HelperRecord, context: Context) -> [RootlessError] { [] }
    func missingForwards(_ forwards: [HostForward], record: HelperRecord, context: Context) -> [HostForward] { [] }
    func stopAuxiliary(context: Context) -> [RootlessError] { [] }
}

/// A shared namespace that is always up and only counts what is asked of it.
final class FakeNetns: SharedNamespace {
    let backend: FakeBackend
    var path: String { "/fake/netns/rootless-netns-test" }
    var isMounted = true
    var ensureUps = 0
    var teardowns = 0
    let helper = HelperRecord(backend: .slirp4netns, identity: ProcessIdentity(pid: 1, startTime: 1, exe: "/fake/slirp4netns"),
                              netns: "/fake/netns/rootless-netns-test", guestAddress: "10.0.2.100", dnsServers: ["10.0.2.3"])

    init(backend: FakeBackend) { self.backend = backend }

    func health() -> SharedNetns.Health { isMounted ? .up(helper) : .netnsMissing }

    func ensureUp() throws(RootlessError) -> (HelperRecord, any HelperBackend) {
        ensureUps += 1
        isMounted = true
        return (helper, backend)
    }

    func writeResolvConf(helper: HelperRecord) throws(RootlessError) {}

    func teardown() -> [RootlessError] {
        teardowns += 1
        isMounted = false
        return []
    }
}

/// The plugin over fakes and a real, private state dir (locks and records are the real ones).
struct FakeWorld {
    let dir: TempDir
    let delegates = FakeDelegates()
    let backend = FakeBackend()
    let netns: FakeNetns
    var stateDir: String { dir.path + "/state" }
    /// As a rootless runtime would pass it; CNI_NETNS is our own namespace (an nsfs file anyone can open).
    let containerNetns = "/proc/self/ns/net"

    init() throws {
        dir = try TempDir("rlu-ops")
        netns = FakeNetns(backend: backend)
        try dir.mkdir("xdg")
    }

    func cleanup() { dir.cleanup() }

    var plugin: RootlessNetnsPlugin {
        let delegates = delegates, backend = backend, netns = netns
        let deps = OperationDeps(
            invoker: { (op, _) throws(RootlessError) -> DelegateInvoker in
                DelegateInvoker(executor: delegates, searchPath: op.request.env.path)
            },
            backend: { (_) throws(RootlessError) -> any HelperBackend in backend },
            netns: { _ in netns })
        return RootlessNetnsPlugin(hostEnv: ["PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": dir.path + "/xdg"], deps: deps)
    }

    /// A conflist entry for `network` with these delegate types (or full delegate objects).
    func config(network: String = "net1", version: String = "1.0.0", delegates: [JSON],
                runtimeConfig: JSON? = nil, extra: JSONObject = JSONObject()) throws -> NetConf {
        var conf: JSONObject = ["cniVersion": .string(version), "name": .string(network), "type": "rootless-netns",
                                "mode": "always", "stateDir": .string(stateDir), "delegates": .array(delegates)]
        if let runtimeConfig {
            conf["runtimeConfig"] = runtimeConfig
            conf["capabilities"] = ["portMappings": true]
        }
        for (k, v) in extra { conf[k] = v }
        return try NetConf.parse(Array(JSON.object(conf).encoded().utf8))
    }

    func request(_ command: CNICommand, _ containerID: String = "", _ config: NetConf) -> CNIRequest {
        CNIRequest(env: CNIEnvironment(command: command, containerID: containerID,
                                       netns: containerID.isEmpty ? "" : containerNetns,
                                       ifName: containerID.isEmpty ? "" : "eth0", path: ["/fake"]),
                   config: config, stdin: [])
    }

    @discardableResult
    func add(_ containerID: String, _ config: NetConf) throws -> CNIResult {
        try plugin.add(request(.add, containerID, config))
    }

    func del(_ containerID: String, _ config: NetConf) throws {
        try plugin.del(request(.del, containerID, config))
    }

    func gc(_ config: NetConf) throws {
        try plugin.gc(request(.gc, "", config))
    }

    var store: AttachmentStore { AttachmentStore(state: StateDir(root: stateDir)) }

    /// "network/container" of every record.
    func records() throws -> [String] {
        try store.list().map { "\($0.network)/\($0.containerID)" }.sorted()
    }
}

/// Delegate objects of these types.
func delegateList(_ types: String...) -> [JSON] { types.map { ["type": .string($0)] } }
