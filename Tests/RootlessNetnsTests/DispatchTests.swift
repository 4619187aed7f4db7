import CNI
import JSON
import System
import Testing
@testable import RootlessNetns
import TestSupport

/// Bad input through the real dispatcher: everything here must fail before any state is touched.
@Suite struct DispatchTests {
    struct Outcome { var error: CNIError?; var exitCode: Int32; var stdout: String }

    func run(_ command: String = "ADD", config: String, env extra: [String: String] = [:]) -> Outcome {
        var env = ["CNI_COMMAND": command, "CNI_CONTAINERID": "ctr1", "CNI_NETNS": "/proc/self/ns/net",
                   "CNI_IFNAME": "eth0", "CNI_PATH": "/nonexistent/cni/bin", "PATH": "/usr/bin:/bin",
                   "XDG_RUNTIME_DIR": "/tmp"]
        for (k, v) in extra { env[k] = v }
        let out = PluginMain.dispatch(RootlessNetnsPlugin(hostEnv: env), env: env) { Array(config.utf8) }
        let json = try? JSON.parse(Array(out.stdout.utf8))
        return Outcome(error: json.flatMap(CNIError.init(json:)), exitCode: out.exitCode, stdout: out.stdout)
    }

    /// A config whose stateDir is a fresh, not yet existing path.
    func config(_ t: TempDir, _ extra: String = "", delegates: String = #"[{"type":"bridge"}]"#) -> String {
        pluginJSON(#""stateDir":"\#(t.path)/state","mode":"always",\#(extra)"#, delegates: delegates)
    }

    @Test(arguments: [
        (#""cidr":"10.0.2.0/26","#, "cidr"),
        (#""cidr":"fd00::/64","#, "cidr"),
        (#""mtu":65521,"#, "mtu"),
        (#""mtu":1279,"#, "mtu"),
        (#""backend":"vpnkit","#, "backend"),
        (#""backendPath":"slirp4netns","#, "backendPath"),
        (#""mode":"maybe","#, "mode"),
    ])
    func invalidConfigFailsBeforeState(fragment: String, field: String) throws {
        let t = try TempDir("rlu-dispatch")
        defer { t.cleanup() }
        for command in ["ADD", "DEL", "CHECK"] {
            let out = run(command, config: config(t, fragment))
            #expect(out.exitCode != 0)
            #expect(out.error?.code == 7, "\(command) \(fragment): \(out.stdout)")
            #expect(out.error?.msg.contains(field) == true, "\(out.stdout)")
            #expect(out.error?.msg.contains(field) == true)
            #expect(!t.exists("state"), "\(command) created the state dir")
        }
    }

    @Test(arguments: ["[]", #"[{"type":"rootless-netns"}]"#, #"[{"type":"/bin/sh"}]"#, #"{"type":"bridge"}"#])
    func invalidDelegatesFailBeforeState(delegates: String) throws {
        let t = try TempDir("rlu-dispatch")
        defer { t.cleanup() }
        let out = run(config: config(t, delegates: delegates))
        #expect(out.error?.code == 7)
        #expect(out.error?.msg.contains("delegates") == true, "\(out.stdout)")
        #expect(!t.exists("state"))
    }

    @Test func invalidStateDirFails() {
        let out = run(config: pluginJSON(#""stateDir":"relative/state","#))
        #expect(out.error?.code == 7)
        #expect(out.error?.msg.contains("stateDir") == true)
        #expect(!FS.exists("relative"))
    }

    @Test func badPortMappingsFailBeforeState() throws {
        let t = try TempDir("rlu-dispatch")
        defer { t.cleanup() }
        let conf = pluginJSON(#""stateDir":"\#(t.path)/state","mode":"always","capabilities":{"portMappings":true},"runtimeConfig":{"portMappings":[{"hostPort":0,"containerPort":80}]},"#)
        let out = run(config: conf, env: ["CNI_NETNS": ""])
        // CNI_NETNS is required for ADD: the env check comes first.
        #expect(out.error?.code == 4)
        let out2 = run(config: conf, env: ["CNI_NETNS": "/proc/self/ns/net"])
        #expect(out2.error?.code == 7, "\(out2.stdout)")
        #expect(out2.error?.msg.contains("portMappings") == true)
        #expect(!t.exists("state"))
    }

    @Test(arguments: ["eth0/1", "", ".", "..", "a:b", "has space", "sixteen-chars-xx"])
    func badIfName(ifName: String) throws {
        let t = try TempDir("rlu-dispatch")
        defer { t.cleanup() }
        let out = run(config: config(t), env: ["CNI_IFNAME": ifName])
        #expect(out.error?.code == 4, "\(ifName): \(out.stdout)")
        #expect(!t.exists("state"))
    }

    @Test func emptyContainerIDIsUnknownContainer() throws {
        let t = try TempDir("rlu-dispatch")
        defer { t.cleanup() }
        let out = run(config: config(t), env: ["CNI_CONTAINERID": ""])
        #expect(out.error?.code == 3, "\(out.stdout)")
        #expect(!t.exists("state"))
    }

    @Test(arguments: ["-leading-dash", "has/slash", "a@b", "sp ace"])
    func badContainerID(id: String) throws {
        let t = try TempDir("rlu-dispatch")
        defer { t.cleanup() }
        let out = run(config: config(t), env: ["CNI_CONTAINERID": id])
        #expect(out.error?.code == 4, "\(id): \(out.stdout)")
        #expect(!t.exists("state"))
    }

    @Test(arguments: ["ADD", "CHECK"])
    func netnsNotANamespace(command: String) throws {
        let t = try TempDir("rlu-dispatch")
        defer { t.cleanup() }
        try t.file("not-a-netns", "")
        let out = run(command, config: config(t), env: ["CNI_NETNS": t.path + "/not-a-netns"])
        #expect(out.error?.code == 4, "\(out.stdout)")
        #expect(out.error?.msg.contains("CNI_NETNS") == true)
        #expect(!t.exists("state"))
    }

    @Test func netnsMissingOrRelative() throws {
        let t = try TempDir("rlu-dispatch")
        defer { t.cleanup() }
        for netns in [t.path + "/missing", "relative/netns"] {
            let out = run(config: config(t), env: ["CNI_NETNS": netns])
            #expect(out.error?.code == 4, "\(netns): \(out.stdout)")
            #expect(out.error?.msg.contains("CNI_NETNS") == true)
        }
        #expect(!t.exists("state"))
    }

    /// DEL of something never added must succeed and create nothing.
    @Test func delWithoutStateSucceedsAndCreatesNothing() throws {
        let t = try TempDir("rlu-dispatch")
        defer { t.cleanup() }
        let out = run("DEL", config: config(t), env: ["CNI_NETNS": ""])
        #expect(out.exitCode == 0, "\(out.stdout)")
        #expect(out.stdout.isEmpty)
        #expect(!t.exists("state"))
    }

    @Test func gcWithoutStateSucceeds() throws {
        let t = try TempDir("rlu-dispatch")
        defer { t.cleanup() }
        let conf = #"{"cniVersion":"1.1.0","name":"rootless","type":"rootless-netns","stateDir":"\#(t.path)/state","mode":"always","delegates":[{"type":"bridge"}],"cni.dev/valid-attachments":[]}"#
        let out = run("GC", config: conf)
        #expect(out.exitCode == 0, "\(out.stdout)")
        #expect(!t.exists("state"))
    }

    /// State v2 regression: a GC without the list used to treat it as "nothing is valid" and
    /// release every attachment of every network.
    @Test func gcWithoutValidAttachmentsIsRefused() throws {
        let t = try TempDir("rlu-dispatch")
        defer { t.cleanup() }
        let conf = #"{"cniVersion":"1.1.0","name":"rootless","type":"rootless-netns","stateDir":"\#(t.path)/state","mode":"always","delegates":[{"type":"bridge"}]}"#
        let out = run("GC", config: conf)
        #expect(out.exitCode != 0)
        let json = try JSON.parse(Array(out.stdout.utf8))
        #expect(json["code"] == .int(7))
        #expect(json["msg"]?.stringValue?.contains("cni.dev/valid-attachments") == true)
        #expect(!t.exists("state"))
    }

    @Test func errorVersionFollowsConfig() throws {
        let t = try TempDir("rlu-dispatch")
        defer { t.cleanup() }
        let out = run(config: config(t, #""mtu":1,"#))
        let json = try? JSON.parse(Array(out.stdout.utf8))
        #expect(json?["cniVersion"] == "1.0.0")
    }

    @Test func versionNeedsNothing() {
        let out = run("VERSION", config: #"{"cniVersion":"1.0.0"}"#)
        #expect(out.exitCode == 0)
        #expect(out.stdout.contains("supportedVersions"))
    }
}

