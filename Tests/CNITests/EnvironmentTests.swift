import Testing
@testable import CNI

@Suite struct EnvironmentTests {
    static let base = ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "abc", "CNI_NETNS": "/run/netns/x",
                       "CNI_IFNAME": "eth0", "CNI_PATH": "/opt/cni/bin:/usr/lib/cni"]

    func env(_ changes: [String: String?]) -> [String: String] {
        var e = Self.base
        for (k, v) in changes { e[k] = v }
        return e
    }

    func code(_ e: [String: String]) -> Int? {
        do { _ = try CNIEnvironment.parse(e); return nil } catch { return error.code }
    }

    @Test func parsesFullAddEnvironment() throws {
        let e = try CNIEnvironment.parse(env(["CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAME=p"]))
        #expect(e.command == .add)
        #expect(e.containerID == "abc")
        #expect(e.netns == "/run/netns/x")
        #expect(e.ifName == "eth0")
        #expect(e.path == ["/opt/cni/bin", "/usr/lib/cni"])
        #expect(e.args.map(\.key) == ["IgnoreUnknown", "K8S_POD_NAME"])
        #expect(e.args.map(\.value) == ["1", "p"])
        #expect(e.rawArgs == "IgnoreUnknown=1;K8S_POD_NAME=p")
    }

    @Test(arguments: [
        ("abc", true), ("a", true), ("0", true), ("A.b-c_d", true), ("a..b", true), ("a-", true),
        (String(repeating: "f", count: 64), true),
        ("../x", false), (".x", false), ("-x", false), ("_x", false), ("a/b", false), ("a b", false),
        ("a:b", false), ("é", false), ("abcé", false), ("a\u{0}b", false), ("a\n", false), ("日本", false),
    ])
    func containerID(_ id: String, _ ok: Bool) {
        #expect(code(env(["CNI_CONTAINERID": id])) == (ok ? nil : 4))
    }

    @Test func emptyContainerIDIsUnknownContainer() throws {
        for cmd in ["ADD", "CHECK", "DEL"] {
            var e = env(["CNI_COMMAND": cmd, "CNI_CONTAINERID": ""])
            #expect(code(e) == 3)
            e["CNI_CONTAINERID"] = nil
            #expect(code(e) == 3)
        }
        #expect(throws: CNIError(.unknownContainer, "missing containerID (CNI_CONTAINERID)")) {
            try Validation.containerID("")
        }
        do { try Validation.containerID("../x"); Issue.record("expected an error") } catch {
            #expect(error.code == 4 && error.msg.contains("CNI_CONTAINERID") && error.details == "../x")
        }
    }

    @Test(arguments: [
        ("eth0", true), ("a", true), (String(repeating: "x", count: 15), true), ("...", true), ("a.b", true),
        ("é", true), ("veth-1_2.3@x", true),
        ("", false), (String(repeating: "x", count: 16), false), (".", false), ("..", false),
        ("a/b", false), ("/", false), ("a:b", false), ("a b", false), ("a\tb", false), ("a\n", false),
        ("\u{00a0}x", false), ("ééééééééx", false),  // 17 bytes
    ])
    func interfaceName(_ name: String, _ ok: Bool) {
        let c = code(env(["CNI_IFNAME": name]))
        #expect(c == (ok ? nil : 4), "\(name)")
        if !ok, !name.isEmpty {
            do { try Validation.interfaceName(name); Issue.record("expected an error") } catch { #expect(error.msg.contains("CNI_IFNAME")) }
        }
    }

    @Test(arguments: CNICommand.allCases)
    func requiredVariables(_ cmd: CNICommand) {
        let required: [String] = switch cmd {
        case .add, .check: ["CNI_NETNS", "CNI_IFNAME", "CNI_PATH"]
        case .del: ["CNI_IFNAME", "CNI_PATH"]
        case .gc: ["CNI_PATH"]
        case .status, .version: []
        }
        for name in ["CNI_NETNS", "CNI_IFNAME", "CNI_PATH"] {
            for missing in [nil, ""] as [String?] {
                var e = env(["CNI_COMMAND": cmd.rawValue])
                e[name] = missing
                do {
                    _ = try CNIEnvironment.parse(e)
                    #expect(!required.contains(name), "\(cmd) without \(name)")
                } catch {
                    #expect(required.contains(name), "\(cmd) without \(name): \(error)")
                    #expect(error.code == 4)
                    #expect(error.msg.contains(name))
                }
            }
        }
    }

    @Test func netnsOptionalOnDel() throws {
        let e = try CNIEnvironment.parse(["CNI_COMMAND": "DEL", "CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0",
                                          "CNI_PATH": "/bin"])
        #expect(e.netns == "")
    }

    @Test func missingSeveralNamesThemAll() {
        do {
            _ = try CNIEnvironment.parse(["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c"])
            Issue.record("expected failure")
        } catch {
            #expect(error.code == 4)
            #expect(error.msg == "required env variables [CNI_NETNS,CNI_IFNAME,CNI_PATH] missing")
        }
    }

    @Test func statusAndVersionNeedOnlyCommand() throws {
        #expect(try CNIEnvironment.parse(["CNI_COMMAND": "VERSION"]).command == .version)
        #expect(try CNIEnvironment.parse(["CNI_COMMAND": "STATUS"]).command == .status)
        #expect(try CNIEnvironment.parse(["CNI_COMMAND": "GC", "CNI_PATH": "/x"]).path == ["/x"])
        // Optional variables are still validated when given.
        #expect(code(["CNI_COMMAND": "GC", "CNI_PATH": "/x", "CNI_CONTAINERID": "-bad"]) == 4)
        #expect(code(["CNI_COMMAND": "STATUS", "CNI_IFNAME": "a/b"]) == 4)
    }

    @Test(arguments: [nil, "", "add", "Add", "GET", "FOO", " ADD"] as [String?])
    func badCommand(_ cmd: String?) {
        var e = Self.base
        e["CNI_COMMAND"] = cmd
        do { _ = try CNIEnvironment.parse(e); Issue.record("accepted \(String(describing: cmd))") } catch {
            #expect(error.code == 4)
            #expect(error.msg.contains("CNI_COMMAND"))
        }
    }

    @Test func cniArgs() throws {
        func pairs(_ s: String) throws -> [String] {
            try CNIEnvironment.parseArgs(s).map { "\($0.key)=\($0.value)" }
        }
        #expect(try pairs("K=V;K2=V2") == ["K=V", "K2=V2"])
        #expect(try pairs("") == [])
        #expect(try pairs(";;") == [])
        #expect(try pairs(";K=V;;") == ["K=V"])
        #expect(try pairs("K=") == ["K="])
        #expect(try pairs("K=a=b") == ["K=a=b"])
        for bad in ["=x", "novalue", "K=V;novalue", "="] {
            #expect(throws: CNIError.self) { try CNIEnvironment.parseArgs(bad) }
            #expect(code(env(["CNI_ARGS": bad])) == 4)
        }
        do { _ = try CNIEnvironment.parseArgs("novalue"); Issue.record("expected an error") } catch { #expect(error.msg.contains("CNI_ARGS")) }
        #expect(code(env(["CNI_ARGS": ""])) == nil)
    }

    @Test func pathSplitting() throws {
        #expect(try CNIEnvironment.parse(env(["CNI_PATH": "/a::/b:"])).path == ["/a", "/b"])
    }

    @Test func delegateVariables() throws {
        let e = try CNIEnvironment.parse(env(["CNI_ARGS": "A=1"]))
        let v = e.delegateVariables(command: .del)
        #expect(v == ["CNI_COMMAND": "DEL", "CNI_CONTAINERID": "abc", "CNI_NETNS": "/run/netns/x",
                      "CNI_IFNAME": "eth0", "CNI_ARGS": "A=1", "CNI_PATH": "/opt/cni/bin:/usr/lib/cni"])
        #expect(CNIEnvironment(command: .gc, path: ["/p"]).delegateVariables()
            == ["CNI_COMMAND": "GC", "CNI_PATH": "/p"])
        #expect(CNIEnvironment(command: .add, rawArgs: "a=b").args.first?.value == "b")
        #expect(CNIEnvironment(command: .add, rawArgs: "junk").args.isEmpty)
    }

    @Test func networkNames() {
        for ok in ["net", "podman", "a.b-c_d", "0"] { #expect(throws: Never.self) { try Validation.networkName(ok) } }
        for bad in ["", "-x", ".x", "a b", "a/b", "é"] {
            do { try Validation.networkName(bad); Issue.record("accepted \(bad)") } catch { #expect(error.code == 7) }
        }
    }
}
