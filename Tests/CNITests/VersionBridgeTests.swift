import Testing
@testable import CNI
import JSON

/// Plugins that answer VERSION with their own list and refuse configs outside it, as skel does.
final class VersionedExecutor: PluginExecutor, @unchecked Sendable {
    struct Call { var plugin: String; var command: String; var stdin: JSON }
    var supports: [String: [String]]
    var calls: [Call] = []
    init(_ supports: [String: [String]]) { self.supports = supports }

    func execute(path: String, env: [String: String], stdin: [UInt8]) throws -> ExecOutcome {
        let name = String(path.split(separator: "/").last ?? "")
        let conf = (try? JSON.parse(stdin)) ?? .null
        let cmd = env["CNI_COMMAND"] ?? ""
        calls.append(Call(plugin: name, command: cmd, stdin: conf))
        let list = supports[name] ?? []
        func out(_ j: JSON, _ code: Int32 = 0) -> ExecOutcome { ExecOutcome(exitCode: code, stdout: Array(j.encoded().utf8), stderr: []) }
        if cmd == "VERSION" {
            return out(["cniVersion": conf["cniVersion"] ?? "1.0.0", "supportedVersions": .array(list.map { .string($0) })])
        }
        let v = conf["cniVersion"]?.stringValue ?? ""
        guard list.contains(v) else {
            return out(["code": 1, "msg": .string("incompatible CNI versions; config is \"\(v)\"")], 1)
        }
        guard cmd == "ADD" else { return out(.null) }
        if let prev = conf["prevResult"] { return out(prev) }
        var ip: JSONObject = ["address": "10.88.0.2/16", "interface": 0]
        if v < "1.0.0" { ip["version"] = "4" }
        return out(["cniVersion": .string(v), "interfaces": [["name": "eth0", "sandbox": "/run/netns/x"]], "ips": [.object(ip)]])
    }
    func isExecutableFile(_ path: String) -> Bool { true }
    func commands(_ plugin: String) -> [String] { calls.filter { $0.plugin == plugin }.map(\.command) }
}

final class MemoryVersionCache: PluginVersionCache {
    var stored: [BinaryIdentity: [String]] = [:]
    var inode: UInt64 = 1
    var paths: [String] = []
    func identity(of path: String) -> BinaryIdentity? {
        if !paths.contains(path) { paths.append(path) }
        return BinaryIdentity(dev: UInt64(paths.firstIndex(of: path)!), ino: inode, size: 1, mtimeSec: 0, mtimeNsec: 0)
    }
    func versions(for identity: BinaryIdentity) -> [String]? { stored[identity] }
    func store(_ versions: [String], for identity: BinaryIdentity) { stored[identity] = versions }
}

@Suite struct VersionBridgeTests {
    static let debian = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"]   // reference plugins 1.1.1
    static let all = CNIVersion.all.map(\.description)

