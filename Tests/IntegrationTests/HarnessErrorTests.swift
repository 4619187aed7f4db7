import Foundation
import Testing

/// cnitool's error paths. No root needed: fake plugins in a temp CNI_PATH,
/// and a netns path that is only a string (the fake plugins never open it).
@Suite("cnitool: error paths", .enabled(if: TestConditions.hasPython3, "needs python3"))
struct HarnessErrorTests {
    /// A scratch dir with a fake plugin installed as "fake"; returns (dir, log).
    private func setUp() throws -> (String, String) {
        let dir = try Scratch.makeDirectory("rcni-err-")
        let log = try FakePlugin.install(in: dir, names: ["fake"])
        return (dir, log)
    }

    private func conflist(_ dir: String, _ plugins: String, version: String = "1.0.0",
                          name: String = "errnet") throws -> String {
        let path = dir + "/\(name).conflist"
        try Scratch.write(#"{"cniVersion":"\#(version)","name":"\#(name)","plugins":[\#(plugins)]}"#, to: path)
        return path
    }

    @Test("missing conflist file")
    func missingConflist() throws {
        let (dir, _) = try setUp()
        defer { Scratch.removeDirectory(dir) }
        let r = Cnitool.run(["--cni-path", dir, "--cache-dir", dir + "/cache",
                             "--conflist", dir + "/nope.conflist", "add", "/run/netns/none"])
        #expect(r.status != 0 && !r.timedOut, "\(r)")
        #expect(r.stderr.contains("nope.conflist") && r.stderr.contains("not found"), "\(r)")
        #expect(r.stdout.isEmpty)
    }

    @Test("unknown network name in NETCONFPATH")
    func unknownNetwork() throws {
        let (dir, _) = try setUp()
        defer { Scratch.removeDirectory(dir) }
        _ = try conflist(dir, #"{"type":"fake"}"#, name: "other")
        let r = Cnitool.run(["--cni-path", dir, "--cache-dir", dir + "/cache", "add", "nosuchnet", "/run/netns/none"],
                            environment: ["NETCONFPATH": dir])
        #expect(r.status != 0 && !r.timedOut, "\(r)")
        #expect(r.stderr.contains(#"no net configuration with name "nosuchnet""#), "\(r)")
        // ... while the existing one is found by name.
        let ok = Cnitool.run(["--cni-path", dir, "--cache-dir", dir + "/cache", "add", "other", "/run/netns/none"],
                             environment: ["NETCONFPATH": dir])
        #expect(ok.succeeded, "\(ok)")
    }

    @Test("unknown plugin type, and plugin names with a slash")
    func unknownPlugin() throws {
        let (dir, log) = try setUp()
        defer { Scratch.removeDirectory(dir) }
        let file = try conflist(dir, #"{"type":"fake"},{"type":"rcni-no-such-plugin"}"#)
        let r = Cnitool.run(["--cni-path", dir, "--cache-dir", dir + "/cache", "--conflist", file,
                             "add", "/run/netns/none"])
        #expect(r.status != 0 && !r.timedOut, "\(r)")
        #expect(r.stderr.contains(#"failed to find plugin "rcni-no-such-plugin""#), "\(r)")
        #expect(FakePlugin.records(log).count == 1, "the first plugin ran, then the chain stopped")
        #expect(!FileManager.default.fileExists(atPath: dir + "/cache/results"), "no cache after a failed ADD")

        let slash = try conflist(dir, #"{"type":"../\#(URL(fileURLWithPath: dir).lastPathComponent)/fake"}"#,
                                 name: "slashnet")
        let r2 = Cnitool.run(["--cni-path", dir, "--cache-dir", dir + "/cache", "--conflist", slash,
                              "add", "/run/netns/none"])
        #expect(r2.status != 0 && r2.stderr.contains("invalid plugin name"), "\(r2)")
    }

    @Test("bad JSON conflist", arguments: [
        "{\"cniVersion\": \"1.0.0\", \"name\": ",                       // truncated
        "[1, 2, 3]",                                                    // not an object
        #"{"cniVersion":"1.0.0","plugins":[{"type":"fake"}]}"#,         // no name
        #"{"cniVersion":"1.0.0","name":"n","plugins":[]}"#,             // no plugins
        #"{"cniVersion":"1.0.0","name":"n","plugins":[{"foo":1}]}"#,    // plugin without type
    ])
    func badJSON(_ text: String) throws {
        let (dir, log) = try setUp()
        defer { Scratch.removeDirectory(dir) }
        let file = dir + "/bad.conflist"
        try Scratch.write(text, to: file)
        let r = Cnitool.run(["--cni-path", dir, "--cache-dir", dir + "/cache", "--conflist", file,
                             "add", "/run/netns/none"])
        #expect(r.status != 0 && !r.timedOut, "\(r)")
        #expect(r.stderr.hasPrefix("cnitool: "), "\(r)")
        #expect(FakePlugin.records(log).isEmpty, "no plugin runs for a bad config")
    }

    @Test("a failing plugin: its exit status and error JSON come through, no cache")
    func pluginFailure() throws {
        let (dir, log) = try setUp()
        defer { Scratch.removeDirectory(dir) }
        try FakePlugin.install(in: dir, names: ["fake2"])
        let file = try conflist(dir, #"{"type":"fake"},{"type":"fake2","fakeExit":7,"fakeMsg":"boom"}"#)
        let cache = dir + "/cache"
        let r = Cnitool.run(["--cni-path", dir, "--cache-dir", cache, "--conflist", file,
                             "add", "/run/netns/none"])
        #expect(r.status == 7 && !r.timedOut, "\(r)")
        let err = try #require(r.json, "error JSON on stdout: \(r)")
        #expect(err["code"] as? Int == 7)
        #expect(err["msg"] as? String == "boom")
        #expect(r.stderr.contains(#"type="fake2""#) && r.stderr.contains("boom"), "\(r)")
        let results = (try? FileManager.default.contentsOfDirectory(atPath: cache + "/results")) ?? []
        #expect(results.isEmpty, "libcni writes no cache when ADD fails: \(results)")
        #expect(FakePlugin.records(log).map { $0["plugin"] as? String } == ["fake", "fake2"])

        // A plugin that dies without JSON: exit status kept, error JSON made up.
        try Scratch.write("#!/bin/sh\necho 'not json' >&2\nexit 3\n", to: dir + "/crash", mode: 0o755)
        let crash = try conflist(dir, #"{"type":"crash"}"#, name: "crashnet")
        let r2 = Cnitool.run(["--cni-path", dir, "--cache-dir", cache, "--conflist", crash,
                              "add", "/run/netns/none"])
        #expect(r2.status == 3, "\(r2)")
        #expect(r2.json?["code"] as? Int == 999, "\(r2)")
        #expect(r2.stderr.contains("not json"), "plugin stderr passes through: \(r2)")
    }

    @Test("--timeout: a hung plugin, and one whose child keeps stdout open")
    func pluginTimeout() throws {
        let (dir, _) = try setUp()
        defer { Scratch.removeDirectory(dir) }
        try Scratch.write("#!/bin/sh\nexec sleep 30\n", to: dir + "/hang", mode: 0o755)
        // Prints a result and exits, but leaves a child holding its stdout:
        // a real runtime (Go's exec) would wait for EOF too.
        try Scratch.write(#"""
        #!/bin/sh
        sleep 30 &
        echo '{"cniVersion":"1.0.0","interfaces":[],"ips":[]}'
        exit 0
        """# + "\n", to: dir + "/leaky", mode: 0o755)
        for (type, hint) in [("hang", "still running"), ("leaky", "keeps its stdout open")] {
            let file = try conflist(dir, #"{"type":"\#(type)"}"#, name: type + "net")
            let started = Date()
            let r = Cnitool.run(["--cni-path", dir, "--cache-dir", dir + "/cache", "--conflist", file,
                                 "--timeout", "2", "add", "/run/netns/none"], timeout: 25)
            #expect(r.status != 0 && !r.timedOut, "\(r)")
            #expect(r.stderr.contains("timed out") && r.stderr.contains(hint), "\(r)")
            #expect(Date().timeIntervalSince(started) < 20)
        }
    }

    @Test("CHECK without a cached result fails; DEL without one runs the plugins")
    func noCache() throws {
        let (dir, log) = try setUp()
        defer { Scratch.removeDirectory(dir) }
        let file = try conflist(dir, #"{"type":"fake"}"#)
        let base = ["--cni-path", dir, "--cache-dir", dir + "/cache", "--conflist", file]
        let check = Cnitool.run(base + ["check", "/run/netns/none"])
        #expect(check.status != 0 && check.stderr.contains("cached result"), "\(check)")
        let del = Cnitool.run(base + ["del", "/run/netns/none"])
        #expect(del.succeeded, "\(del)")
        let recs = FakePlugin.records(log)
        #expect(recs.count == 1)
        #expect((recs.first?["stdin"] as? [String: Any])?["prevResult"] == nil)
        // CHECK needs cniVersion >= 0.4.0.
        let old = try conflist(dir, #"{"type":"fake"}"#, version: "0.3.1", name: "oldnet")
        let oldCheck = Cnitool.run(["--cni-path", dir, "--cache-dir", dir + "/cache", "--conflist", old,
                                    "check", "/run/netns/none"])
        #expect(oldCheck.status != 0 && oldCheck.stderr.contains("does not support the CHECK command"), "\(oldCheck)")
    }
}
