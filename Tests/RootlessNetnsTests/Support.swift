import CNI
import Glibc
import JSON
import System
@testable import RootlessNetns

/// A fresh private directory under /tmp, removed by `cleanup()`.
struct TempDir {
    let path: String

    init(_ tag: String = "rlu") {
        var template = Array("/tmp/\(tag)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func cleanup() { try? FS.removeTree(path) }

    func mkdir(_ rel: String) {
        try! FS.mkdirAll(path + "/" + rel, mode: 0o755)
    }

    func file(_ rel: String, _ text: String = "") {
        let full = path + "/" + rel
        try! FS.mkdirAll(Path.dirname(full), mode: 0o755)
        try! FS.writeFileAtomically(full, Array(text.utf8), mode: 0o644)
    }

    /// `rel` becomes a symlink whose text is `target` (kept verbatim: absolute targets stay logical).
    func link(_ rel: String, to target: String) {
        let full = path + "/" + rel
        try! FS.mkdirAll(Path.dirname(full), mode: 0o755)
        precondition(symlink(target, full) == 0, "symlink \(full) failed: \(errno)")
    }

    func exists(_ rel: String) -> Bool { FS.exists(path + "/" + rel) }
}

/// A fake readLink over a tree rooted at `root`: logical paths are mapped under the root;
/// symlinks return their text unchanged; missing paths throw.
struct FakeTreeError: Error, Equatable { var path: String }

func fakeReadLink(root: String) -> (String) throws -> String? {
    return { logical in
        let real = root + logical
        guard let info = try FS.lstat(real) else { throw FakeTreeError(path: logical) }
        return info.type == .symlink ? try FS.readlink(real) : nil
    }
}

func netConf(_ json: String) throws -> NetConf {
    try NetConf.parse(Array(json.utf8))
}

/// A rootless-netns plugin entry with `extra` keys spliced in (a JSON fragment, e.g. `"mtu": 1500,`).
func pluginJSON(_ extra: String = "", delegates: String = #"[{"type":"bridge"}]"#) -> String {
    """
    {"cniVersion":"1.0.0","name":"rootless","type":"rootless-netns",\(extra)"delegates":\(delegates)}
    """
}

func parseConfig(_ extra: String = "", delegates: String = #"[{"type":"bridge"}]"#) throws -> RootlessConfig {
    try RootlessConfig.parse(try netConf(pluginJSON(extra, delegates: delegates)))
}

/// The CNIError `body` throws, or nil if it does not throw one.
func cniError(_ body: () throws -> Void) -> CNIError? {
    do { try body() } catch let e as CNIError { return e } catch let e as RootlessError { return e.cniError } catch {
        return nil
    }
    return nil
}
