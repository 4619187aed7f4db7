import Foundation
import Testing

/// The first hour of a new user: the tools answer --version/--help, wrong usage says what was
/// wrong, and the rootless-netns CLI works from outside the session that ran ADD.
@Suite("first hour: CLIs from anywhere")
struct FirstHourTests {
    @Test("rootless-netns: --version, and wrong usage exits 2 saying what was wrong",
          .enabled(if: Products.haveRootlessNetns, "needs the built rootless-netns"))
    func rootlessNetnsUsage() {
        let v = Command.run([Products.rootlessNetns, "--version"], timeout: 10, unset: ["CNI_COMMAND"])
        #expect(v.succeeded && v.stdout.hasPrefix("rootless-netns "), "\(v)")
        let cases: [([String], String)] = [
            (["status", "--state-dir"], "--state-dir needs a directory"),
            (["enter", "ip", "addr"], "put the command after --"),
            (["stauts"], #"did you mean "status"?"#),
            (["status", "--state-dir", "relative/dir"], "must be an absolute path"),
        ]
        for (args, message) in cases {
            let r = Command.run([Products.rootlessNetns] + args, timeout: 10, unset: ["CNI_COMMAND"])
            #expect(r.status == 2 && r.stderr.contains(message) && r.stdout.isEmpty, "\(r)")
        }
        let missing = Command.run([Products.rootlessNetns, "enter", "--state-dir", "/nonexistent/rcni", "--", "true"],
                                  timeout: 10, unset: ["CNI_COMMAND"])
        #expect(missing.status == 1 && missing.stderr.contains("does not exist"), "\(missing)")
    }

    @Test("cnitool: --version; session start without a runtime dir says how to fix it",
          .enabled(if: TestConditions.isRoot && TestConditions.hasPython3 && Command.which("setpriv") != nil, "needs root (to run as nobody), python3, setpriv"))
    func cnitoolFirstHour() {
        let v = Cnitool.run(["--version"], timeout: 30)
        #expect(v.succeeded && v.stdout.hasPrefix("cnitool "), "\(v)")
        // nobody has no /run/user/65534 and cannot create it.
        let r = Command.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                             "env", "-u", "XDG_RUNTIME_DIR", "/usr/bin/python3", Paths.cnitool, "session", "start"],
                            timeout: 30, cwd: "/")
        #expect(r.status == 1 && r.stderr.contains("set XDG_RUNTIME_DIR") && r.stderr.contains("--user NAME"), "\(r)")
    }

    static let sessionEnabled = TestConditions.canTestRootless && TestConditions.hasReferencePlugins
        && TestConditions.hasIptables && Products.haveRootlessNetns
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/slirp4netns")

    /// Before, from outside the session `status` said "down" next to a live helper and `enter`
    /// found no namespace (reproduced below by forbidding the join).
    @Test("status and enter from outside the cnitool session join it; ADD prints its container id",
          .enabled(if: sessionEnabled, "needs root, user namespaces, reference plugins, iptables, slirp4netns"), .timeLimit(.minutes(3)))
    func joinFromOutside() throws {
        let user = try TestUser.ensure("rcni-join")
        guard user.canExecute(Products.rootlessNetns) else {
            throw TestUser.Failure(description: "\(user.name) cannot execute \(Products.rootlessNetns): make the checkout world-traversable (scripts/test does)")
        }
        let session = try RootlessSession.start(user)
        let scratch = try Scratch.makeDirectory("rcni-join-")
        try user.chown(scratch)
        let stateDir = scratch + "/state"
        var netnsPaths: [String] = []
        defer {
            _ = session.rootlessNetns(["cleanup", "--state-dir", stateDir])
            for p in netnsPaths { session.removeNetns(p) }
            session.stop()
            // Left as plain files when the session ended before `netns del`.
            for p in netnsPaths { try? FileManager.default.removeItem(atPath: p) }
            Scratch.removeDirectory(scratch)
        }
        let conflist = try Conflists.write(try Conflists.rootlessBridge { $0["stateDir"] = stateDir }, to: scratch)
        let ns = try session.makeNetns("join-")
        netnsPaths.append(ns)
        let add = session.cnitool(["--conflist", conflist, "--cni-path", Products.cniPath, "--cache-dir", scratch + "/cache", "add", ns])
        try #require(add.succeeded, "\(add)")
        let cid = try #require(Cnitool.containerID(forNetns: ns))
        #expect(add.stderr.contains("container id \(cid)"), "\(add)")

        let outside = user.run([Products.rootlessNetns, "status", "--state-dir", stateDir], timeout: 30)
        #expect(outside.json?["health"] as? String == "up", "\(outside)")
        #expect((outside.json?["session"] as? [String: Any])?["joined"] as? Bool == true, "\(outside)")
        let enter = user.run([Products.rootlessNetns, "enter", "--state-dir", stateDir, "--", "ip", "-4", "-o", "addr", "show", "tap0"], timeout: 30)
        #expect(enter.succeeded && enter.stdout.contains("10.0.2.100/24"), "\(enter)")
        // Without the join (what the CLI did before) the same question got a wrong answer.
        let noJoin = user.run([Products.rootlessNetns, "status", "--state-dir", stateDir], timeout: 30,
                              environment: ["ROOTLESS_NETNS_JOINED": "0"])
        #expect(noJoin.json?["health"] as? String == "down", "\(noJoin)")

        let del = session.cnitool(["--conflist", conflist, "--cni-path", Products.cniPath, "--cache-dir", scratch + "/cache", "del", ns])
        #expect(del.succeeded, "\(del)")
        let after = user.run([Products.rootlessNetns, "status", "--state-dir", stateDir], timeout: 30).json
        #expect(after?["health"] as? String == "down" && (after?["attachments"] as? [Any])?.isEmpty == true, "\(String(describing: after))")
        #expect((after?["session"] as? [String: Any])?["recorded"] as? Bool == false, "session.json removed at teardown")

        // The session ends with a container still attached: status says so (not a bare "down"),
        // and cleanup from outside stops the stranded helper.
        let ns2 = try session.makeNetns("join2-")
        netnsPaths.append(ns2)
        let add2 = session.cnitool(["--conflist", conflist, "--cni-path", Products.cniPath, "--cache-dir", scratch + "/cache", "add", ns2])
        try #require(add2.succeeded, "\(add2)")
        let helper = try #require(((session.rootlessNetns(["status", "--state-dir", stateDir]).json?["helper"]) as? [String: Any])?["pid"] as? Int)
        session.stop()
        let gone = user.run([Products.rootlessNetns, "status", "--state-dir", stateDir], timeout: 30).json
        let info = gone?["session"] as? [String: Any]
        #expect(gone?["health"] as? String == "down" && info?["recorded"] as? Bool == true && info?["joined"] as? Bool == false, "\(String(describing: gone))")
        #expect((info?["note"] as? String)?.contains("cleanup") == true, "\(String(describing: gone))")
        let clean = user.run([Products.rootlessNetns, "cleanup", "--state-dir", stateDir], timeout: 60)
        #expect(clean.succeeded, "\(clean)")
        if let path = gone?["netns"] as? String { #expect(!FileManager.default.fileExists(atPath: path), "\(path) left") }
        let stat = (try? String(contentsOfFile: "/proc/\(helper)/stat", encoding: .utf8)) ?? ""
        #expect(stat.isEmpty || stat.contains(") Z"), "helper \(helper) still alive after cleanup: \(stat)")
    }
}
