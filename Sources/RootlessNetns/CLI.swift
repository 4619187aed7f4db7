import CNI
import JSON
import System

/// `rootless-netns COMMAND [--state-dir DIR] [-- CMD...]`: the plugin's CLI mode (no CNI_COMMAND).
/// A subcommand is one `CLICommand` in `CLI.commands` (parsing, help and dispatch are shared).
struct CLI {
    static let version = "0.1.0"

    var env: [String: String]

    /// One subcommand: its help text and what it does.
    struct CLICommand: Sendable {
        var name: String
        var synopsis: String
        var summary: String
        var examples: [String]
        /// Takes `-- CMD [ARGS...]`.
        var takesCommand = false
        /// Looks at the shared namespace, so it runs inside the session that owns the state dir.
        var needsSession = true
        var run: @Sendable (CLI, Invocation) throws -> Int32
    }

    /// What a subcommand gets.
    struct Invocation {
        var context: Context
        var command: [String]
        /// How the owning session was reached (see SessionJoin), reported by `status`.
        var session: SessionJoin.Outcome
    }

    static let commands: [CLICommand] = [
        CLICommand(name: "status", synopsis: "status  [--state-dir DIR]",
                   summary: "JSON: the shared namespace, its health, the helper, the attachments",
                   examples: ["rootless-netns status", "rootless-netns status --state-dir \"$XDG_RUNTIME_DIR/rootless-netns\""],
                   run: { cli, inv in cli.status(inv) }),
        CLICommand(name: "enter", synopsis: "enter   [--state-dir DIR] -- COMMAND [ARGS...]",
                   summary: "run COMMAND inside the shared namespace, with the delegates' mounts",
                   examples: ["rootless-netns enter -- ip addr", "rootless-netns enter -- iptables -t nat -S"],
                   takesCommand: true, run: { cli, inv in try cli.enter(inv) }),
        CLICommand(name: "cleanup", synopsis: "cleanup [--state-dir DIR]",
                   summary: "forced teardown: forget every attachment, stop the helper, remove the namespace",
                   examples: ["rootless-netns cleanup"], run: { cli, inv in try cli.cleanup(inv) }),
        CLICommand(name: "gc", synopsis: "gc      [--state-dir DIR]",
                   summary: "release attachments whose container namespace is provably gone (their chain's DEL; CNI_PATH finds the delegates)",
                   examples: ["rootless-netns gc", "CNI_PATH=/usr/lib/cni rootless-netns gc --state-dir \"$XDG_RUNTIME_DIR/rootless-netns\""],
                   run: { cli, inv in try cli.gc(inv) }),
    ]

    static var usage: String {
        var text = "usage: rootless-netns COMMAND [--state-dir DIR] [-- COMMAND...]\n\ncommands:\n"
        for c in commands { text += "  rootless-netns \(c.synopsis)\n      \(c.summary)\n" }
        text += """

            options:
              --state-dir DIR  the plugin's stateDir (default: $XDG_RUNTIME_DIR/rootless-netns; root: /run/rootless-netns)
              -h, --help       this help (COMMAND --help: that command's)
              --version        the version and the CNI versions spoken

            Outside the rootless session that ran ADD (e.g. rootlesskit's, cnitool's) the CLI joins
            that session's user + mount namespace by itself (recorded in DIR/session.json).
            As a CNI plugin it runs when CNI_COMMAND is set; see README.md.

            examples:

            """
        for c in commands { text += c.examples.map { "  \($0)\n" }.joined() }
        return text
    }

    static func help(_ c: CLICommand) -> String {
        "usage: rootless-netns \(c.synopsis)\n\(c.summary)\n\nexamples:\n" + c.examples.map { "  \($0)\n" }.joined()
    }

    static var versionText: String {
        "rootless-netns \(version) (CNI \(CNIVersion.all.map(\.description).joined(separator: ", ")))\n"
    }

    /// What the arguments ask for, or what is wrong with them (a message for stderr, exit 2).
    enum Parsed: Equatable {
        case help(String)
        case version
        case run(command: String, stateDir: String?, argv: [String])
        case usageError(String)
    }

