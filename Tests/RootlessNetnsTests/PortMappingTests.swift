import JSON
import Testing
@testable import RootlessNetns

@Suite struct PortMappingTests {
    func parse(_ text: String) throws -> [PortMapping] {
        try PortMapping.parseAll(try JSON.parse(Array(text.utf8)))
    }

    @Test func emptyOrAbsent() throws {
        #expect(try PortMapping.parseAll(nil) == [])
        #expect(try PortMapping.parseAll(.null) == [])
        #expect(try parse("[]") == [])
    }

    @Test func valid() throws {
        let m = try parse("""
            [{"hostPort":8080,"containerPort":80,"protocol":"tcp"},
             {"hostPort":5353,"containerPort":53,"protocol":"UDP","hostIP":"127.0.0.1"},
             {"hostPort":1,"containerPort":65535},
             {"hostPort":8080,"containerPort":80,"protocol":"udp"},
             {"hostPort":8081,"containerPort":81,"hostIP":"192.168.1.5"},
             {"hostPort":9000,"containerPort":9000,"hostIP":""}]
            """)
        #expect(m == [
            PortMapping(hostPort: 8080, containerPort: 80, proto: .tcp, hostIP: ""),
            PortMapping(hostPort: 5353, containerPort: 53, proto: .udp, hostIP: "127.0.0.1"),
            PortMapping(hostPort: 1, containerPort: 65535, proto: .tcp, hostIP: ""),
            PortMapping(hostPort: 8080, containerPort: 80, proto: .udp, hostIP: ""),
            PortMapping(hostPort: 8081, containerPort: 81, proto: .tcp, hostIP: "192.168.1.5"),
            PortMapping(hostPort: 9000, containerPort: 9000, proto: .tcp, hostIP: ""),
        ])
    }

    /// The wildcard overlaps every address on the same port and protocol; 0.0.0.0 is the wildcard.
    @Test(arguments: [
        #"[{"hostPort":80,"containerPort":1},{"hostPort":80,"containerPort":2,"hostIP":"127.0.0.1"}]"#,
        #"[{"hostPort":80,"containerPort":1,"hostIP":"0.0.0.0"},{"hostPort":80,"containerPort":2}]"#,
        #"[{"hostPort":80,"containerPort":1,"hostIP":"127.0.0.1"},{"hostPort":80,"containerPort":2,"hostIP":"127.0.0.1"}]"#,
    ])
    func overlappingHostPortsAreRefused(_ text: String) {
        #expect(throws: RootlessError.self) { try parse(text) }
    }

    @Test func nonStringProtocolIsRefused() {
        #expect(throws: RootlessError.self) { try parse(#"[{"hostPort":80,"containerPort":1,"protocol":6}]"#) }
    }

    @Test(arguments: [
        (#"{"a":1}"#, "array"),
        (#"[{"hostPort":0,"containerPort":80}]"#, "[0].hostPort"),
        (#"[{"hostPort":65536,"containerPort":80}]"#, "[0].hostPort"),
        (#"[{"hostPort":80,"containerPort":0}]"#, "[0].containerPort"),
        (#"[{"hostPort":80,"containerPort":70000}]"#, "[0].containerPort"),
        (#"[{"hostPort":"80","containerPort":80}]"#, "[0].hostPort"),
        (#"[{"containerPort":80}]"#, "[0].hostPort"),
        (#"[{"hostPort":80}]"#, "[0].containerPort"),
        (#"[{"hostPort":80,"containerPort":80},{"hostPort":81,"containerPort":80,"protocol":"sctp"}]"#, "[1].protocol"),
        (#"[{"hostPort":80,"containerPort":80,"hostIP":"::1"}]"#, "[0].hostIP"),
        (#"[{"hostPort":80,"containerPort":80,"hostIP":"2001:db8::1"}]"#, "[0].hostIP"),
        (#"[{"hostPort":80,"containerPort":80,"hostIP":"localhost"}]"#, "[0].hostIP"),
        (#"[{"hostPort":80,"containerPort":80},{"hostPort":80,"containerPort":81}]"#, "[1]"),
        (#"[{"hostPort":80,"containerPort":80,"protocol":"udp"},{"hostPort":80,"containerPort":81,"protocol":"UDP"}]"#, "[1]"),
        (#"[7]"#, "[0]"),
    ])
    func invalid(text: String, mention: String) throws {
        let json = try JSON.parse(Array(text.utf8))
        let e = cniError { _ = try PortMapping.parseAll(json) }
        #expect(e?.code == 7, "\(text)")
        #expect(e?.msg.contains("portMappings") == true)
        #expect(e?.msg.contains(mention) == true, "\(e?.msg ?? "no error") should mention \(mention)")
    }

    @Test func hostForwardRoundTrip() {
        let f = HostForward(id: 12, proto: "udp", hostAddr: "127.0.0.1", hostPort: 5353)
        #expect(HostForward(json: f.json()) == f)
        #expect(HostForward(json: ["proto": "tcp"]) == nil)
        #expect(HostForward(json: ["id": 1]) == HostForward(id: 1, proto: "", hostAddr: "", hostPort: 0))
    }
}
