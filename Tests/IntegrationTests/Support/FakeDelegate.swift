import Foundation

/// The fake CNI delegate (python3) of the chain tests: one fixture,
/// `Tests/IntegrationTests/Fixtures/fake_delegate.py` (its header lists the config keys that make
/// it fail, hang or print garbage), installed under as many names as a chain needs. Every run
/// appends `{"plugin", "command", "containerID", "stdin", "env"}` to `calls.jsonl` next to it.
enum FakeDelegate {
    static let logName = "calls.jsonl"

    /// Found relative to this file, so a fresh clone anywhere finds it.
    static let fixturePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/fake_delegate.py").path

    struct Missing: Error, CustomStringConvertible { let description: String }

    /// Installs the fixture under each of `names` in `dir` (mode 0755); returns the log path.
    @discardableResult
    static func install(in dir: String, names: [String]) throws -> String {
        guard let source = try? String(contentsOfFile: fixturePath, encoding: .utf8) else {
            throw Missing(description: "fake delegate fixture \(fixturePath) is not readable")
        }
        for n in names { try Scratch.write(source, to: "\(dir)/\(n)", mode: 0o755) }
        return "\(dir)/\(logName)"
    }

    /// The log lines written so far, oldest first.
    static func records(_ logPath: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { Command.jsonObject(String($0)) }
    }
}

/// The fake delegate for cnitool chain tests (`fakeExit`, `fakeMsg`, `fakeAddress`, `fakeIfname`).
enum FakePlugin {
    /// Install the plugin under each of `names` in `dir`; returns the log path.
    @discardableResult
    static func install(in dir: String, names: [String]) throws -> String {
        try FakeDelegate.install(in: dir, names: names)
    }

    static func records(_ logPath: String) -> [[String: Any]] { FakeDelegate.records(logPath) }
}
