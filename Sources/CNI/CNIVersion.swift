import JSON

/// A CNI spec version ("1.0.0"). Only the versions this project speaks can be constructed
/// through `supported(_:)`; any well-formed version can be parsed for comparisons.
public struct CNIVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let major: Int, minor: Int, patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        self.major = major; self.minor = minor; self.patch = patch
    }

    /// Parses "X.Y.Z" (and "X.Y", as the Go library does); nil when malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3 else { return nil }
        var numbers: [Int] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 6, p.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(p)
            else { return nil }
            numbers.append(n)
        }
        self.init(numbers[0], numbers[1], numbers.count == 3 ? numbers[2] : 0)
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (a: CNIVersion, b: CNIVersion) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }

    public static let v0_3_0 = CNIVersion(0, 3, 0)
    public static let v0_3_1 = CNIVersion(0, 3, 1)
    public static let v0_4_0 = CNIVersion(0, 4, 0)
    public static let v1_0_0 = CNIVersion(1, 0, 0)
    public static let v1_1_0 = CNIVersion(1, 1, 0)

    /// Every version whose configs and results this project reads and writes.
    public static let all: [CNIVersion] = [.v0_3_0, .v0_3_1, .v0_4_0, .v1_0_0, .v1_1_0]
    public static let latest: CNIVersion = .v1_1_0

    /// Results of 0.3.x and 0.4.0 carry `ips[].version`; 1.0.0 dropped it.
    public var hasIPVersionField: Bool { self < .v1_0_0 }
    /// 1.1.0 added interface mtu/socketPath/pciID and route mtu/advmss/priority/table/scope.
    public var hasV11Fields: Bool { self >= .v1_1_0 }
}

/// What a plugin prints for VERSION.
public struct PluginVersionInfo: Sendable {
    public var supported: [CNIVersion]
    public init(supported: [CNIVersion] = CNIVersion.all) { self.supported = supported }

    /// VERSION output; `cniVersion` is the config's when one was given, else the latest.
    public func json(for version: CNIVersion = .latest) -> JSON {
        ["cniVersion": .string(version.description),
         "supportedVersions": .array(supported.map { .string($0.description) })]
    }
}
