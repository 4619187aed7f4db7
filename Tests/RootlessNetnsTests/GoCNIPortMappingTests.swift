import CNI
import JSON
import Testing
@testable import RootlessNetns

/// containerd/nerdctl port mappings: go-cni 1.1.7 sends its PortMapping struct without json
/// tags. The stdin below is byte for byte what libcni 1.1 renders for
/// `WithCapabilityPortMap([]PortMapping{{8080, 80, "tcp", "127.0.0.1"}})`.
@Suite struct GoCNIPortMappingTests {
    static let stdin = #"{"capabilities":{"portMappings":true},"cniVersion":"1.0.0","delegates":[{"type":"bridge"},{"type":"portmap","capabilities":{"portMappings":true}}],"name":"gocni","runtimeConfig":{"portMappings":[{"HostPort":8080,"ContainerPort":80,"Protocol":"tcp","HostIP":"127.0.0.1"}]},"type":"rootless-netns"}"#

    @Test func goCNIBytesAreAccepted() throws {
        let conf = try NetConf.parse(Array(Self.stdin.utf8))
        let mappings = try PortMapping.parseAll(conf.runtimeValue("portMappings"))
        #expect(mappings == [PortMapping(hostPort: 8080, containerPort: 80, proto: .tcp, hostIP: "127.0.0.1")])
    }

    @Test func delegatesGetCanonicalKeys() throws {
        let conf = try NetConf.parse(Array(Self.stdin.utf8))
        let rc = PortMapping.delegateRuntimeConfig(conf.runtimeConfig, guestAddress: "10.0.2.100")
        #expect(JSON.object(rc).encoded()
            == #"{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp","hostIP":"10.0.2.100"}]}"#)
        let wildcard = PortMapping.delegateRuntimeConfig(conf.runtimeConfig, guestAddress: "")
        #expect(JSON.object(wildcard).encoded() == #"{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}"#)
    }

    /// Go's folding, not just lowercase: the last key landing on a field wins; `host_port` is no key of ours.
    @Test func goRuleForEntries() throws {
        let m = try PortMapping.parseAll(try JSON.parse(Array(#"[{"HOSTPORT":1,"hostPort":2,"containerport":3,"PROTOCOL":"UDP"}]"#.utf8)))
        #expect(m == [PortMapping(hostPort: 2, containerPort: 3, proto: .udp, hostIP: "")])
        #expect(throws: RootlessError.self) {
            try PortMapping.parseAll(try JSON.parse(Array(#"[{"host_port":1,"containerPort":3}]"#.utf8)))
        }
    }

    @Test func delegateTypeInGoCase() throws {
        let conf = try NetConf.parse(Array(#"{"cniVersion":"1.0.0","name":"n","type":"rootless-netns","delegates":[{"Type":"bridge"}]}"#.utf8))
        #expect(try RootlessConfig.parse(conf).delegates.first?["type"] == "bridge")
    }
}
