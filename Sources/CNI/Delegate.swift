import JSON

/// How a finished plugin process ended, as the executor saw it.
public struct ExecOutcome: Sendable {
    public var exitCode: Int32?      // nil when killed by a signal
    public var signal: Int32?
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    public var timedOut: Bool
    public init(exitCode: Int32?, signal: Int32? = nil, stdout: [UInt8], stderr: [UInt8], timedOut: Bool = false) {
        self.exitCode = exitCode; self.signal = signal; self.stdout = stdout
        self.stderr = stderr; self.timedOut = timedOut
    }
}

/// Runs a plugin binary. Implementations live outside this module (syscalls), so the
/// invocation logic below is unit-tested with fakes.
public protocol PluginExecutor {
    /// Runs `path` with exactly `env` and `stdin`. Throws only when it could not be run at all.
    func execute(path: String, env: [String: String], stdin: [UInt8]) throws -> ExecOutcome
    /// Whether `path` is a regular, executable file.
    func isExecutableFile(_ path: String) -> Bool
}

/// Delegate invocation as the reference `invoke` package does it.
public struct DelegateInvoker {
    public var executor: any PluginExecutor
    public var searchPath: [String]
    /// Variables every delegate gets besides CNI_* (e.g. PATH); the caller decides how much of
    /// its own environment that is.
    public var baseEnv: [String: String]
    /// Receives each delegate's stderr, which libcni passes through.
    public var stderrSink: ([UInt8]) -> Void
    /// With a cache, chains ask each delegate's VERSION and bridge versions (VersionBridge);
    /// without one every delegate runs at the chain's version, as libcni runs it.
    public var versionCache: (any PluginVersionCache)?

    public init(executor: any PluginExecutor, searchPath: [String], baseEnv: [String: String] = [:],
                stderrSink: @escaping ([UInt8]) -> Void = { _ in }, versionCache: (any PluginVersionCache)? = nil) {
        self.executor = executor; self.searchPath = searchPath
        self.baseEnv = baseEnv; self.stderrSink = stderrSink; self.versionCache = versionCache
    }

    /// invoke.FindInPath: names with a path separator are refused; first regular executable wins.
    public func find(_ type: String) throws(CNIError) -> String {
        if type.isEmpty { throw CNIError(.invalidNetworkConfig, "delegate has no type") }
        if type.contains("/") {
            throw CNIError(.invalidNetworkConfig, "invalid plugin name \"\(type)\": must not contain /")
        }
        if searchPath.isEmpty {
            throw CNIError(.invalidEnvironment, "no plugin search path (CNI_PATH) to find \"\(type)\" in")
        }
        for dir in searchPath {
            let full = dir.hasSuffix("/") ? dir + type : dir + "/" + type
            if executor.isExecutableFile(full) { return full }
        }
        throw CNIError(.pluginNotAvailable,
                       "failed to find plugin \"\(type)\" in path [\(searchPath.joined(separator: " "))]")
    }

    /// Runs one delegate. For ADD returns its result, parsed and with a missing cniVersion
    /// filled from the config; for other commands returns nil. A failing delegate's error JSON
    /// (or its stderr when stdout is empty) becomes the thrown error, code passed through.
    public func invoke(command: CNICommand, config: JSONObject, env: CNIEnvironment,
                       version: CNIVersion) throws(CNIError) -> CNIResult? {
        let type = config.goField("type")?.stringValue ?? ""
        let path = try find(type)
        var vars = baseEnv
        for (k, v) in env.delegateVariables(command: command) { vars[k] = v }
        vars["CNI_PATH"] = searchPath.joined(separator: ":")
        let stdin = Array(JSON.object(config).encoded().utf8)
        let outcome: ExecOutcome
        do { outcome = try executor.execute(path: path, env: vars, stdin: stdin) } catch {
            throw CNIError(.ioFailure, "running \(path): \(error)")
        }
        if !outcome.stderr.isEmpty { stderrSink(outcome.stderr) }
        // invoke's fixupResultVersion: a result without cniVersion gets the config's.
        let configVersion = config.goField("cniVersion")?.stringValue.flatMap(CNIVersion.init) ?? version
        return try interpret(outcome, plugin: type, command: command, version: configVersion)
    }

    func interpret(_ o: ExecOutcome, plugin: String, command: CNICommand,
                   version: CNIVersion) throws(CNIError) -> CNIResult? {
        if o.timedOut {
            throw CNIError(.tryAgainLater, "plugin \(plugin) \(command.rawValue) timed out and was killed")
        }
        guard o.exitCode == 0 else {
            let how = o.exitCode.map { "exit status \($0)" } ?? "signal \(o.signal ?? 0)"
            if o.stdout.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 9 || $0 == 13 }) {
                let stderr = String(decoding: o.stderr, as: UTF8.self)
                throw CNIError(.internal, stderr.isEmpty
                    ? "plugin \(plugin) failed with no error message: \(how)"
                    : "plugin \(plugin) failed: \(stderr.trimmingTrailingNewlines)")
            }
            guard let json = try? JSON.parse(o.stdout), let e = CNIError(json: json) else {
                throw CNIError(.decodingFailure, "plugin \(plugin) failed (\(how)) and its error output is not CNI error JSON",
                               details: String(decoding: o.stdout.prefix(512), as: UTF8.self))
            }
            // Code 0 is not a CNI code; such plugins get "internal".
            return try { () throws(CNIError) -> CNIResult? in
                throw e.code == 0 ? CNIError(.internal, e.msg, details: e.details) : e
            }()
        }
        guard command == .add else { return nil }
        let json: JSON
        do { json = try JSON.parse(o.stdout) } catch {
            throw CNIError(.decodingFailure, "plugin \(plugin) printed an invalid result: \(error)",
                           details: String(decoding: o.stdout.prefix(512), as: UTF8.self))
        }
        return try CNIResult.parse(json, fallbackVersion: version)
    }
}

extension String {
    var trimmingTrailingNewlines: String {
        var s = Substring(self)
        while let last = s.last, last == "\n" || last == "\r" || last == " " { s = s.dropLast() }
        return String(s)
    }
}
