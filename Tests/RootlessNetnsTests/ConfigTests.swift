import CNI
import JSON
import Testing
@testable import RootlessNetns

@Suite struct ConfigTests {
    @Test func defaults() throws {
        let c = try parseConfig()
        #expect(c.backend == nil)
        #expect(c.backendPath == nil)
        #expect(c.mtu == 65520)
        #expect(c.cidr.description == "10.0.2.0/24")
        #expect(c.enableIPv6 == false)
        #expect(c.allowHostLoopback == false)
        #expect(c.stateDir == nil)
        #expect(c.mode == .auto)
        #expect(c.delegateTimeout == 120)
        #expect(c.readyTimeout == 10)
        #expect(c.passEnvironment == false)
        #expect(c.delegates.count == 1)
        #expect(c.delegates[0]["type"] == .string("bridge"))
        #expect(c.gatewayAddress?.description == "10.0.2.2")
        #expect(c.dnsAddress?.description == "10.0.2.3")
        #expect(c.guestAddress?.description == "10.0.2.100")
    }

    /// A config without `type` cannot have come from libcni: refused before anything happens.
    @Test func missingTypeIsRefused() throws {
        let conf = try netConf(#"{"cniVersion":"1.0.0","name":"n","delegates":[{"type":"bridge"}]}"#)
        let e = cniError { _ = try RootlessConfig.parse(conf) }
        #expect(e?.code == 7)
        #expect(e?.msg.contains("type") == true)
    }

    @Test func cliDefaultsMatchParseDefaults() throws {
        let d = RootlessConfig.defaults(stateDir: "/s")
        let p = try parseConfig()
        #expect(d.mtu == p.mtu && d.cidr == p.cidr && d.delegateTimeout == p.delegateTimeout)
        #expect(d.readyTimeout == p.readyTimeout)
        #expect(d.mode == .always)
        #expect(d.stateDir == "/s")
    }

    @Test func emptyStringsMeanDefault() throws {
        let c = try parseConfig(#""backend":"","backendPath":"","cidr":"","stateDir":"","mode":"","#)
        #expect(c.backend == nil && c.backendPath == nil && c.stateDir == nil && c.mode == .auto)
        #expect(c.cidr == RootlessConfig.defaultCIDR)
    }

    @Test func explicitValues() throws {
        let c = try parseConfig("""
            "backend":"pasta","backendPath":"/opt/bin/pasta","mtu":1500,"cidr":"10.1.2.0/24",
            "enableIPv6":true,"allowHostLoopback":true,"stateDir":"/tmp/st/","mode":"always",
            "delegateTimeout":30,"readyTimeout":5,"passEnvironment":true,
            """)
        #expect(c.backend == .pasta)
        #expect(c.backendPath == "/opt/bin/pasta")
        #expect(c.mtu == 1500)
        #expect(c.enableIPv6 && c.allowHostLoopback && c.passEnvironment)
        #expect(c.stateDir == "/tmp/st")
        #expect(c.mode == .always)
        #expect(c.delegateTimeout == 30 && c.readyTimeout == 5)
    }

    @Test func customCIDRAddresses() throws {
        let c = try parseConfig(#""cidr":"10.1.2.0/24","#)
        #expect(c.guestAddress?.description == "10.1.2.100")
        #expect(c.dnsAddress?.description == "10.1.2.3")
        #expect(c.gatewayAddress?.description == "10.1.2.2")
        let wide = try parseConfig(#""cidr":"172.16.0.0/12","#)
        #expect(wide.guestAddress?.description == "172.16.0.100")
        let narrow = try parseConfig(#""cidr":"192.168.5.0/25","#)
        #expect(narrow.guestAddress?.description == "192.168.5.100")
    }

    @Test(arguments: ["slirp4netns", "pasta"])
    func backends(name: String) throws {
        #expect(try parseConfig(#""backend":"\#(name)","#).backend?.rawValue == name)
    }

    @Test(arguments: ["auto", "always", "never"])
    func modes(name: String) throws {
        #expect(try parseConfig(#""mode":"\#(name)","#).mode.rawValue == name)
    }

    @Test(arguments: ["/a", "/a/", "/a/b", "/a/b/", "/a/b///"])
    func stateDirTrailingSlashTrimmed(input: String) throws {
        let c = try parseConfig(#""stateDir":"\#(input)","#)
        let expected = input.hasPrefix("/a/b") ? "/a/b" : "/a"
        #expect(c.stateDir == expected)
    }

    @Test func mtuBounds() throws {
        #expect(try parseConfig(#""mtu":1280,"#).mtu == 1280)
        #expect(try parseConfig(#""mtu":65520,"#).mtu == 65520)
        #expect(try parseConfig(#""mtu":1500.0,"#).mtu == 1500)
    }

    /// Every invalid value: code 7, and the message names the field.
    @Test(arguments: [
        (#""cidr":"banana","#, "cidr"),
        (#""cidr":"10.0.2.0","#, "cidr"),
        (#""cidr":"fd00::/64","#, "cidr"),
        (#""cidr":"10.0.2.1/24","#, "cidr"),
        (#""cidr":"10.0.2.0/26","#, "cidr"),
        (#""cidr":"10.0.0.0/7","#, "cidr"),
        (#""cidr":"10.0.2.0/33","#, "cidr"),
        (#""cidr":24,"#, "cidr"),
        (#""mtu":1279,"#, "mtu"),
        (#""mtu":65521,"#, "mtu"),
        (#""mtu":"x","#, "mtu"),
        (#""mtu":"1500","#, "mtu"),
        (#""mtu":1500.5,"#, "mtu"),
        (#""mtu":-1,"#, "mtu"),
        (#""backend":"vpnkit","#, "backend"),
        (#""backend":true,"#, "backend"),
        (#""backendPath":"bin/slirp4netns","#, "backendPath"),
        (#""stateDir":"relative/dir","#, "stateDir"),
        (#""stateDir":"/a/../b","#, "stateDir"),
        (#""stateDir":"/a/./b","#, "stateDir"),
        (#""stateDir":"/a/..","#, "stateDir"),
        (#""mode":"sometimes","#, "mode"),
        (#""enableIPv6":"yes","#, "enableIPv6"),
        (#""allowHostLoopback":1,"#, "allowHostLoopback"),
        (#""passEnvironment":"true","#, "passEnvironment"),
        (#""delegateTimeout":0,"#, "delegateTimeout"),
        (#""delegateTimeout":3601,"#, "delegateTimeout"),
        (#""readyTimeout":0,"#, "readyTimeout"),
        (#""readyTimeout":301,"#, "readyTimeout"),
    ])
    func invalidValue(fragment: String, field: String) throws {
        let conf = try netConf(pluginJSON(fragment))
        let e = cniError { _ = try RootlessConfig.parse(conf) }
        #expect(e?.code == 7, "\(fragment)")
        #expect(e?.msg.contains(field) == true, "\(e?.msg ?? "no error") should name \(field)")
    }

    @Test(arguments: [
        (nil, "delegates"),
        ("[]", "delegates"),
        (#"{"type":"bridge"}"#, "delegates"),
        ("null", "delegates"),
        (#""bridge""#, "delegates"),
        (#"["bridge"]"#, "delegates[0]"),
        (#"[{"type":"bridge"},7]"#, "delegates[1]"),
        (#"[{"name":"x"}]"#, "delegates[0].type"),
        (#"[{"type":""}]"#, "delegates[0].type"),
        (#"[{"type":5}]"#, "delegates[0].type"),
        (#"[{"type":"/usr/lib/cni/bridge"}]"#, "delegates[0].type"),
        (#"[{"type":"../bridge"}]"#, "delegates[0].type"),
        (#"[{"type":"bridge"},{"type":"rootless-netns"}]"#, "delegates[1].type"),
    ] as [(String?, String)])
    func invalidDelegates(delegates: String?, field: String) throws {
        let json = delegates.map { pluginJSON(delegates: $0) }
            ?? #"{"cniVersion":"1.0.0","name":"rootless","type":"rootless-netns"}"#
        let conf = try netConf(json)
        let e = cniError { _ = try RootlessConfig.parse(conf) }
        #expect(e?.code == 7)
        #expect(e?.msg.contains(field) == true, "\(e?.msg ?? "no error") should name \(field)")
    }

    @Test func delegatesKeptVerbatimInOrder() throws {
        let c = try parseConfig(delegates: #"[{"type":"bridge","bridge":"cni0","ipam":{"type":"host-local"}},{"type":"portmap","capabilities":{"portMappings":true}}]"#)
        #expect(c.delegates.map { $0["type"]?.stringValue } == ["bridge", "portmap"])
        #expect(c.delegates[0]["bridge"] == .string("cni0"))
        #expect(c.delegates[0]["ipam"]?["type"] == .string("host-local"))
        #expect(c.delegates[1]["capabilities"]?["portMappings"] == .bool(true))
    }
}
