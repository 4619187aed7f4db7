import Testing
@testable import CNI
import JSON

/// Keys read as Go's encoding/json reads them. Every expectation below was checked against
/// go 1.19's json.Unmarshal (Debian 12) into a struct with `json:"hostPort"`-style tags.
@Suite struct GoKeysTests {
    func obj(_ text: String) -> JSONObject { (try? JSON.parse(Array(text.utf8)))?.objectValue ?? [:] }

    @Test(arguments: [
        ("hostPort", "hostPort", true), ("HostPort", "hostPort", true), ("HOSTPORT", "hostPort", true),
        ("hostport", "hostPort", true), ("ho\u{17F}tPort", "hostPort", true),   // long s folds onto s
        ("\u{212A}ey", "key", true),                                              // Kelvin sign onto k
        ("host_port", "hostPort", false), ("hostPorts", "hostPort", false), ("hostPor", "hostPort", false),
        ("host\u{131}p", "hostIP", false), ("host\u{130}p", "hostIP", false),    // dotless/dotted i: no
        ("ip_s", "ip-s", false), ("IP-S", "ip-s", true),                          // non-letters exact
    ])
    func folding(_ key: String, _ field: String, _ expected: Bool) {
        #expect(GoKeys.folds(key, onto: field) == expected)
    }

    /// Every key landing on the field overwrites it: the last one in the document wins.
    @Test func lastMatchingKeyWins() {
        #expect(obj(#"{"hostPort":1,"HostPort":2}"#).goField("hostPort") == 2)
        #expect(obj(#"{"HostPort":2,"hostPort":1}"#).goField("hostPort") == 1)
        #expect(obj(#"{"PROTOCOL":"b"}"#).goField("protocol") == "b")
        #expect(obj(#"{"host_port":1}"#).goField("hostPort") == nil)
        // A key equal to another field's name goes to that field, not to a fold-equal one.
        #expect(obj(#"{"a":1,"A":2}"#).goField("a", among: ["a", "A"]) == 1)
    }

    @Test func canonicalizingKeepsOrderAndOtherKeys() {
        let o = obj(#"{"x":0,"HostPort":8080,"ContainerPort":80,"hostPort":9,"Protocol":"tcp","HostIP":"127.0.0.1"}"#)
        let c = o.canonicalizingGoKeys(CapabilityArgs.portMappingFields)
        #expect(c.keys == ["x", "hostPort", "containerPort", "protocol", "hostIP"])
        #expect(c["hostPort"] == 9 && c["containerPort"] == 80 && c["protocol"] == "tcp" && c["hostIP"] == "127.0.0.1")
    }

    /// runtimeConfig exactly as libcni 1.1 renders go-cni 1.1.7's capability structs.
    @Test func goCNICapabilityArgsBecomeCanonical() throws {
        let rc = obj(#"{"bandwidth":{"IngressRate":1,"IngressBurst":2,"EgressRate":3,"EgressBurst":4},"dns":{"Servers":["10.0.0.1"],"Searches":["x"],"Options":["ndots:5"]},"ipRanges":[{"Subnet":"10.1.0.0/24","RangeStart":"10.1.0.10","RangeEnd":"10.1.0.20","Gateway":"10.1.0.1"}],"portMappings":[{"HostPort":8080,"ContainerPort":80,"Protocol":"tcp","HostIP":"127.0.0.1"}],"ips":["10.1.0.5/24"],"mac":"aa:bb:cc:dd:ee:ff"}"#)
        let c = JSON.object(CapabilityArgs.canonical(rc)).encoded()
        #expect(c == #"{"bandwidth":{"ingressRate":1,"ingressBurst":2,"egressRate":3,"egressBurst":4},"dns":{"servers":["10.0.0.1"],"searches":["x"],"options":["ndots:5"]},"ipRanges":[{"subnet":"10.1.0.0/24","rangeStart":"10.1.0.10","rangeEnd":"10.1.0.20","gateway":"10.1.0.1"}],"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp","hostIP":"127.0.0.1"}],"ips":["10.1.0.5/24"],"mac":"aa:bb:cc:dd:ee:ff"}"#)
        // The conventional nesting of ipRanges (a list of range sets) too; capability names fold.
        let nested = CapabilityArgs.canonical(["IPRanges": [[["Subnet": "10.2.0.0/24"]]]])
        #expect(nested == ["ipRanges": [[["subnet": "10.2.0.0/24"]]]])
    }

    /// What a delegate receives: declared capabilities with canonical entry keys.
    @Test func renderPassesCanonicalCapabilityArgs() {
        let chain = PluginChain(name: "n", version: .v1_0_0, plugins: [
            obj(#"{"Type":"portmap","CNIVersion":"0.4.0","Capabilities":{"portMappings":true}}"#)])
        let caps = obj(#"{"portMappings":[{"HostPort":8080,"ContainerPort":80,"Protocol":"tcp","HostIP":"127.0.0.1"}]}"#)
        let conf = chain.render(0, prevResult: nil, capabilityArgs: caps)
        #expect(JSON.object(conf).encoded()
            == #"{"type":"portmap","cniVersion":"1.0.0","capabilities":{"portMappings":true},"name":"n","runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp","hostIP":"127.0.0.1"}]}}"#)
    }

    /// skel reads the standard keys with Go's rule too.
    @Test func netConfReadsGoCasedStandardKeys() throws {
        let c = try NetConf.parse(Array(#"{"CNIVersion":"1.0.0","Name":"n","TYPE":"x","Capabilities":{"portMappings":true},"RuntimeConfig":{"PortMappings":[]}}"#.utf8))
        #expect(c.version == .v1_0_0 && c.name == "n" && c.type == "x")
        #expect(c.runtimeValue("portMappings") == [])
    }
}