    @Test(arguments: [
        ("1.1.0", ["1.1.0"], "1.1.0"), ("1.1.0", debian, "1.0.0"), ("1.0.0", debian, "1.0.0"),
        ("0.4.0", ["1.0.0", "1.1.0"], "1.0.0"), ("1.1.0", ["0.3.1"], "0.3.1"), ("1.1.0", ["0.2.0"], "1.1.0"),
        ("1.1.0", [], "1.1.0"),
    ])
    func pick(_ chain: String, _ supports: [String], _ expected: String) {
        #expect(VersionBridge.pick(chain: CNIVersion(chain)!, delegateSupports: supports.compactMap(CNIVersion.init))
            .description == expected)
        #expect(VersionBridge.pick(chain: CNIVersion(chain)!, delegateSupports: nil).description == chain)
    }

    @Test func versionOutput() {
        #expect(VersionBridge.supportedVersions(fromVersionOutput: Array(#"{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}"#.utf8)) == ["0.4.0", "1.0.0"])
        #expect(VersionBridge.supportedVersions(fromVersionOutput: Array(#"{"cniVersion":"0.3.1"}"#.utf8)) == ["0.3.1"])
        #expect(VersionBridge.supportedVersions(fromVersionOutput: Array("garbage".utf8)) == nil)
        #expect(VersionBridge.supportedVersions(fromVersionOutput: Array(#"{"supportedVersions":[1]}"#.utf8)) == nil)
    }

    func chain(_ v: CNIVersion = .v1_1_0) -> PluginChain {
        PluginChain(name: "n", version: v, plugins: [obj(#"{"type":"bridge"}"#), obj(#"{"type":"tuning"}"#)])
    }
    let env = CNIEnvironment(command: .add, containerID: "c1", netns: "/run/netns/x", ifName: "eth0", path: ["/bin"])

    /// A 1.1.0 chain with a 1.0.0-only delegate: it runs at 1.0.0 with a 1.0.0 prevResult, the
    /// 1.1.0 one at 1.1.0; VERSION is asked once per binary; STATUS and GC skip the old one.
    @Test func bridgesOldDelegatesInA110Chain() throws {
        let ex = VersionedExecutor(["bridge": Self.debian, "tuning": Self.all])
        let cache = MemoryVersionCache()
        let inv = DelegateInvoker(executor: ex, searchPath: ["/bin"], versionCache: cache)
        let result = try chain().add(inv, env: env, capabilityArgs: [:])
        #expect(ex.commands("bridge") == ["VERSION", "ADD"])
        #expect(ex.commands("tuning") == ["VERSION", "ADD"])
        let bridgeAdd = try #require(ex.calls.first { $0.plugin == "bridge" && $0.command == "ADD" })
        #expect(bridgeAdd.stdin["cniVersion"] == "1.0.0")
        let tuningAdd = try #require(ex.calls.first { $0.plugin == "tuning" && $0.command == "ADD" })
        #expect(tuningAdd.stdin["cniVersion"] == "1.1.0" && tuningAdd.stdin["prevResult"]?["cniVersion"] == "1.1.0")
        // What the runtime gets: valid 1.1.0.
        let printed = result.converted(to: .v1_1_0).json(version: .v1_1_0)
        #expect(printed["cniVersion"] == "1.1.0")
        #expect(try CNIResult.parse(printed).ips.first?.address.description == "10.88.0.2/16")

        ex.calls = []
        try chain().check(inv, env: env, prevResult: result, capabilityArgs: [:])
        try chain().del(inv, env: env, prevResult: result, capabilityArgs: [:])
        try chain().status(inv, env: env)
        try chain().gc(inv, env: env, validAttachments: [])
        #expect(ex.commands("bridge") == ["CHECK", "DEL"], "cached: no second VERSION")
        #expect(ex.commands("tuning") == ["CHECK", "DEL", "STATUS", "GC"])
        for call in ex.calls where call.plugin == "bridge" {
            #expect(call.stdin["cniVersion"] == "1.0.0" && call.stdin["prevResult"]?["cniVersion"] == "1.0.0")
        }
    }

    /// Without bridging the same chain fails at the first delegate, as it does with libcni.
    @Test func withoutCacheTheOldDelegateRefuses() {
        let ex = VersionedExecutor(["bridge": Self.debian, "tuning": Self.all])
        #expect(throws: PluginChain.AddFailure.self) {
            try chain().add(DelegateInvoker(executor: ex, searchPath: ["/bin"]), env: env, capabilityArgs: [:])
        }
        #expect(!ex.calls.contains { $0.command == "VERSION" })
    }

    /// A new binary (new identity) is asked again; a delegate that cannot answer VERSION runs
    /// at the chain's version and nothing is stored for it.
    @Test func identityAndFailures() throws {
        let ex = VersionedExecutor(["bridge": Self.debian, "tuning": Self.all])
        let cache = MemoryVersionCache()
        let inv = DelegateInvoker(executor: ex, searchPath: ["/bin"], versionCache: cache)
        _ = chain().versions(inv)
        cache.inode = 2
        #expect(chain().versions(inv) == [.v1_0_0, .v1_1_0])
        #expect(ex.commands("bridge") == ["VERSION", "VERSION"])
        #expect(cache.stored.count == 4)

        let silent = VersionedExecutor(["bridge": Self.debian])
        silent.supports["tuning"] = nil
        let c2 = MemoryVersionCache()
        // tuning answers VERSION with an empty list: no common version, runs at the chain's.
        #expect(chain().versions(DelegateInvoker(executor: silent, searchPath: ["/bin"], versionCache: c2)) == [.v1_0_0, .v1_1_0])
    }

    /// A 0.4.0 chain with a 0.3.1-only delegate: no CHECK for it, no prevResult on its DEL.
    @Test func olderThanCheck() throws {
        let ex = VersionedExecutor(["bridge": ["0.3.0", "0.3.1"], "tuning": Self.all])
        let inv = DelegateInvoker(executor: ex, searchPath: ["/bin"], versionCache: MemoryVersionCache())
        let r = try chain(.v0_4_0).add(inv, env: env, capabilityArgs: [:])
        try chain(.v0_4_0).check(inv, env: env, prevResult: r, capabilityArgs: [:])
        try chain(.v0_4_0).del(inv, env: env, prevResult: r, capabilityArgs: [:])
        #expect(ex.commands("bridge") == ["VERSION", "ADD", "DEL"])
        let del = try #require(ex.calls.last { $0.plugin == "bridge" })
        #expect(del.stdin["prevResult"] == nil && del.stdin["cniVersion"] == "0.3.1")
        let tuningAdd = try #require(ex.calls.first { $0.plugin == "tuning" && $0.command == "ADD" })
        #expect(tuningAdd.stdin["prevResult"]?["ips"]?.arrayValue?.first?["version"] == "4")
    }
}
