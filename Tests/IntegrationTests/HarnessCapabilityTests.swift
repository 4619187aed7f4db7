import Foundation
import Testing

/// What each plugin of a chain receives from cnitool (libcni semantics),
/// checked with fake plugins that log their stdin and env. No root needed.
@Suite("cnitool: what plugins receive", .enabled(if: TestConditions.hasPython3, "needs python3"))
struct HarnessCapabilityTests {
    static let capArgs = #"""
    {"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}],"bandwidth":{"ingressRate":1000},"mac":"c2:11:22:33:44:55"}
    """#

    private func stdin(_ rec: [String: Any]) -> [String: Any] { rec["stdin"] as? [String: Any] ?? [:] }
    private func env(_ rec: [String: Any]) -> [String: String] { rec["env"] as? [String: String] ?? [:] }

    @Test("runtimeConfig only for declared capabilities; name/cniVersion/prevResult; env; cache; DEL order")
    func capabilities() throws {
        let dir = try Scratch.makeDirectory("rcni-cap-")
        defer { Scratch.removeDirectory(dir) }
        let log = try FakePlugin.install(in: dir, names: ["fake-a", "fake-b", "fake-c"])
        let file = dir + "/capnet.conflist"
        // fake-a declares portMappings; fake-b declares nothing but carries its
        // own runtimeConfig; fake-c declares portMappings:false, bandwidth:true.
        try Scratch.write(#"""
        {"cniVersion":"1.0.0","name":"capnet","plugins":[
          {"type":"fake-a","capabilities":{"portMappings":true},"fakeAddress":"10.99.1.5/24"},
          {"type":"fake-b","name":"ignored","cniVersion":"0.3.1","runtimeConfig":{"own":1}},
          {"type":"fake-c","capabilities":{"portMappings":false,"bandwidth":true,"ipRanges":true}}
        ]}
        """#, to: file)
        let cache = dir + "/cache"
        let netns = "/var/run/netns/rcni-fake-ns"
        let base = ["--cni-path", dir, "--cache-dir", cache, "--conflist", file,
                    "--container-id", "ctr-1", "--ifname", "net7"]

        let add = Cnitool.run(base + ["--cap-args", Self.capArgs, "--args", "IgnoreUnknown=1;K8S_POD_NAME=p",
                                      "add", netns])
        try #require(add.succeeded, "\(add)")
        var recs = FakePlugin.records(log)
        try #require(recs.count == 3, "\(recs)")
        let (a, b, c) = (recs[0], recs[1], recs[2])
        #expect(recs.map { $0["plugin"] as? String } == ["fake-a", "fake-b", "fake-c"])

        // capabilities -> runtimeConfig
        let rcA = stdin(a)["runtimeConfig"] as? [String: Any]
        #expect(rcA.map { Array($0.keys) } == ["portMappings"], "fake-a runtimeConfig: \(String(describing: rcA))")
        let rcB = stdin(b)["runtimeConfig"] as? [String: Any]
        #expect(rcB?.keys.sorted() == ["own"], "fake-b declares no capability: gets none, keeps its own")
        let rcC = stdin(c)["runtimeConfig"] as? [String: Any]
        #expect(rcC.map { $0.keys.sorted() } == ["bandwidth"], "fake-c: \(String(describing: rcC))")

        // name / cniVersion injected; prevResult threaded.
        for r in recs {
            #expect(stdin(r)["name"] as? String == "capnet")
            #expect(stdin(r)["cniVersion"] as? String == "1.0.0")
        }
        #expect(stdin(a)["prevResult"] == nil)
        let prevB = try #require(stdin(b)["prevResult"] as? [String: Any])
        #expect(((prevB["ips"] as? [[String: Any]])?.first?["address"] as? String) == "10.99.1.5/24")
        #expect(stdin(c)["prevResult"] != nil)

        // env
        let e = env(a)
        #expect(e["CNI_COMMAND"] == "ADD")
        #expect(e["CNI_CONTAINERID"] == "ctr-1")
        #expect(e["CNI_NETNS"] == netns)
        #expect(e["CNI_IFNAME"] == "net7")
        #expect(e["CNI_ARGS"] == "IgnoreUnknown=1;K8S_POD_NAME=p")
        #expect(e["CNI_PATH"] == dir)

        // cache
        let cacheFile = Cnitool.cacheFile(cacheDir: cache, network: "capnet", containerID: "ctr-1", ifname: "net7")
        let cached = try #require(Command.jsonObject(try String(contentsOfFile: cacheFile, encoding: .utf8)))
        #expect(cached["kind"] as? String == "cniCacheV1")
        #expect(cached["cniArgs"] as? [[String]] == [["IgnoreUnknown", "1"], ["K8S_POD_NAME", "p"]])
        #expect((cached["capabilityArgs"] as? [String: Any])?.keys.sorted() == ["bandwidth", "mac", "portMappings"])
        let rawConfig = try Data(contentsOf: URL(fileURLWithPath: file))
        #expect(Data(base64Encoded: cached["config"] as? String ?? "") == rawConfig)

        // CHECK: in order, prevResult = cached result.
        let check = Cnitool.run(base + ["check", netns])
        #expect(check.succeeded, "\(check)")
        // DEL: reverse order, prevResult = cached result, cache removed.
        let del = Cnitool.run(base + ["del", netns])
        #expect(del.succeeded, "\(del)")
        recs = FakePlugin.records(log)
        try #require(recs.count == 9, "\(recs)")
        let checks = Array(recs[3..<6]), dels = Array(recs[6..<9])
        #expect(checks.map { env($0)["CNI_COMMAND"] } == ["CHECK", "CHECK", "CHECK"])
        #expect(checks.map { $0["plugin"] as? String } == ["fake-a", "fake-b", "fake-c"])
        #expect(checks.allSatisfy { stdin($0)["prevResult"] != nil })
        #expect(dels.map { $0["plugin"] as? String } == ["fake-c", "fake-b", "fake-a"])
        #expect(dels.map { env($0)["CNI_COMMAND"] } == ["DEL", "DEL", "DEL"])
        for d in dels {
            let prev = stdin(d)["prevResult"] as? [String: Any]
            #expect(((prev?["ips"] as? [[String: Any]])?.first?["address"] as? String) == "10.99.1.5/24")
        }
        // No --cap-args/--args on DEL: the cached ones are used (GetNetworkListCachedConfig).
        #expect((stdin(dels[0])["runtimeConfig"] as? [String: Any]).map { $0.keys.sorted() } == ["bandwidth"])
        #expect((stdin(dels[2])["runtimeConfig"] as? [String: Any]).map { $0.keys.sorted() } == ["portMappings"])
        #expect(dels.allSatisfy { env($0)["CNI_ARGS"] == "IgnoreUnknown=1;K8S_POD_NAME=p" })
        #expect(!FileManager.default.fileExists(atPath: cacheFile))
    }

    @Test("GC and STATUS: 1.1.0 only, valid-attachments default to the cache")
    func gcAndStatus() throws {
        let dir = try Scratch.makeDirectory("rcni-gc-")
        defer { Scratch.removeDirectory(dir) }
        let log = try FakePlugin.install(in: dir, names: ["fake"])
        let new = dir + "/gcnet.conflist", old = dir + "/oldnet.conflist"
        try Scratch.write(#"{"cniVersion":"1.1.0","name":"gcnet","plugins":[{"type":"fake","capabilities":{"mac":true}}]}"#, to: new)
        try Scratch.write(#"{"cniVersion":"1.0.0","name":"oldnet","plugins":[{"type":"fake"}]}"#, to: old)
        let cache = dir + "/cache"
        func tool(_ conf: String, _ args: [String]) -> CommandResult {
            Cnitool.run(["--cni-path", dir, "--cache-dir", cache, "--conflist", conf] + args,
                        environment: ["CAP_ARGS": #"{"mac":"c2:00:00:00:00:01"}"#])
        }
        #expect(tool(new, ["--container-id", "c1", "add", "/run/netns/x1"]).succeeded)
        #expect(tool(new, ["--container-id", "c2", "add", "/run/netns/x2"]).succeeded)
        let before = FakePlugin.records(log).count

        // Default: every cached attachment of the network is valid.
        let gc = tool(new, ["gc"])
        #expect(gc.succeeded, "\(gc)")
        var recs = Array(FakePlugin.records(log).dropFirst(before))
        try #require(recs.count == 1, "\(recs)")
        #expect(env(recs[0])["CNI_COMMAND"] == "GC")
        #expect(env(recs[0])["CNI_CONTAINERID"] == "")
        #expect(stdin(recs[0])["runtimeConfig"] == nil, "GC injects no runtimeConfig")
        let valid = stdin(recs[0])["cni.dev/valid-attachments"] as? [[String: String]]
        #expect(valid.map { $0.compactMap { $0["containerID"] }.sorted() } == ["c1", "c2"])
        #expect(valid?.allSatisfy { $0["ifname"] == "eth0" } == true)

        // Explicit list: c2 is stale -> DEL for it (cache gone), then GC with [c1].
        let gc2 = tool(new, ["--valid-attachments", #"[{"containerID":"c1","ifname":"eth0"}]"#, "gc"])
        #expect(gc2.succeeded, "\(gc2)")
        recs = Array(FakePlugin.records(log).dropFirst(before + 1))
        #expect(recs.map { env($0)["CNI_COMMAND"] } == ["DEL", "GC"])
        #expect(env(recs[0])["CNI_CONTAINERID"] == "c2")
        #expect(env(recs[0])["CNI_NETNS"] == "/run/netns/x2", "netns from the cached result's sandbox")
        #expect(FileManager.default.fileExists(atPath: Cnitool.cacheFile(cacheDir: cache, network: "gcnet", containerID: "c1")))
        #expect(!FileManager.default.fileExists(atPath: Cnitool.cacheFile(cacheDir: cache, network: "gcnet", containerID: "c2")))

        // STATUS: 1.1.0 runs it, 1.0.0 skips.
        let n = FakePlugin.records(log).count
        #expect(tool(new, ["status"]).succeeded)
        #expect(tool(old, ["status"]).succeeded)
        #expect(tool(old, ["gc"]).succeeded)
        recs = Array(FakePlugin.records(log).dropFirst(n))
        #expect(recs.map { env($0)["CNI_COMMAND"] } == ["STATUS"])

        // VERSION: a JSON map type -> version info.
        let v = tool(new, ["version"])
        #expect(v.succeeded, "\(v)")
        let info = v.json?["fake"] as? [String: Any]
        #expect((info?["supportedVersions"] as? [String])?.contains("1.1.0") == true, "\(v)")
    }
}
