/// CNI_COMMAND values.
public enum CNICommand: String, Sendable, CaseIterable {
    case add = "ADD", del = "DEL", check = "CHECK", status = "STATUS", gc = "GC", version = "VERSION"
}

/// The CNI_* variables of one invocation, validated as the spec and the reference `skel` do.
public struct CNIEnvironment: Sendable, Equatable {
    public var command: CNICommand
    public var containerID: String
    public var netns: String
    public var ifName: String
    public var args: [(key: String, value: String)]
    public var path: [String]
    /// The raw CNI_ARGS string, passed on to delegates unchanged.
    public var rawArgs: String

    public init(command: CNICommand, containerID: String = "", netns: String = "", ifName: String = "",
                rawArgs: String = "", path: [String] = []) {
        self.command = command; self.containerID = containerID; self.netns = netns
        self.ifName = ifName; self.rawArgs = rawArgs; self.path = path
        self.args = (try? Self.parseArgs(rawArgs)) ?? []
    }

    public static func == (a: CNIEnvironment, b: CNIEnvironment) -> Bool {
        a.command == b.command && a.containerID == b.containerID && a.netns == b.netns
            && a.ifName == b.ifName && a.rawArgs == b.rawArgs && a.path == b.path
    }

    /// Which variables each command requires (skel's table).
    static func required(for command: CNICommand) -> [String] {
        switch command {
        case .add, .check: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"]
        case .del: ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"]
        case .gc: ["CNI_PATH"]
        case .status, .version: []
        }
    }

    /// Parses and validates `env`. Errors: code 4 for missing/invalid variables, 3 for an empty
    /// container ID where one is needed.
    public static func parse(_ env: [String: String]) throws(CNIError) -> CNIEnvironment {
        guard let rawCommand = env["CNI_COMMAND"], !rawCommand.isEmpty else {
            throw CNIError(.invalidEnvironment, "required env variables [CNI_COMMAND] missing")
        }
        guard let command = CNICommand(rawValue: rawCommand) else {
            throw CNIError(.invalidEnvironment, "unknown CNI_COMMAND: \(rawCommand)")
        }
        let required = Self.required(for: command)
        // An empty container ID is "unknown container" (3), reported before other missing vars.
        if required.contains("CNI_CONTAINERID"), (env["CNI_CONTAINERID"] ?? "").isEmpty {
            throw CNIError(.unknownContainer, "missing containerID (CNI_CONTAINERID)")
        }
        let missing = required.filter { (env[$0] ?? "").isEmpty }
        if !missing.isEmpty {
            throw CNIError(.invalidEnvironment, "required env variables [\(missing.joined(separator: ","))] missing")
        }
        let containerID = env["CNI_CONTAINERID"] ?? ""
        if !containerID.isEmpty {
            try Validation.containerID(containerID)
        }
        let ifName = env["CNI_IFNAME"] ?? ""
        if required.contains("CNI_IFNAME") || !ifName.isEmpty {
            try Validation.interfaceName(ifName)
        }
        let rawArgs = env["CNI_ARGS"] ?? ""
        let args = try parseArgs(rawArgs)
        let path = (env["CNI_PATH"] ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
        var result = CNIEnvironment(command: command, containerID: containerID, netns: env["CNI_NETNS"] ?? "",
                                    ifName: ifName, rawArgs: rawArgs, path: path)
        result.args = args
        return result
    }

    /// CNI_ARGS: `K=V;K=V`. Empty pairs are skipped; a pair without `=` is invalid (code 4).
    public static func parseArgs(_ raw: String) throws(CNIError) -> [(key: String, value: String)] {
        var out: [(key: String, value: String)] = []
        for pair in raw.split(separator: ";", omittingEmptySubsequences: true) {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw CNIError(.invalidEnvironment, "invalid CNI_ARGS pair \"\(pair)\": expected KEY=VALUE")
            }
            out.append((String(pair[..<eq]), String(pair[pair.index(after: eq)...])))
        }
        return out
    }

    /// The CNI_* variables to hand to a delegate for `command`.
    public func delegateVariables(command: CNICommand? = nil) -> [String: String] {
        var env: [String: String] = ["CNI_COMMAND": (command ?? self.command).rawValue]
        if !containerID.isEmpty { env["CNI_CONTAINERID"] = containerID }
        if !netns.isEmpty { env["CNI_NETNS"] = netns }
        if !ifName.isEmpty { env["CNI_IFNAME"] = ifName }
        if !rawArgs.isEmpty { env["CNI_ARGS"] = rawArgs }
        if !path.isEmpty { env["CNI_PATH"] = path.joined(separator: ":") }
        return env
    }
}

/// Name rules shared by the spec, skel and libcni.
public enum Validation {
    /// `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`
    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.utf8.first else { return false }
        func alnum(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
        return alnum(first) && s.utf8.dropFirst().allSatisfy { alnum($0) || $0 == 95 || $0 == 46 || $0 == 45 }
    }

    public static func containerID(_ id: String) throws(CNIError) {
        if id.isEmpty { throw CNIError(.unknownContainer, "missing containerID (CNI_CONTAINERID)") }
        if !isIdentifier(id) {
            throw CNIError(.invalidEnvironment, "invalid characters in containerID (CNI_CONTAINERID)",
                           details: id)
        }
    }

    public static func networkName(_ name: String) throws(CNIError) {
        if name.isEmpty { throw CNIError(.invalidNetworkConfig, "missing network name") }
        if !isIdentifier(name) {
            throw CNIError(.invalidNetworkConfig, "invalid characters found in network name", details: name)
        }
    }

    /// 1-15 bytes (IFNAMSIZ-1), not "." or "..", no "/", ":" or whitespace.
    public static func interfaceName(_ name: String) throws(CNIError) {
        func fail(_ why: String) -> CNIError {
            CNIError(.invalidEnvironment, "invalid interface name (CNI_IFNAME): \(why)", details: name)
        }
        if name.isEmpty { throw fail("empty") }
        if name.utf8.count > 15 { throw fail("longer than 15 characters") }
        if name == "." || name == ".." { throw fail("is . or ..") }
        for scalar in name.unicodeScalars {
            if scalar == "/" || scalar == ":" || scalar.properties.isWhitespace || scalar.value < 0x20 {
                throw fail("contains / or : or whitespace")
            }
        }
    }
}
