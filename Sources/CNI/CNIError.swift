import JSON

/// The spec's well-known error codes: the one table every internal error is mapped onto.
public enum CNIErrorCode: Int, Sendable, CaseIterable {
    case incompatibleVersion = 1
    case unsupportedField = 2
    case unknownContainer = 3
    case invalidEnvironment = 4
    case ioFailure = 5
    case decodingFailure = 6
    case invalidNetworkConfig = 7
    case invalidNetns = 8
    case tryAgainLater = 11
    case pluginNotAvailable = 50
    case limitedConnectivity = 51
    case `internal` = 999

    /// The spec's short description of each code, used as the default `details`-free message prefix.
    public var summary: String {
        switch self {
        case .incompatibleVersion: "Incompatible CNI version"
        case .unsupportedField: "Unsupported field in network configuration"
        case .unknownContainer: "Container unknown or does not exist"
        case .invalidEnvironment: "Invalid necessary environment variables"
        case .ioFailure: "I/O failure"
        case .decodingFailure: "Failed to decode content"
        case .invalidNetworkConfig: "Invalid network config"
        case .invalidNetns: "Invalid network namespace"
        case .tryAgainLater: "Try again later"
        case .pluginNotAvailable: "The plugin is not available"
        case .limitedConnectivity: "The plugin is not available; existing containers may have limited connectivity"
        case .internal: "Internal error"
        }
    }
}

/// The error a plugin prints on stdout: `{"cniVersion","code","msg","details"}`.
/// `code` is an Int rather than `CNIErrorCode` because delegates may return any code and
/// a meta-plugin passes it through unchanged.
public struct CNIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var msg: String
    public var details: String

    public init(_ code: CNIErrorCode, _ msg: String, details: String = "") {
        self.code = code.rawValue; self.msg = msg; self.details = details
    }
    public init(rawCode: Int, msg: String, details: String = "") {
        self.code = rawCode; self.msg = msg; self.details = details
    }

    public var description: String { details.isEmpty ? msg : "\(msg); \(details)" }

    public func json(version: String) -> JSON {
        var o: JSONObject = ["cniVersion": .string(version), "code": .int(Int64(code)), "msg": .string(msg)]
        if !details.isEmpty { o["details"] = .string(details) }
        return .object(o)
    }

    /// Reads an error JSON as printed by a plugin; nil when `json` is not one. Like the
    /// reference `invoke` (which unmarshals into types.Error), a numeric `code` without `msg`
    /// is still an error; a missing code reads as 0.
    public init?(json: JSON) {
        guard case .object(let o) = json else { return nil }
        let code = o["code"]?.intValue
        let msg = o["msg"]?.stringValue
        guard msg != nil || code != nil else { return nil }
        self.code = Int(clamping: code ?? 0)
        self.msg = msg ?? ""
        self.details = o["details"]?.stringValue ?? ""
    }
}

/// Errors of the plugins' own modules conform to this so the dispatcher can map them to a
/// code; each plugin module keeps its mapping in one file.
public protocol CNIErrorConvertible: Error {
    var cniError: CNIError { get }
}

extension CNIError: CNIErrorConvertible {
    public var cniError: CNIError { self }
}

/// A JSON text that could not be parsed is a decoding failure (6) wherever it surfaces.
extension JSONParseError: CNIErrorConvertible {
    public var cniError: CNIError { CNIError(.decodingFailure, "decoding JSON: \(description)") }
}
