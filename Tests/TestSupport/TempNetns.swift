import System

/// A fresh `TempDir` with a new network namespace mounted on its `ns` file, for the tests that
/// need one (uid 0). `cleanup()` unmounts and removes the namespace, then the directory; a
/// failed create leaves nothing behind.
public struct TempNetns: Sendable {
    public let dir: TempDir
    public let path: String

    public init(_ prefix: String = "rcni-unit") throws {
        let dir = try TempDir(prefix)
        let path = dir.sub("ns")
        do { try NetNS.create(at: path) } catch {
            dir.cleanup()
            throw error
        }
        self.dir = dir
        self.path = path
    }

    public func cleanup() {
        try? NetNS.remove(at: path)
        dir.cleanup()
    }
}
