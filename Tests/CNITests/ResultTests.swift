import Testing
@testable import CNI
import IP
import JSON

@Suite struct ResultTests {
    /// A result using every field, including the 1.1.0-only ones.
    static let full = CNIResult(
        cniVersion: .v1_1_0,
        interfaces: [
            .init(name: "cni0", mac: "0a:58:0a:58:00:01", mtu: 1500),
            .init(name: "eth0", mac: "0a:58:0a:58:00:02", mtu: 1400, sandbox: "/run/netns/x",
                  socketPath: "/run/vhost.sock", pciID: "0000:00:1f.6"),
        ],
        ips: [
            .init(address: IPNetwork("10.88.0.2/16")!, gateway: IPAddress("10.88.0.1"), interface: 1),
            .init(address: IPNetwork("fd00::2/64")!, gateway: IPAddress("fd00::1"), interface: 1),
            .init(address: IPNetwork("192.168.1.5/24")!),
        ],
        routes: [
            .init(dst: IPNetwork("0.0.0.0/0")!, gw: IPAddress("10.88.0.1"), mtu: 1300, advmss: 1260,
                  priority: 100, table: 200, scope: 0),
            .init(dst: IPNetwork("::/0")!),
        ],
        dns: .init(nameservers: ["10.88.0.1", "fd00::1"], domain: "example.org", search: ["a.example"],
                   options: ["ndots:2"]))

    static let v11Interface = ["mtu", "socketPath", "pciID"]
    static let v11Route = ["mtu", "advmss", "priority", "table", "scope"]

    @Test(arguments: CNIVersion.all)
    func renderedFieldsPerVersion(_ v: CNIVersion) throws {
        let j = Self.full.json(version: v)
        #expect(j["cniVersion"]?.stringValue == v.description)
        let ips = try #require(j["ips"]?.arrayValue)
        #expect(ips.map { $0["version"]?.stringValue } == (v < .v1_0_0 ? ["4", "6", "4"] : [nil, nil, nil]))
        #expect(ips[0]["address"] == "10.88.0.2/16")
        #expect(ips[0]["gateway"] == "10.88.0.1")
        #expect(ips[0]["interface"] == 1)
        #expect(ips[2]["interface"] == nil && ips[2]["gateway"] == nil)
        let eth0 = try #require(j["interfaces"]?.arrayValue?.last)
        #expect(eth0["sandbox"] == "/run/netns/x")
        #expect(eth0["mac"] == "0a:58:0a:58:00:02")
        for k in Self.v11Interface { #expect((eth0[k] != nil) == (v >= .v1_1_0), "\(v) \(k)") }
        let route = try #require(j["routes"]?.arrayValue?.first)
        #expect(route["dst"] == "0.0.0.0/0" && route["gw"] == "10.88.0.1")
        for k in Self.v11Route { #expect((route[k] != nil) == (v >= .v1_1_0), "\(v) \(k)") }
        #expect(j["routes"]?.arrayValue?.last == ["dst": "::/0"])
        #expect(j["dns"] == ["nameservers": ["10.88.0.1", "fd00::1"], "domain": "example.org",
                             "search": ["a.example"], "options": ["ndots:2"]])
        #expect(j.objectValue?.keys == ["cniVersion", "interfaces", "ips", "routes", "dns"])
    }

    static let pairs: [(CNIVersion, CNIVersion)] = CNIVersion.all.flatMap { a in CNIVersion.all.map { (a, $0) } }

