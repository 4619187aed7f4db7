import CNI
import JSON
import System
import Testing
@testable import RootlessNetns
import TestSupport

@Suite struct DelegateVersionCacheTests {
    func id(_ n: UInt64) -> BinaryIdentity { BinaryIdentity(dev: 1, ino: n, size: 10, mtimeSec: 5, mtimeNsec: 6) }

    @Test func persistsAcrossInstancesBounded() throws {
        let dir = try TempDir(); defer { dir.cleanup() }
        try dir.mkdir("var")
        let file = dir.path + "/delegates.json"
        let a = DelegateVersionCache(file: file, writableWhile: dir.path + "/var")
        for n in 1...40 { a.store(["1.0.0"], for: id(UInt64(n))) }
        let b = DelegateVersionCache(file: file, writableWhile: dir.path + "/var")
        #expect(b.versions(for: id(40)) == ["1.0.0"])
        #expect(b.versions(for: id(9)) == ["1.0.0"])
        #expect(b.versions(for: id(8)) == nil, "only the newest 32 are kept")
        let info = try #require(try FS.stat(file))
        #expect(info.mode == 0o600)
        #expect(!(try FS.listDirectory(dir.path)).contains { $0.contains(".tmp-") })
    }

    /// Nothing is written while no shared namespace is set up (its `var` is missing).
    @Test func nothingWrittenWithoutTheGateAndCorruptFileIsEmpty() throws {
        let dir = try TempDir(); defer { dir.cleanup() }
        let file = dir.path + "/delegates.json"
        let gone = DelegateVersionCache(file: file, writableWhile: dir.path + "/var")
        gone.store(["1.0.0"], for: id(1))
        #expect(gone.versions(for: id(1)) == ["1.0.0"], "kept in process")
        #expect(!dir.exists("delegates.json") && !dir.exists("var"))
        try dir.file("delegates.json", "{not json")
        try dir.mkdir("var")
        #expect(DelegateVersionCache(file: file, writableWhile: dir.path + "/var").versions(for: id(1)) == nil)
    }

    /// The file is outside the state dir, so the answers outlive a teardown (which removes `var`)
    /// and the next cold ADD asks nobody (regression: they lived in `var/` and went with it).
    @Test func answersOutliveTheTeardown() throws {
        let dir = try TempDir(); defer { dir.cleanup() }
        try dir.mkdir("state/var")
        let before = DelegateVersionCache(userCacheDirectory: dir.path, stateRoot: dir.path + "/state")
        before.store(["0.4.0", "1.0.0"], for: id(7))
        try FS.removeTree(dir.path + "/state/var")   // the teardown
        let after = DelegateVersionCache(userCacheDirectory: dir.path, stateRoot: dir.path + "/state")
        #expect(after.versions(for: id(7)) == ["0.4.0", "1.0.0"])
        #expect(dir.exists("rootless-netns-delegates.json"))
    }

    /// Identity is dev/ino/size/mtime: rewriting the binary changes it.
    @Test func identityFollowsTheBinary() throws {
        let dir = try TempDir(); defer { dir.cleanup() }
        try dir.file("plugin", "one")
        let cache = DelegateVersionCache(file: dir.path + "/delegates.json", writableWhile: dir.path)
        let first = try #require(cache.identity(of: dir.path + "/plugin"))
        try dir.file("plugin", "three")   // a new inode (rename) and size
        #expect(cache.identity(of: dir.path + "/plugin") != first)
        #expect(cache.identity(of: dir.path + "/missing") == nil)
    }
}
