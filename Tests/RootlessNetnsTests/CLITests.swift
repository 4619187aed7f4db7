import Testing
@testable import RootlessNetns

/// The CLI's argument handling: every wrong usage says what was wrong.
@Suite struct CLITests {
    func error(_ args: [String]) -> String? {
        if case .usageError(let m) = CLI.parse(args) { return m }
        return nil
    }

    @Test func validInvocations() {
        #expect(CLI.parse(["status"]) == .run(command: "status", stateDir: nil, argv: []))
        #expect(CLI.parse(["status", "--state-dir", "/tmp/s"]) == .run(command: "status", stateDir: "/tmp/s", argv: []))
        #expect(CLI.parse(["cleanup", "--state-dir=/tmp/s"]) == .run(command: "cleanup", stateDir: "/tmp/s", argv: []))
        #expect(CLI.parse(["enter", "--", "ip", "addr"]) == .run(command: "enter", stateDir: nil, argv: ["ip", "addr"]))
        #expect(CLI.parse(["enter", "--state-dir", "/s", "--", "sh", "-c", "--x"]) == .run(command: "enter", stateDir: "/s", argv: ["sh", "-c", "--x"]))
    }

    @Test func versionAndHelp() {
        #expect(CLI.parse(["--version"]) == .version)
        #expect(CLI.versionText.hasPrefix("rootless-netns \(CLI.version) (CNI "))
        guard case .help(let text) = CLI.parse(["--help"]) else { Issue.record("no help"); return }
        for c in CLI.commands { #expect(text.contains("rootless-netns " + c.name)) }
        #expect(text.contains("examples:"))
        guard case .help(let enter) = CLI.parse(["enter", "--help"]) else { Issue.record("no enter help"); return }
        #expect(enter.contains("rootless-netns enter -- ip addr"))
        #expect(CLI.parse(["help", "status"]) == .help(CLI.help(CLI.commands[0])))
    }

    @Test func wrongUsageSaysWhat() {
        #expect(error([]) == "missing command")
        #expect(error(["status", "--state-dir"])?.contains("--state-dir needs a directory") == true)
        #expect(error(["status", "--state-dir="])?.contains("--state-dir needs a directory") == true)
        #expect(error(["enter", "ip", "addr"]) == "enter: put the command after --, e.g. rootless-netns enter -- ip addr")
        #expect(error(["enter"])?.hasPrefix("enter needs a command after --") == true)
        #expect(error(["enter", "--"]) == "enter: no command after --")
        #expect(error(["stauts"])?.contains(#"did you mean "status"?"#) == true)
        #expect(error(["frobnicate"])?.contains("is not a command") == true)
        #expect(error(["status", "--verbose"]) == "status: unknown option --verbose")
        #expect(error(["status", "extra"]) == #"status: unexpected argument "extra""#)
        #expect(error(["status", "--", "ls"]) == "status takes no command (only enter does)")
        #expect(error(["--state-dir", "/x", "status"])?.contains("options follow the command") == true)
    }

    /// The session record survives its JSON round trip and refuses what is not one.
    @Test func sessionRecordJSON() throws {
        let r = SessionRecord(userns: "user:[4026531837]", mntns: "mnt:[4026532201]", holder: nil, runtimeDir: "/run/user/1000")
        #expect(SessionRecord(json: r.json()) == r)
        #expect(SessionRecord(json: ["userns": "x", "mntns": "mnt:[1]"]) == nil)
    }

    /// Outside any recorded session the CLI stays where it is; a record of this very process's
    /// namespaces means "inside".
    @Test func sessionDecision() throws {
        let dir = "/tmp/rcni-clitest-\(UInt32.random(in: 0..<UInt32.max))"
        let state = StateDir(root: dir)
        #expect(SessionJoin.decide(state: state, env: [:]) == .stay(.notRecorded))
        #expect(SessionJoin.decide(state: state, env: [SessionJoin.joinedVariable: "42"]) == .stay(.joined(42)))
    }
}