    static func parse(_ args: [String]) -> Parsed {
        guard let verb = args.first else { return .usageError("missing command") }
        switch verb {
        case "-h", "--help", "help":
            if args.count > 1, let c = commands.first(where: { $0.name == args[1] }) { return .help(Self.help(c)) }
            return .help(usage)
        case "--version", "-V", "version": return .version
        default: break
        }
        guard let cmd = commands.first(where: { $0.name == verb }) else {
            if verb.hasPrefix("-") { return .usageError("\(verb) is not an option here; options follow the command, e.g. rootless-netns status \(verb)") }
            let hint = ConfigKeys.suggestion(for: verb, among: commands.map(\.name)).map { " (did you mean \"\($0)\"?)" } ?? ""
            return .usageError("\"\(verb)\" is not a command\(hint); commands: \(commands.map(\.name).joined(separator: ", "))")
        }
        var rest = Array(args.dropFirst())
        var argv: [String] = []
        var sawDash = false
        if let dash = rest.firstIndex(of: "--") {
            argv = Array(rest[(dash + 1)...])
            rest = Array(rest[..<dash])
            sawDash = true
        }
        var stateDir: String?
        var i = 0
        while i < rest.count {
            let a = rest[i]
            if a == "-h" || a == "--help" { return .help(help(cmd)) }
            if a == "--state-dir" {
                guard i + 1 < rest.count, !rest[i + 1].isEmpty else { return .usageError("--state-dir needs a directory, e.g. --state-dir \"$XDG_RUNTIME_DIR/rootless-netns\"") }
                stateDir = rest[i + 1]; i += 2; continue
            }
            if a.hasPrefix("--state-dir=") {
                let v = String(a.dropFirst("--state-dir=".count))
                guard !v.isEmpty else { return .usageError("--state-dir needs a directory") }
                stateDir = v; i += 1; continue
            }
            if a.hasPrefix("-") { return .usageError("\(cmd.name): unknown option \(a)") }
            if cmd.takesCommand { return .usageError("\(cmd.name): put the command after --, e.g. rootless-netns \(cmd.name) -- \(rest[i...].joined(separator: " "))") }
            return .usageError("\(cmd.name): unexpected argument \"\(a)\"")
        }
        if cmd.takesCommand {
            if !sawDash { return .usageError("\(cmd.name) needs a command after --, e.g. rootless-netns \(cmd.name) -- ip addr") }
            if argv.isEmpty { return .usageError("\(cmd.name): no command after --") }
        } else if sawDash {
            return .usageError("\(cmd.name) takes no command (only enter does)")
        }
        return .run(command: cmd.name, stateDir: stateDir, argv: argv)
    }

    func run(_ args: [String]) -> Int32 {
        switch Self.parse(args) {
        case .help(let text): StdIO.writeStdout(text); return 0
        case .version: StdIO.writeStdout(Self.versionText); return 0
        case .usageError(let message): fail(message + "\nrun 'rootless-netns --help' for usage"); return 2
        case .run(let name, let stateDir, let argv):
            guard let cmd = Self.commands.first(where: { $0.name == name }) else { return 2 }
            do {
                let normalized: String?
                do { normalized = try stateDir.map(RootlessConfig.normalizeStateDir) } catch {
                    fail("--state-dir: \(error.msg)"); return 2
                }
                let context = try Context(config: .defaults(stateDir: normalized), hostEnv: env)
                var session = SessionJoin.Outcome.notRecorded
                if cmd.needsSession {
                    switch SessionJoin.decide(state: context.state, env: env) {
                    case .stay(let outcome): session = outcome
                    case .join(let pid, let record):
                        return SessionJoin.rerun(joining: pid, record: record, args: args, env: env, fail: fail)
                    }
                }
                return try cmd.run(self, Invocation(context: context, command: argv, session: session))
            } catch {
                fail("\(error)")
                return 1
            }
        }
    }

    func fail(_ message: String) { StdIO.write(fd: 2, Array(("rootless-netns: " + message + "\n").utf8)) }
}
