import Glibc
import System

/// A fresh private (0700) directory under /tmp for one test, removed by `cleanup()`, with
/// helpers to lay out files, directories and symlinks in it. Failures throw: a test that cannot
/// set up its tree fails alone instead of taking the whole test process down.
public struct TempDir: Sendable {
    public let path: String

    public init(_ prefix: String = "rcni-unit") throws {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else {
            throw SystemError(op: "mkdtemp", path: "/tmp", errno: errno)
        }
        path = String(cString: p)
    }

    /// `path/rel`.
    public func sub(_ rel: String) -> String { path + "/" + rel }

    public func cleanup() { try? FS.removeTree(path) }

    public func exists(_ rel: String) -> Bool { FS.exists(sub(rel)) }

    /// `rel` and its missing parents, mode 0755.
    public func mkdir(_ rel: String) throws {
        try FS.mkdirAll(sub(rel), mode: 0o755)
    }

    /// `rel` holding `text` (mode 0644), its missing parents made.
    public func file(_ rel: String, _ text: String = "") throws {
        try makeParent(rel)
        try FS.writeFileAtomically(sub(rel), Array(text.utf8), mode: 0o644)
    }

    /// `rel` becomes a symlink whose text is `target` (kept verbatim: absolute targets stay logical).
    public func link(_ rel: String, to target: String) throws {
        try makeParent(rel)
        guard symlink(target, sub(rel)) == 0 else { throw SystemError(op: "symlink", path: sub(rel), errno: errno) }
    }

    private func makeParent(_ rel: String) throws {
        guard let slash = rel.lastIndex(of: "/") else { return }
        try FS.mkdirAll(sub(String(rel[..<slash])), mode: 0o755)
    }
}
