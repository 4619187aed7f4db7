import JSON

/// One invocation: validated environment, parsed config and the raw stdin bytes.
public struct CNIRequest: Sendable {
    public var env: CNIEnvironment
    public var config: NetConf
    public var stdin: [UInt8]
    public init(env: CNIEnvironment, config: NetConf, stdin: [UInt8]) {
        self.env = env; self.config = config; self.stdin = stdin
    }
}

/// A plugin's verbs. The dispatcher validates env and config before calling them, renders
/// ADD's result in the config's version, and maps thrown errors to CNI error JSON.
public protocol CNIPlugin {
    var supportedVersions: [CNIVersion] { get }
    func add(_ request: CNIRequest) throws -> CNIResult
    func del(_ request: CNIRequest) throws
    func check(_ request: CNIRequest) throws
    func status(_ request: CNIRequest) throws
    func gc(_ request: CNIRequest) throws
}

extension CNIPlugin {
    public var supportedVersions: [CNIVersion] { CNIVersion.all }
}

/// What the executable prints and exits with.
public struct PluginOutput: Sendable, Equatable {
    public var stdout: String
    public var exitCode: Int32
}

public enum PluginMain {
    /// Runs one CNI invocation in skel's order: env (3/4), VERSION, config (6/1/7), the
    /// per-command version gates (CHECK >= 0.4.0, GC/STATUS >= 1.1.0), then the verb.
    public static func dispatch(_ plugin: some CNIPlugin, env rawEnv: [String: String],
                                readStdin: () throws -> [UInt8]) -> PluginOutput {
        var errorVersion = CNIVersion.latest.description
        func fail(_ e: CNIError) -> PluginOutput {
            PluginOutput(stdout: e.json(version: errorVersion).encoded() + "\n", exitCode: 1)
        }
        do {
            let env = try CNIEnvironment.parse(rawEnv)
            let stdin: [UInt8]
            do { stdin = try readStdin() } catch {
                throw CNIError(.ioFailure, "reading network config from stdin: \(error)")
            }
            if env.command == .version {
                // The spec echoes a supported config version; anything else gets the latest.
                let asked = (try? JSON.parse(stdin))?["cniVersion"]?.stringValue.flatMap(CNIVersion.init)
                let v = asked.flatMap { plugin.supportedVersions.contains($0) ? $0 : nil } ?? .latest
                return PluginOutput(stdout: PluginVersionInfo(supported: plugin.supportedVersions)
                    .json(for: v).encoded() + "\n", exitCode: 0)
            }
            if let v = (try? JSON.parse(stdin))?["cniVersion"]?.stringValue, !v.isEmpty { errorVersion = v }
            let config = try NetConf.parse(stdin, supported: plugin.supportedVersions)
            errorVersion = config.version.description
            let request = CNIRequest(env: env, config: config, stdin: stdin)
            switch env.command {
            case .add:
                let result = try plugin.add(request)
                return PluginOutput(stdout: result.json(version: config.version).encoded() + "\n", exitCode: 0)
            case .del:
                try plugin.del(request)
            case .check:
                try requireVersion(config.version, atLeast: .v0_4_0, for: "CHECK")
                try plugin.check(request)
            case .status:
                try requireVersion(config.version, atLeast: .v1_1_0, for: "STATUS")
                try plugin.status(request)
            case .gc:
                try requireVersion(config.version, atLeast: .v1_1_0, for: "GC")
                try plugin.gc(request)
            case .version:
                break
            }
            return PluginOutput(stdout: "", exitCode: 0)
        } catch {
            return fail(cniError(from: error))
        }
    }

    static func requireVersion(_ v: CNIVersion, atLeast min: CNIVersion, for command: String) throws(CNIError) {
        if v < min {
            throw CNIError(.incompatibleVersion, "config version does not allow \(command)",
                           details: "config is \"\(v)\", \(command) needs \(min) or later")
        }
    }

    /// The single point where errors become CNI errors; types that know their code conform to
    /// `CNIErrorConvertible`, everything else is internal (999).
    public static func cniError(from error: any Error) -> CNIError {
        if let e = error as? any CNIErrorConvertible { return e.cniError }
        return CNIError(.internal, "\(error)")
    }
}
