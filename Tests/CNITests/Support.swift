@testable import CNI
import JSON

/// A plugin whose verbs do what the test says.
struct FakePlugin: CNIPlugin {
    var supportedVersions: [CNIVersion] = CNIVersion.all
    var result = CNIResult(cniVersion: .v1_1_0)
    var failure: (any Error)?
    func run() throws { if let failure { throw failure } }
    func add(_ request: CNIRequest) throws -> CNIResult { try run(); return result }
    func del(_ request: CNIRequest) throws { try run() }
    func check(_ request: CNIRequest) throws { try run() }
    func status(_ request: CNIRequest) throws { try run() }
    func gc(_ request: CNIRequest) throws { try run() }
}

struct SomeError: Error, CustomStringConvertible {
    var description: String { "something broke" }
}

/// Records every execution; answers from a table keyed by plugin basename.
final class FakeExecutor: PluginExecutor, @unchecked Sendable {
    struct Call { var path: String; var env: [String: String]; var stdin: JSON }
    var files: Set<String>
    var outcomes: [String: ExecOutcome] = [:]
    var throwing: Set<String> = []
    var calls: [Call] = []

    init(files: Set<String>) { self.files = files }

    func execute(path: String, env: [String: String], stdin: [UInt8]) throws -> ExecOutcome {
        calls.append(Call(path: path, env: env, stdin: (try? JSON.parse(stdin)) ?? .null))
        let name = String(path.split(separator: "/").last ?? "")
        if throwing.contains(name) { throw SomeError() }
        return outcomes[name] ?? ExecOutcome(exitCode: 0, stdout: [], stderr: [])
    }
    func isExecutableFile(_ path: String) -> Bool { files.contains(path) }

    func succeed(_ name: String, stdout: String, stderr: String = "") {
        outcomes[name] = ExecOutcome(exitCode: 0, stdout: Array(stdout.utf8), stderr: Array(stderr.utf8))
    }
    func fail(_ name: String, exit: Int32? = 1, signal: Int32? = nil, stdout: String, stderr: String = "",
              timedOut: Bool = false) {
        outcomes[name] = ExecOutcome(exitCode: exit, signal: signal, stdout: Array(stdout.utf8),
                                     stderr: Array(stderr.utf8), timedOut: timedOut)
    }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

func obj(_ text: String) -> JSONObject {
    (try? JSON.parse(text))?.objectValue ?? JSONObject()
}
