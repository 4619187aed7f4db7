import Testing
@testable import CNI
import JSON

@Suite struct NetConfTests {
    func parse(_ text: String, supported: [CNIVersion] = CNIVersion.all) throws(CNIError) -> NetConf {
        try NetConf.parse(bytes(text), supported: supported)
    }
    func code(_ text: String, supported: [CNIVersion] = CNIVersion.all) -> Int? {
        do { _ = try parse(text, supported: supported); return nil } catch { return error.code }
    }

    @Test func parsesFields() throws {
        let c = try parse(#"""
            {"cniVersion":"1.0.0","name":"net","type":"bridge","capabilities":{"portMappings":true,"ips":false},
             "runtimeConfig":{"portMappings":[{"hostPort":8080}],"ips":["10.0.0.9/24"]},"zzz":{"keep":1},"aaa":2}
            """#)
        #expect(c.version == .v1_0_0)
        #expect(c.name == "net")
        #expect(c.type == "bridge")
        #expect(c.capabilities == ["portMappings": true, "ips": false])
        #expect(c.runtimeValue("portMappings")?.arrayValue?.count == 1)
        #expect(c.runtimeValue("ips") == nil)   // declared false
        #expect(c.runtimeValue("bandwidth") == nil)
        #expect(c.raw.keys == ["cniVersion", "name", "type", "capabilities", "runtimeConfig", "zzz", "aaa"])
        #expect(c.prevResult == nil)
        #expect(c.rawPrevResult == nil)
    }

    @Test(arguments: CNIVersion.all)
    func everySupportedVersion(_ v: CNIVersion) throws {
        #expect(try parse(#"{"cniVersion":"\#(v)","name":"n"}"#).version == v)
    }

    @Test(arguments: ["0.1.0", "0.2.0", "1.2.0", "2.0.0", "1.0", "1", "v1.0.0", "01.0.0", "1.0.0.0", "x", " 1.0.0"])
    func unsupportedVersionIsCode1(_ v: String) {
        #expect(code(#"{"cniVersion":"\#(v)","name":"n"}"#) == 1)
    }

    @Test func missingVersionIsCode1() {
        #expect(code(#"{"name":"n"}"#) == 1)
        #expect(code(#"{"cniVersion":"","name":"n"}"#) == 1)
        #expect(code(#"{"cniVersion":null,"name":"n"}"#) == 1)
        do { _ = try parse(#"{"name":"n"}"#); Issue.record("expected an error") } catch { #expect(error.details.contains("0.1.0")) }
    }

    @Test func pluginSupportedSubset() {
        #expect(code(#"{"cniVersion":"0.3.1","name":"n"}"#, supported: [.v1_0_0, .v1_1_0]) == 1)
        #expect(code(#"{"cniVersion":"1.0.0","name":"n"}"#, supported: [.v1_0_0]) == nil)
    }

    @Test func cniVersionsListHonoured() throws {
        #expect(try parse(#"{"cniVersions":["0.3.1","1.0.0","0.4.0"],"name":"n"}"#).version == .v1_0_0)
        #expect(try parse(#"{"cniVersions":["1.0.0","9.9.9","1.1.0"],"name":"n"}"#).version == .v1_1_0)
        #expect(code(#"{"cniVersions":["1.1.0"],"name":"n"}"#, supported: [.v0_4_0, .v1_0_0]) == 1)
        #expect(try parse(#"{"cniVersions":["1.1.0","0.4.0"],"name":"n"}"#, supported: [.v0_4_0]).version == .v0_4_0)
        // libcni: cniVersion joins the list; the highest supported wins.
        #expect(try parse(#"{"cniVersion":"0.4.0","cniVersions":["1.0.0"],"name":"n"}"#).version == .v1_0_0)
        #expect(try parse(#"{"cniVersion":"1.1.0","cniVersions":["0.4.0"],"name":"n"}"#).version == .v1_1_0)
        #expect(try parse(#"{"cniVersion":"0.2.0","cniVersions":["1.0.0"],"name":"n"}"#).version == .v1_0_0)
        #expect(code(#"{"cniVersions":["0.2.0","5.0.0"],"name":"n"}"#) == 1)
        #expect(code(#"{"cniVersions":[],"name":"n"}"#) == 1)
        #expect(code(#"{"cniVersions":"1.0.0","name":"n"}"#) == 7)
        #expect(code(#"{"cniVersions":[1],"name":"n"}"#) == 7)
    }

    @Test func decodeFailures() {
        #expect(code("") == 6)
        #expect(code("{") == 6)
        #expect(code("not json") == 6)
        #expect(code(#"{"cniVersion":"1.0.0","name":"n"} trailing"#) == 6)
        for nonObject in ["[]", "1", "\"s\"", "null", "true"] { #expect(code(nonObject) == 6, "\(nonObject)") }
        do { _ = try parse("[1]"); Issue.record("expected an error") } catch { #expect(error.msg.contains("array")) }
    }

    @Test func hugeInputRefused() {
        let pad = String(repeating: " ", count: NetConf.maxSize)
        #expect(code(#"{"cniVersion":"1.0.0","name":"n"}"# + pad) == 6)
        // Exactly at the limit is fine.
        let conf = #"{"cniVersion":"1.0.0","name":"n"}"#
        #expect(code(conf + String(repeating: " ", count: NetConf.maxSize - conf.utf8.count)) == nil)
    }

    @Test func nameValidation() {
        #expect(code(#"{"cniVersion":"1.0.0"}"#) == 7)
        #expect(code(#"{"cniVersion":"1.0.0","name":""}"#) == 7)
        #expect(code(#"{"cniVersion":"1.0.0","name":"bad name"}"#) == 7)
        #expect(code(#"{"cniVersion":"1.0.0","name":".x"}"#) == 7)
        #expect(code(#"{"cniVersion":"1.0.0","name":5}"#) == 7)
        do { _ = try parse(#"{"cniVersion":"1.0.0","name":5}"#); Issue.record("expected an error") } catch { #expect(error.msg.contains("name")) }
        do { _ = try parse(#"{"cniVersion":"1.0.0"}"#); Issue.record("expected an error") } catch { #expect(error.msg.contains("name")) }
        #expect((try? NetConf.parse(bytes(#"{"cniVersion":"1.0.0"}"#), requireName: false))?.name == "")
    }

    @Test func wrongTypesAreCode7NamingTheField() {
        let cases: [(String, String)] = [
            (#""capabilities":{"portMappings":"yes"}"#, "capabilities.portMappings"),
            (#""capabilities":{"a":true,"b":1}"#, "capabilities.b"),
            (#""capabilities":[]"#, "capabilities"),
            (#""runtimeConfig":"x""#, "runtimeConfig"),
            (#""type":7"#, "type"),
            (#""cniVersion":1.0"#, "cniVersion"),
        ]
        for (field, name) in cases {
            let text = #"{"cniVersion":"1.0.0","name":"n","# + field + "}"
            do { _ = try parse(text); Issue.record("accepted \(text)") } catch {
                #expect(error.code == 7, "\(text)")
                #expect(error.msg.contains(name), "\(error.msg)")
            }
        }
        #expect(code(#"{"cniVersion":"1.0.0","name":"n","capabilities":null,"runtimeConfig":null}"#) == nil)
    }

    @Test func prevResultParsed() throws {
        let c = try parse(#"""
            {"cniVersion":"0.4.0","name":"n","prevResult":{"cniVersion":"0.4.0",
             "interfaces":[{"name":"eth0","sandbox":"/run/netns/x"}],
             "ips":[{"version":"4","address":"10.0.0.2/24","gateway":"10.0.0.1","interface":0}]}}
            """#)
        #expect(c.prevResult?.ips.first?.address.description == "10.0.0.2/24")
        #expect(c.prevResult?.interfaces.first?.sandbox == "/run/netns/x")
        #expect(c.rawPrevResult?["cniVersion"] == "0.4.0")
        // prevResult without cniVersion takes the config's.
        let d = try parse(#"{"cniVersion":"1.0.0","name":"n","prevResult":{"ips":[{"address":"fd00::2/64"}]}}"#)
        #expect(d.prevResult?.cniVersion == .v1_0_0)
        #expect(code(#"{"cniVersion":"1.0.0","name":"n","prevResult":{"ips":[{"address":"bogus"}]}}"#) == 6)
        #expect(code(#"{"cniVersion":"1.0.0","name":"n","prevResult":[]}"#) == 6)
        #expect(code(#"{"cniVersion":"1.0.0","name":"n","prevResult":null}"#) == nil)
    }

    @Test func validAttachments() throws {
        let c = try parse(#"""
            {"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":[{"containerID":"a","ifname":"eth0"},
             {"containerID":"b","ifname":"eth1"}]}
            """#)
        let list = try c.validAttachments()
        #expect(list.map(\.containerID) == ["a", "b"])
        #expect(list.map(\.ifName) == ["eth0", "eth1"])
        let old = try parse(#"{"cniVersion":"1.1.0","name":"n","cni.dev/attachments":[{"containerID":"c","ifname":"e"}]}"#)
        #expect(try old.validAttachments().map(\.containerID) == ["c"])
        #expect(try parse(#"{"cniVersion":"1.1.0","name":"n"}"#).validAttachments().isEmpty)
        let bad = try parse(#"{"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":[{"containerID":"c"}]}"#)
        #expect(throws: CNIError.self) { try bad.validAttachments() }
        let notArray = try parse(#"{"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":{}}"#)
        do { _ = try notArray.validAttachments(); Issue.record("expected an error") } catch { #expect(error.code == 7) }
    }

    @Test func versions() {
        #expect(CNIVersion("1.0.0") == .v1_0_0)
        #expect(CNIVersion("1.0") == .v1_0_0)
        #expect(CNIVersion("") == nil)
        #expect(CNIVersion("1.a.0") == nil)
        #expect(CNIVersion("1..0") == nil)
        #expect(CNIVersion("+1.0.0") == nil)
        #expect(CNIVersion.all == CNIVersion.all.sorted())
        #expect(CNIVersion.latest == .v1_1_0)
        #expect(CNIVersion.v0_4_0.hasIPVersionField && !CNIVersion.v1_0_0.hasIPVersionField)
        #expect(CNIVersion.v1_1_0.hasV11Fields && !CNIVersion.v1_0_0.hasV11Fields)
        #expect(CNIVersion(0, 10, 0) > CNIVersion(0, 4, 0))
    }

    @Test func errorTable() {
        #expect(CNIErrorCode.allCases.map(\.rawValue) == [1, 2, 3, 4, 5, 6, 7, 8, 11, 50, 51, 999])
        for c in CNIErrorCode.allCases { #expect(!c.summary.isEmpty) }
        let e = CNIError(.invalidNetworkConfig, "bad", details: "why")
        #expect(e.json(version: "1.0.0") == ["cniVersion": "1.0.0", "code": 7, "msg": "bad", "details": "why"])
        #expect(e.json(version: "1.0.0").objectValue?.keys == ["cniVersion", "code", "msg", "details"])
        #expect(CNIError(.internal, "x").json(version: "1.1.0")["details"] == nil)
        #expect(e.description == "bad; why")
        #expect(CNIError(json: ["code": 51, "msg": "m"]) == CNIError(rawCode: 51, msg: "m"))
        #expect(CNIError(json: ["code": 7]) == CNIError(rawCode: 7, msg: ""))
        #expect(CNIError(json: ["cniVersion": "1.0.0"]) == nil)
        #expect(CNIError(json: [1]) == nil)
        #expect(PluginMain.cniError(from: SomeError()).code == 999)
        #expect(PluginMain.cniError(from: e) == e)
        #expect(PluginMain.cniError(from: JSONParseError(message: "m", line: 1, column: 2)).code == 6)
    }
}
