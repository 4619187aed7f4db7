import Testing
@testable import CNI
import IP
import JSON

@Suite struct ChainTests {
    static let env = CNIEnvironment(command: .add, containerID: "c1", netns: "/run/netns/x", ifName: "eth0",
                                    path: ["/bin"])
    static let files: Set<String> = ["/bin/bridge", "/bin/portmap", "/bin/firewall"]

    static func chain(_ v: CNIVersion) -> PluginChain {
        PluginChain(name: "podman", version: v, plugins: [
            obj(#"{"type":"bridge","bridge":"cni0","zeta":1,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.88.0.0/16"}]]},"alpha":[true]}"#),
            obj(#"{"type":"portmap","capabilities":{"portMappings":true,"ips":false},"runtimeConfig":{"stale":1}}"#),
            obj(#"{"cniVersion":"0.1.0","name":"other","type":"firewall","capabilities":{"bandwidth":true}}"#),
        ])
    }
    static let caps: JSONObject = ["portMappings": [["hostPort": 8080, "containerPort": 80, "protocol": "tcp"]],
                                   "ips": ["10.88.0.9/16"], "mac": "aa:bb:cc:dd:ee:ff"]
    static let prev = CNIResult(cniVersion: .v1_1_0,
                                interfaces: [.init(name: "eth0", mtu: 1400, sandbox: "/run/netns/x")],
                                ips: [.init(address: IPNetwork("10.88.0.2/16")!, interface: 0)],
                                routes: [.init(dst: IPNetwork("0.0.0.0/0")!, table: 5)])

    func invoker(_ ex: FakeExecutor) -> DelegateInvoker { DelegateInvoker(executor: ex, searchPath: ["/bin"]) }

    @Test(arguments: CNIVersion.all)
    func render(_ v: CNIVersion) throws {
        let c = Self.chain(v)
        let first = c.render(0, prevResult: nil, capabilityArgs: Self.caps)
        // Unknown keys kept in order; name/cniVersion injected after them.
        #expect(first.keys == ["type", "bridge", "zeta", "ipam", "alpha", "cniVersion", "name"])
        #expect(first["ipam"] == c.plugins[0]["ipam"])
        #expect(first["cniVersion"]?.stringValue == v.description)
        #expect(first["name"] == "podman")
        #expect(first["runtimeConfig"] == nil && first["prevResult"] == nil)

        let second = c.render(1, prevResult: Self.prev, capabilityArgs: Self.caps)
        // Only declared-true capabilities; an existing runtimeConfig is replaced.
        #expect(second["runtimeConfig"] == ["portMappings": Self.caps["portMappings"]!])
        let prev = try #require(second["prevResult"])
        #expect(prev["cniVersion"]?.stringValue == v.description)
        #expect((prev["ips"]?.arrayValue?.first?["version"] != nil) == (v < .v1_0_0))
        #expect((prev["interfaces"]?.arrayValue?.first?["mtu"] != nil) == (v >= .v1_1_0))
        #expect((prev["routes"]?.arrayValue?.first?["table"] != nil) == (v >= .v1_1_0))

        let third = c.render(2, prevResult: nil, capabilityArgs: Self.caps)
        // Existing name/cniVersion overwritten in place; declared capability with no argument: no runtimeConfig.
        #expect(third.keys == ["cniVersion", "name", "type", "capabilities"])
        #expect(third["name"] == "podman" && third["cniVersion"]?.stringValue == v.description)
        #expect(c.render(2, prevResult: nil, capabilityArgs: ["bandwidth": ["ingressRate": 1]])["runtimeConfig"]
            == ["bandwidth": ["ingressRate": 1]])
        #expect(c.render(0, prevResult: nil, capabilityArgs: [:], extra: ["x": 1])["x"] == 1)
    }

    @Test func renderedConfigEncodesUnknownKeysInOrder() {
        let rendered = JSON.object(Self.chain(.v1_0_0).render(0, prevResult: nil, capabilityArgs: [:])).encoded()
        #expect(rendered == #"{"type":"bridge","bridge":"cni0","zeta":1,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.88.0.0/16"}]]},"alpha":[true],"cniVersion":"1.0.0","name":"podman"}"#)
    }

    func executor() -> FakeExecutor {
        let ex = FakeExecutor(files: Self.files)
        ex.succeed("bridge", stdout: #"{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/x"}],"ips":[{"address":"10.88.0.2/16","interface":0}]}"#)
        ex.succeed("portmap", stdout: #"{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/x"}],"ips":[{"address":"10.88.0.2/16","interface":0}],"dns":{"nameservers":["1.1.1.1"]}}"#)
        ex.succeed("firewall", stdout: #"{"interfaces":[{"name":"eth0","sandbox":"/run/netns/x"}],"ips":[{"address":"10.88.0.2/16","interface":0}],"dns":{"nameservers":["1.1.1.1"]}}"#)
        return ex
    }

    @Test func addThreadsPrevResult() throws {
        let ex = executor()
        let r = try Self.chain(.v1_0_0).add(invoker(ex), env: Self.env, capabilityArgs: Self.caps)
        #expect(ex.calls.map(\.path) == ["/bin/bridge", "/bin/portmap", "/bin/firewall"])
        #expect(ex.calls.allSatisfy { $0.env["CNI_COMMAND"] == "ADD" })
        #expect(ex.calls[0].stdin["prevResult"] == nil)
        #expect(ex.calls[1].stdin["prevResult"]?["ips"]?.arrayValue?.first?["address"] == "10.88.0.2/16")
        #expect(ex.calls[1].stdin["prevResult"]?["dns"] == nil)
        #expect(ex.calls[2].stdin["prevResult"]?["dns"] == ["nameservers": ["1.1.1.1"]])
        #expect(ex.calls[1].stdin["runtimeConfig"]?["portMappings"] != nil)
        #expect(r.dns.nameservers == ["1.1.1.1"])
        #expect(r.cniVersion == .v1_0_0)   // filled from the config for the last plugin
    }

    @Test func addStopsAtFirstFailureWithPartialResult() {
        let ex = executor()
        ex.fail("portmap", stdout: #"{"code":11,"msg":"busy"}"#)
        do {
            _ = try Self.chain(.v1_0_0).add(invoker(ex), env: Self.env, capabilityArgs: [:])
            Issue.record("expected failure")
        } catch {
            #expect(error.error.code == 11)
            #expect(error.partialResult?.ips.first?.address.description == "10.88.0.2/16")
            #expect(error.cniError.code == 11)
        }
        #expect(ex.calls.count == 2)
        do { _ = try PluginChain(name: "n", version: .v1_0_0, plugins: []).add(invoker(ex), env: Self.env, capabilityArgs: [:]); Issue.record("expected an error") }
        catch { #expect(error.error.code == 7) }
    }

    @Test(arguments: CNIVersion.all)
    func delReverseOrder(_ v: CNIVersion) {
        let ex = executor()
        #expect(throws: Never.self) {
            try Self.chain(v).del(invoker(ex), env: Self.env, prevResult: Self.prev, capabilityArgs: Self.caps)
        }
        #expect(ex.calls.map(\.path) == ["/bin/firewall", "/bin/portmap", "/bin/bridge"])
        #expect(ex.calls.allSatisfy { $0.env["CNI_COMMAND"] == "DEL" })
        for call in ex.calls {
            let prev = call.stdin["prevResult"]
            #expect((prev != nil) == (v >= .v0_4_0))
            if let prev { #expect(prev["cniVersion"]?.stringValue == v.description) }
        }
        #expect(ex.calls[1].stdin["runtimeConfig"]?["portMappings"] != nil)
    }

    @Test func delKeepsGoingAfterFailure() {
        let ex = executor()
        ex.fail("firewall", stdout: #"{"code":7,"msg":"first"}"#)
        ex.fail("bridge", stdout: #"{"code":5,"msg":"second"}"#)
        do {
            try Self.chain(.v1_0_0).del(invoker(ex), env: Self.env, prevResult: nil, capabilityArgs: [:])
            Issue.record("expected failure")
        } catch {
            #expect(error.code == 7 && error.msg == "first")
        }
        #expect(ex.calls.count == 3)
    }

    @Test func check() throws {
        let ex = executor()
        try Self.chain(.v1_0_0).check(invoker(ex), env: Self.env, prevResult: Self.prev, capabilityArgs: [:])
        #expect(ex.calls.map(\.path) == ["/bin/bridge", "/bin/portmap", "/bin/firewall"])
        #expect(ex.calls.allSatisfy { $0.stdin["prevResult"] != nil && $0.env["CNI_COMMAND"] == "CHECK" })
        // CHECK stops at the first failure.
        let failing = executor()
        failing.fail("bridge", stdout: #"{"code":3,"msg":"gone"}"#)
        #expect(throws: CNIError(rawCode: 3, msg: "gone")) {
            try Self.chain(.v1_0_0).check(invoker(failing), env: Self.env, prevResult: Self.prev, capabilityArgs: [:])
        }
        #expect(failing.calls.count == 1)
        // Before 0.4.0 there is no CHECK.
        let old = executor()
        do { try Self.chain(.v0_3_1).check(invoker(old), env: Self.env, prevResult: Self.prev, capabilityArgs: [:]); Issue.record("expected an error") }
        catch { #expect(error.code == 1) }
        #expect(old.calls.isEmpty)
    }

    @Test func statusAndGC() throws {
        let ex = executor()
        let gcEnv = CNIEnvironment(command: .gc, path: ["/bin"])
        try Self.chain(.v1_1_0).gc(invoker(ex), env: gcEnv,
                                   validAttachments: [("c1", "eth0"), ("c2", "eth1")])
        #expect(ex.calls.count == 3)
        for call in ex.calls {
            #expect(call.env == ["CNI_COMMAND": "GC", "CNI_PATH": "/bin"])
            #expect(call.stdin["cni.dev/valid-attachments"]
                == [["containerID": "c1", "ifname": "eth0"], ["containerID": "c2", "ifname": "eth1"]])
            #expect(call.stdin["runtimeConfig"] == nil || call.stdin["type"] == "portmap")
            #expect(call.stdin["prevResult"] == nil)
            #expect(call.stdin["cniVersion"] == "1.1.0")
        }
        // GC keeps going; first error wins.
        let failing = executor()
        failing.fail("bridge", stdout: #"{"code":11,"msg":"later"}"#)
        failing.fail("firewall", stdout: #"{"code":5,"msg":"io"}"#)
        #expect(throws: CNIError(rawCode: 11, msg: "later")) {
            try Self.chain(.v1_1_0).gc(invoker(failing), env: gcEnv, validAttachments: [])
        }
        #expect(failing.calls.count == 3)

        let st = executor()
        try Self.chain(.v1_1_0).status(invoker(st), env: CNIEnvironment(command: .status, path: ["/bin"]))
        #expect(st.calls.map { $0.env["CNI_COMMAND"] } == ["STATUS", "STATUS", "STATUS"])
        st.fail("bridge", stdout: #"{"code":50,"msg":"down"}"#)
        #expect(throws: CNIError(rawCode: 50, msg: "down")) {
            try Self.chain(.v1_1_0).status(invoker(st), env: CNIEnvironment(command: .status, path: ["/bin"]))
        }
        // Older chains: nothing to do.
        let old = executor()
        try Self.chain(.v1_0_0).gc(invoker(old), env: gcEnv, validAttachments: [])
        try Self.chain(.v1_0_0).status(invoker(old), env: gcEnv)
        #expect(old.calls.isEmpty)
    }
}
