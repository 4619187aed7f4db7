import Testing
@testable import CNI
import IP
import JSON

@Suite struct DispatchTests {
    static let addEnv = ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "ctr1", "CNI_NETNS": "/run/netns/x",
                         "CNI_IFNAME": "eth0", "CNI_PATH": "/opt/cni/bin"]
    static let conf10 = #"{"cniVersion":"1.0.0","name":"net","type":"fake"}"#

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var env: [String: String]
        var stdin: String
        var code: Int
        var fragment: String
        var testDescription: String { name }
    }

    static func env(_ changes: [String: String?]) -> [String: String] {
        var e = addEnv
        for (k, v) in changes { e[k] = v }
        return e
    }

    static let cases: [Case] = [
        Case(name: "no command", env: env(["CNI_COMMAND": nil]), stdin: conf10, code: 4, fragment: "CNI_COMMAND"),
        Case(name: "unknown command", env: env(["CNI_COMMAND": "FROB"]), stdin: conf10, code: 4,
             fragment: "unknown CNI_COMMAND: FROB"),
        Case(name: "empty container id", env: env(["CNI_CONTAINERID": ""]), stdin: conf10, code: 3,
             fragment: "CNI_CONTAINERID"),
        Case(name: "bad container id", env: env(["CNI_CONTAINERID": "../x"]), stdin: conf10, code: 4,
             fragment: "CNI_CONTAINERID"),
        Case(name: "missing netns", env: env(["CNI_NETNS": nil]), stdin: conf10, code: 4, fragment: "CNI_NETNS"),
        Case(name: "missing ifname", env: env(["CNI_IFNAME": nil]), stdin: conf10, code: 4, fragment: "CNI_IFNAME"),
        Case(name: "long ifname", env: env(["CNI_IFNAME": "0123456789abcdef"]), stdin: conf10, code: 4,
             fragment: "CNI_IFNAME"),
        Case(name: "missing path", env: env(["CNI_PATH": nil]), stdin: conf10, code: 4, fragment: "CNI_PATH"),
        Case(name: "bad args", env: env(["CNI_ARGS": "novalue"]), stdin: conf10, code: 4, fragment: "CNI_ARGS"),
        Case(name: "malformed json", env: addEnv, stdin: "{", code: 6, fragment: "decoding"),
        Case(name: "empty stdin", env: addEnv, stdin: "", code: 6, fragment: "decoding"),
        Case(name: "non-object", env: addEnv, stdin: "[1,2]", code: 6, fragment: "object"),
        Case(name: "no cniVersion", env: addEnv, stdin: #"{"name":"net"}"#, code: 1, fragment: "incompatible"),
        Case(name: "unsupported cniVersion", env: addEnv, stdin: #"{"cniVersion":"0.2.0","name":"net"}"#, code: 1,
             fragment: "incompatible"),
        Case(name: "missing name", env: addEnv, stdin: #"{"cniVersion":"1.0.0"}"#, code: 7, fragment: "name"),
        Case(name: "bad name", env: addEnv, stdin: #"{"cniVersion":"1.0.0","name":"a b"}"#, code: 7, fragment: "name"),
        Case(name: "capabilities non-bool", env: addEnv,
             stdin: #"{"cniVersion":"1.0.0","name":"n","capabilities":{"portMappings":1}}"#, code: 7,
             fragment: "capabilities.portMappings"),
        Case(name: "CHECK on 0.3.1", env: env(["CNI_COMMAND": "CHECK"]),
             stdin: #"{"cniVersion":"0.3.1","name":"n"}"#, code: 1, fragment: "CHECK"),
        Case(name: "CHECK on 0.3.0", env: env(["CNI_COMMAND": "CHECK"]),
             stdin: #"{"cniVersion":"0.3.0","name":"n"}"#, code: 1, fragment: "CHECK"),
        Case(name: "GC on 1.0.0", env: ["CNI_COMMAND": "GC", "CNI_PATH": "/p"], stdin: conf10, code: 1, fragment: "GC"),
        Case(name: "STATUS on 1.0.0", env: ["CNI_COMMAND": "STATUS"], stdin: conf10, code: 1, fragment: "STATUS"),
        Case(name: "GC on 0.4.0", env: ["CNI_COMMAND": "GC", "CNI_PATH": "/p"],
             stdin: #"{"cniVersion":"0.4.0","name":"n"}"#, code: 1, fragment: "GC"),
        Case(name: "GC without path", env: ["CNI_COMMAND": "GC"], stdin: conf10, code: 4, fragment: "CNI_PATH"),
        Case(name: "DEL without path", env: ["CNI_COMMAND": "DEL", "CNI_CONTAINERID": "c", "CNI_IFNAME": "e"],
             stdin: conf10, code: 4, fragment: "CNI_PATH"),
    ]

    @Test(arguments: cases)
    func errorPaths(_ c: Case) throws {
        let out = PluginMain.dispatch(FakePlugin(), env: c.env, readStdin: { bytes(c.stdin) })
        #expect(out.exitCode == 1)
        #expect(out.stdout.hasSuffix("\n"))
        let json = try JSON.parse(out.stdout)
        #expect(json["code"]?.intValue == Int64(c.code), "\(out.stdout)")
        let text = (json["msg"]?.stringValue ?? "") + " " + (json["details"]?.stringValue ?? "")
        #expect(text.contains(c.fragment), "\(out.stdout)")
        #expect(json["cniVersion"]?.stringValue?.isEmpty == false)
        #expect(json.objectValue?.keys.prefix(3) == ["cniVersion", "code", "msg"])
    }

    @Test func errorCarriesConfigVersion() throws {
        let plugin = FakePlugin(failure: CNIError(.invalidNetworkConfig, "nope"))
        let out = PluginMain.dispatch(plugin, env: Self.addEnv, readStdin: { bytes(#"{"cniVersion":"0.4.0","name":"n"}"#) })
        #expect(try JSON.parse(out.stdout)["cniVersion"] == "0.4.0")
        // Before a config is read, the latest version is used.
        let early = PluginMain.dispatch(plugin, env: [:], readStdin: { [] })
        #expect(try JSON.parse(early.stdout)["cniVersion"] == "1.1.0")
    }

    @Test func stdinReadFailureIsIO() throws {
        let out = PluginMain.dispatch(FakePlugin(), env: Self.addEnv, readStdin: { throw SomeError() })
        #expect(out.exitCode == 1)
        #expect(try JSON.parse(out.stdout)["code"] == 5)
    }

    @Test func verbErrorsMapThroughTheTable() throws {
        let errors: [(any Error, Int64)] = [
            (CNIError(.tryAgainLater, "busy"), 11),
            (CNIError(rawCode: 51, msg: "limited"), 51),
            (CNIError(.pluginNotAvailable, "gone"), 50),
            (CNIError(.unsupportedField, "field"), 2),
            (CNIError(.ioFailure, "io"), 5),
            (CNIError(rawCode: 123, msg: "custom"), 123),
            (SomeError(), 999),
            (JSONParseError(message: "x", line: 1, column: 1), 6),
            (PluginChain.AddFailure(error: CNIError(.invalidNetns, "ns"), partialResult: nil), 8),
        ]
        for cmd in ["ADD", "DEL", "CHECK"] {
            for (error, code) in errors {
                let out = PluginMain.dispatch(FakePlugin(failure: error), env: Self.env(["CNI_COMMAND": cmd]),
                                              readStdin: { bytes(Self.conf10) })
                #expect(out.exitCode == 1)
                #expect(try JSON.parse(out.stdout)["code"]?.intValue == code, "\(cmd) \(error)")
            }
        }
        let out = PluginMain.dispatch(FakePlugin(failure: SomeError()), env: Self.addEnv, readStdin: { bytes(Self.conf10) })
        #expect(try JSON.parse(out.stdout)["msg"] == "something broke")
    }

    @Test(arguments: CNIVersion.all)
    func addPrintsResultInConfigVersion(_ v: CNIVersion) throws {
        let result = CNIResult(cniVersion: .v1_1_0,
                               interfaces: [.init(name: "eth0", mac: "aa:bb:cc:dd:ee:ff", mtu: 1400, sandbox: "/x")],
                               ips: [.init(address: IPNetwork("10.0.0.2/24")!, gateway: IPAddress("10.0.0.1"), interface: 0)])
        let out = PluginMain.dispatch(FakePlugin(result: result), env: Self.addEnv,
                                      readStdin: { bytes(#"{"cniVersion":"\#(v)","name":"n"}"#) })
        #expect(out.exitCode == 0)
        let json = try JSON.parse(out.stdout)
        #expect(json["cniVersion"]?.stringValue == v.description)
        #expect((json["ips"]?.arrayValue?.first?["version"] != nil) == (v < .v1_0_0))
        #expect((json["interfaces"]?.arrayValue?.first?["mtu"] != nil) == (v >= .v1_1_0))
    }

    @Test func successfulVerbsPrintNothing() {
        let cases: [([String: String], String)] = [
            (Self.env(["CNI_COMMAND": "DEL", "CNI_NETNS": nil]), Self.conf10),
            (Self.env(["CNI_COMMAND": "CHECK"]), #"{"cniVersion":"0.4.0","name":"n"}"#),
            (["CNI_COMMAND": "GC", "CNI_PATH": "/p"], #"{"cniVersion":"1.1.0","name":"n"}"#),
            (["CNI_COMMAND": "STATUS"], #"{"cniVersion":"1.1.0","name":"n"}"#),
            (Self.env(["CNI_COMMAND": "DEL"]), #"{"cniVersion":"0.3.0","name":"n"}"#),
        ]
        for (env, conf) in cases {
            let out = PluginMain.dispatch(FakePlugin(), env: env, readStdin: { bytes(conf) })
            #expect(out == PluginOutput(stdout: "", exitCode: 0), "\(env)")
        }
    }

    @Test func version() throws {
        func run(_ stdin: String, plugin: FakePlugin = FakePlugin()) throws -> JSON {
            let out = PluginMain.dispatch(plugin, env: ["CNI_COMMAND": "VERSION"], readStdin: { bytes(stdin) })
            #expect(out.exitCode == 0)
            return try JSON.parse(out.stdout)
        }
        let all: JSON = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
        for v in CNIVersion.all {
            let j = try run(#"{"cniVersion":"\#(v)"}"#)
            #expect(j == ["cniVersion": .string(v.description), "supportedVersions": all])
        }
        for other in ["", "garbage", "{}", #"{"cniVersion":"0.2.0"}"#, #"{"cniVersion":"9.0.0"}"#, #"{"cniVersion":1}"#] {
            #expect(try run(other)["cniVersion"] == "1.1.0", "\(other)")
        }
        let limited = FakePlugin(supportedVersions: [.v0_4_0, .v1_0_0])
        #expect(try run(#"{"cniVersion":"0.3.1"}"#, plugin: limited)
            == ["cniVersion": "1.1.0", "supportedVersions": ["0.4.0", "1.0.0"]])
        #expect(try run(#"{"cniVersion":"0.4.0"}"#, plugin: limited)["cniVersion"] == "0.4.0")
        // VERSION needs no other variable and ignores a failing plugin.
        #expect(try run("", plugin: FakePlugin(failure: SomeError()))["supportedVersions"] == all)
        #expect(PluginVersionInfo().json().objectValue?.keys == ["cniVersion", "supportedVersions"])
    }

    @Test func requestCarriesEnvConfigAndStdin() {
        struct Capture: CNIPlugin {
            let check: @Sendable (CNIRequest) -> Void
            func add(_ r: CNIRequest) throws -> CNIResult { check(r); return CNIResult(cniVersion: r.config.version) }
            func del(_ r: CNIRequest) throws {}
            func check(_ r: CNIRequest) throws {}
            func status(_ r: CNIRequest) throws {}
            func gc(_ r: CNIRequest) throws {}
        }
        let conf = #"{"cniVersion":"1.0.0","name":"net","type":"t","x":1}"#
        let out = PluginMain.dispatch(Capture(check: { r in
            #expect(r.env.containerID == "ctr1")
            #expect(r.config.name == "net")
            #expect(r.config.raw["x"] == 1)
            #expect(r.stdin == bytes(conf))
        }), env: Self.addEnv, readStdin: { bytes(conf) })
        #expect(out.stdout == #"{"cniVersion":"1.0.0"}"# + "\n")
    }
}
