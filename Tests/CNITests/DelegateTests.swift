import Testing
@testable import CNI
import JSON

@Suite struct DelegateTests {
    static let env = CNIEnvironment(command: .add, containerID: "c1", netns: "/run/netns/x", ifName: "eth0",
                                    rawArgs: "A=1", path: ["/ignored"])
    static let conf: JSONObject = ["cniVersion": "1.0.0", "name": "net", "type": "bridge", "unknown": ["k": 1]]

    func invoker(_ ex: FakeExecutor, path: [String] = ["/opt/cni/bin", "/usr/lib/cni/"],
                 sink: @escaping ([UInt8]) -> Void = { _ in }) -> DelegateInvoker {
        DelegateInvoker(executor: ex, searchPath: path, baseEnv: ["PATH": "/usr/bin", "CNI_COMMAND": "junk"],
                        stderrSink: sink)
    }

    func code(_ ex: FakeExecutor, _ command: CNICommand = .add, conf: JSONObject = DelegateTests.conf) -> (Int, String)? {
        do {
            _ = try invoker(ex).invoke(command: command, config: conf, env: Self.env, version: .v1_0_0)
            return nil
        } catch { return (error.code, error.msg + " " + error.details) }
    }

    @Test func findInPath() throws {
        let ex = FakeExecutor(files: ["/usr/lib/cni/bridge", "/opt/cni/bin/portmap", "/usr/lib/cni/portmap"])
        let inv = invoker(ex)
        #expect(try inv.find("bridge") == "/usr/lib/cni/bridge")
        #expect(try inv.find("portmap") == "/opt/cni/bin/portmap")  // first directory wins
        let cases: [(String, Int)] = [("nope", 50), ("../bridge", 7), ("a/b", 7), ("/usr/lib/cni/bridge", 7), ("", 7)]
        for (name, want) in cases {
            do { _ = try inv.find(name); Issue.record("found \(name)") } catch { #expect(error.code == want, "\(name)") }
        }
        do { _ = try invoker(ex, path: []).find("bridge"); Issue.record("expected an error") } catch { #expect(error.code == 4) }
        do { _ = try inv.find("nope"); Issue.record("expected an error") } catch { #expect(error.msg.contains("nope") && error.msg.contains("/opt/cni/bin")) }
    }

    @Test func passesEnvAndStdinAndParsesResult() throws {
        let ex = FakeExecutor(files: ["/opt/cni/bin/bridge"])
        ex.succeed("bridge", stdout: #"{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24"}]}"#, stderr: "log line\n")
        var sunk: [UInt8] = []
        let r = try invoker(ex, sink: { sunk += $0 }).invoke(command: .add, config: Self.conf, env: Self.env, version: .v1_0_0)
        #expect(r?.ips.first?.address.description == "10.0.0.2/24")
        #expect(String(decoding: sunk, as: UTF8.self) == "log line\n")
        let call = try #require(ex.calls.first)
        #expect(call.path == "/opt/cni/bin/bridge")
        #expect(call.env == ["PATH": "/usr/bin", "CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1",
                             "CNI_NETNS": "/run/netns/x", "CNI_IFNAME": "eth0", "CNI_ARGS": "A=1",
                             "CNI_PATH": "/opt/cni/bin:/usr/lib/cni/"])
        #expect(call.stdin == .object(Self.conf))
        #expect(call.stdin.objectValue?.keys == ["cniVersion", "name", "type", "unknown"])
    }

    @Test func nonAddReturnsNil() throws {
        let ex = FakeExecutor(files: ["/opt/cni/bin/bridge"])
        ex.succeed("bridge", stdout: "whatever")
        for cmd in [CNICommand.del, .check, .status, .gc] {
            #expect(try invoker(ex).invoke(command: cmd, config: Self.conf, env: Self.env, version: .v1_0_0) == nil)
            #expect(ex.calls.last?.env["CNI_COMMAND"] == cmd.rawValue)
        }
    }

    @Test func missingResultVersionFilledFromConfig() throws {
        let ex = FakeExecutor(files: ["/opt/cni/bin/bridge"])
        ex.succeed("bridge", stdout: #"{"ips":[{"address":"10.0.0.2/24"}]}"#)
        var conf = Self.conf
        conf["cniVersion"] = "0.4.0"
        let r = try invoker(ex).invoke(command: .add, config: conf, env: Self.env, version: .v1_1_0)
        #expect(r?.cniVersion == .v0_4_0)
        conf["cniVersion"] = nil
        #expect(try invoker(ex).invoke(command: .add, config: conf, env: Self.env, version: .v1_1_0)?.cniVersion == .v1_1_0)
    }

    @Test func failures() {
        let ex = FakeExecutor(files: ["/opt/cni/bin/bridge"])
        // Code passthrough, including codes outside the table.
        for c in [1, 3, 7, 11, 51, 107] {
            ex.fail("bridge", stdout: #"{"cniVersion":"1.0.0","code":\#(c),"msg":"m\#(c)","details":"d"}"#)
            let got = code(ex)
            #expect(got?.0 == c)
            #expect(got?.1 == "m\(c) d")
        }
        // Code 0 (or none) is not a CNI code: internal.
        ex.fail("bridge", stdout: #"{"code":0,"msg":"zero"}"#)
        #expect(code(ex)?.0 == 999)
        #expect(code(ex)?.1.contains("zero") == true)
        ex.fail("bridge", stdout: #"{"msg":"no code"}"#)
        #expect(code(ex)?.0 == 999)
        // stderr as message when stdout is empty.
        ex.fail("bridge", stdout: "", stderr: "panic: boom\n")
        #expect(code(ex)?.0 == 999)
        #expect(code(ex)?.1.contains("panic: boom") == true)
        ex.fail("bridge", stdout: " \n", stderr: "")
        #expect(code(ex)?.1.contains("no error message") == true)
        ex.fail("bridge", exit: nil, signal: 9, stdout: "")
        #expect(code(ex)?.1.contains("signal 9") == true)
        // Garbage on stdout.
        ex.fail("bridge", stdout: "Segmentation fault")
        #expect(code(ex)?.0 == 6)
        #expect(code(ex)?.1.contains("Segmentation fault") == true)
        ex.fail("bridge", stdout: #"{"cniVersion":"1.0.0"}"#)
        #expect(code(ex)?.0 == 6)
        // Timed out.
        ex.fail("bridge", exit: nil, signal: 9, stdout: "", timedOut: true)
        #expect(code(ex)?.0 == 11)
        // Could not run at all.
        ex.throwing = ["bridge"]
        #expect(code(ex)?.0 == 5)
        ex.throwing = []
        // Not found.
        #expect(code(FakeExecutor(files: []))?.0 == 50)
        // Successful exit with a bad result.
        ex.succeed("bridge", stdout: "not json")
        #expect(code(ex)?.0 == 6)
        ex.succeed("bridge", stdout: "")
        #expect(code(ex)?.0 == 6)
        ex.succeed("bridge", stdout: #"{"cniVersion":"0.2.0","ip4":{}}"#)
        #expect(code(ex)?.0 == 1)
        ex.succeed("bridge", stdout: #"{"cniVersion":"1.0.0","ips":[{"address":"300.0.0.1/24"}]}"#)
        #expect(code(ex)?.0 == 6)
        // Missing type.
        var noType = Self.conf
        noType["type"] = nil
        #expect(code(ex, conf: noType)?.0 == 7)
    }

    @Test func stderrPassedThroughOnFailureToo() {
        let ex = FakeExecutor(files: ["/opt/cni/bin/bridge"])
        ex.fail("bridge", stdout: #"{"code":7,"msg":"x"}"#, stderr: "why\n")
        var sunk = ""
        _ = try? invoker(ex, sink: { sunk += String(decoding: $0, as: UTF8.self) })
            .invoke(command: .del, config: Self.conf, env: Self.env, version: .v1_0_0)
        #expect(sunk == "why\n")
    }
}