    /// Every version to every other through JSON, as a chain or cache does it.
    @Test(arguments: pairs)
    func conversion(_ from: CNIVersion, _ to: CNIVersion) throws {
        let source = Self.full.converted(to: from)
        let text = source.json(version: from).encoded()
        let parsed = try CNIResult.parse(try JSON.parse(text))
        #expect(parsed.cniVersion == from)
        #expect(parsed == source)
        let converted = parsed.converted(to: to)
        #expect(converted.cniVersion == to)
        let out = try CNIResult.parse(converted.json(version: to))
        #expect(out.cniVersion == to)
        // What every version carries survives.
        #expect(out.ips == Self.full.ips)
        #expect(out.dns == Self.full.dns)
        #expect(out.interfaces.map(\.name) == ["cni0", "eth0"])
        #expect(out.interfaces.map(\.sandbox) == [nil, "/run/netns/x"])
        #expect(out.routes.map(\.dst) == Self.full.routes.map(\.dst))
        #expect(out.routes.map(\.gw) == Self.full.routes.map(\.gw))
        // 1.1.0 fields only when both ends know them.
        let keeps = from >= .v1_1_0 && to >= .v1_1_0
        #expect(out.interfaces[1].mtu == (keeps ? 1400 : nil))
        #expect(out.interfaces[1].pciID == (keeps ? "0000:00:1f.6" : nil))
        #expect(out.interfaces[1].socketPath == (keeps ? "/run/vhost.sock" : nil))
        #expect(out.routes[0].advmss == (keeps ? 1260 : nil))
        #expect(out.routes[0].table == (keeps ? 200 : nil))
        #expect(out.routes[0].scope == (keeps ? 0 : nil))
        #expect(out.routes[0].priority == (keeps ? 100 : nil))
        #expect(out.routes[0].mtu == (keeps ? 1300 : nil))
        if keeps { #expect(out == Self.full) }
    }

    @Test func downAndUpLoses11Fields() {
        let back = Self.full.converted(to: .v1_0_0).converted(to: .v1_1_0)
        #expect(back.interfaces[1].mtu == nil && back.routes[0].table == nil)
        #expect(Self.full.converted(to: .v1_1_0) == Self.full)
    }

    @Test func parsesReferenceShapedResults() throws {
        let v040 = #"""
            {"cniVersion":"0.4.0","interfaces":[{"name":"cni0","mac":"aa:bb:cc:dd:ee:ff"},
            {"name":"veth1","mac":"11:22:33:44:55:66"},{"name":"eth0","mac":"12:34:56:78:9a:bc","sandbox":"/var/run/netns/x"}],
            "ips":[{"version":"4","interface":2,"address":"10.1.0.5/16","gateway":"10.1.0.1"}],
            "routes":[{"dst":"0.0.0.0/0"}],"dns":{}}
            """#
        let r = try CNIResult.parse(try JSON.parse(v040))
        #expect(r.cniVersion == .v0_4_0)
        #expect(r.ips.first?.interface == 2)
        #expect(r.dns.isEmpty)
        #expect(r.json(version: .v1_0_0)["dns"] == nil)
        #expect(r.json(version: .v1_0_0)["ips"]?.arrayValue?.first
            == ["interface": 2, "address": "10.1.0.5/16", "gateway": "10.1.0.1"])
        let v100 = #"{"cniVersion":"1.0.0","ips":[{"address":"fd00::2/64","gateway":""}],"routes":[{"dst":"::/0","gw":"fd00::1"}]}"#
        let s = try CNIResult.parse(try JSON.parse(v100))
        #expect(s.ips.first?.gateway == nil)
        #expect(s.routes.first?.gw?.description == "fd00::1")
        #expect(s.json(version: .v0_3_1)["ips"]?.arrayValue?.first?["version"] == "6")
        #expect(CNIResult(cniVersion: .v1_0_0).json(version: .v1_0_0) == ["cniVersion": "1.0.0"])
        // Integral numbers written as reals are accepted.
        let t = try CNIResult.parse(try JSON.parse(#"{"cniVersion":"1.1.0","interfaces":[{"name":"e","mtu":1.5e3}]}"#))
        #expect(t.interfaces.first?.mtu == 1500)
    }

    @Test func missingVersionUsesFallback() throws {
        let j: JSON = ["ips": [["address": "10.0.0.2/24"]]]
        #expect(try CNIResult.parse(j, fallbackVersion: .v0_4_0).cniVersion == .v0_4_0)
        #expect(try CNIResult.parse(["cniVersion": "", "ips": []], fallbackVersion: .v1_0_0).cniVersion == .v1_0_0)
        #expect(try CNIResult.parse(["cniVersion": nil], fallbackVersion: .v1_0_0).cniVersion == .v1_0_0)
        #expect(throws: CNIError.self) { try CNIResult.parse(j) }
    }

    @Test(arguments: [
        (#"[]"#, 6), (#"{"cniVersion":1}"#, 6), (#"{"cniVersion":"0.2.0"}"#, 1), (#"{"cniVersion":"2.0.0"}"#, 1),
        (#"{"cniVersion":"1.0.0","ips":{}}"#, 6),
        (#"{"cniVersion":"1.0.0","ips":[{}]}"#, 6),
        (#"{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1"}]}"#, 6),
        (#"{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24","gateway":"x"}]}"#, 6),
        (#"{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24","interface":-1}]}"#, 6),
        (#"{"cniVersion":"1.0.0","interfaces":[{"name":"a"}],"ips":[{"address":"10.0.0.1/24","interface":1}]}"#, 6),
        (#"{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24","interface":"0"}]}"#, 6),
        (#"{"cniVersion":"0.4.0","ips":[{"version":"6","address":"10.0.0.1/24"}]}"#, 6),
        (#"{"cniVersion":"1.0.0","routes":[{"gw":"10.0.0.1"}]}"#, 6),
        (#"{"cniVersion":"1.0.0","routes":[{"dst":"0.0.0.0/0","gw":"nope"}]}"#, 6),
        (#"{"cniVersion":"1.1.0","routes":[{"dst":"0.0.0.0/0","mtu":"1500"}]}"#, 6),
        (#"{"cniVersion":"1.1.0","routes":[{"dst":"0.0.0.0/0","table":1e20}]}"#, 6),
        (#"{"cniVersion":"1.0.0","interfaces":[{"name":1}]}"#, 6),
        (#"{"cniVersion":"1.0.0","interfaces":{}}"#, 6),
        (#"{"cniVersion":"1.0.0","dns":{"nameservers":"10.0.0.1"}}"#, 6),
        (#"{"cniVersion":"1.0.0","dns":{"search":[1]}}"#, 6),
    ])
    func invalidResults(_ text: String, _ code: Int) throws {
        let json = try JSON.parse(text)
        do { _ = try CNIResult.parse(json); Issue.record("accepted \(text)") } catch { #expect(error.code == code, "\(text): \(error)") }
    }
}
