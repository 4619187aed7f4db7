import Foundation

/// Unique names and throwaway directories / network namespaces.
enum Scratch {
    /// `prefix` + 6 random hex digits: short enough for netns names and, with
    /// a prefix of up to 9 characters, for interface names (15 max).
    static func uniqueName(_ prefix: String) -> String {
        prefix + String(format: "%06x", UInt32.random(in: 0..<0x100_0000))
    }

    /// A new directory under /tmp (mode 0755 so a test user can traverse it).
    /// Remove it with `removeDirectory` in a `defer`.
    static func makeDirectory(_ prefix: String = "rcni-test-") throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName(prefix)).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        return path
    }

    static func removeDirectory(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Write `text` to `path`, with the given mode.
    static func write(_ text: String, to path: String, mode: Int = 0o644) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    /// JSON text of a Foundation value (sorted keys, for stable files).
    static func jsonText(_ value: Any) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}

/// A named network namespace in /run/netns made with `ip netns add` (root).
///
///     let ns = try HostNetns.create("rcni-c-")
///     defer { ns.remove() }
///     Command.run(["ip", "-n", ns.name, "-j", "addr"])
struct HostNetns: Sendable {
    let name: String
    var path: String { "/run/netns/\(name)" }

    struct Failure: Error, CustomStringConvertible { let description: String }

    static func create(_ prefix: String) throws -> HostNetns {
        let ns = HostNetns(name: Scratch.uniqueName(prefix))
        let r = Command.run(["ip", "netns", "add", ns.name], timeout: 15)
        guard r.succeeded else { throw Failure(description: "ip netns add failed: \(r)") }
        // Loopback up, as a container runtime would.
        _ = Command.run(["ip", "-n", ns.name, "link", "set", "lo", "up"], timeout: 15)
        return ns
    }

    /// Run `argv` inside the namespace (`ip netns exec`).
    func exec(_ argv: [String], timeout: TimeInterval = 60, environment: [String: String] = [:],
              input: String? = nil) -> CommandResult {
        Command.run(["ip", "netns", "exec", name] + argv, timeout: timeout,
                    environment: environment, input: input)
    }

    /// Delete it; fine if already gone.
    func remove() {
        if FileManager.default.fileExists(atPath: path) {
            _ = Command.run(["ip", "netns", "del", name], timeout: 15)
        }
    }
}
