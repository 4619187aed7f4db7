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
        let a = DelegateVersionCache(stateRoot: dir.path)
        for n in 1...40 { a.store(["1.0.0"], for: id(UInt64(n))) }
        let b = DelegateVersionCache(stateRoot: dir.path)
        #expect(b.versions(for: id(40)) == ["1.0.0"])
        #expect(b.versions(for: id(9)) == ["1.0.0"])
        #expect(b.versions(for: id(8)) == nil, "only the newest 32 are kept")
        let info = try #require(try FS.stat(dir.path + "/var/delegate-versions.json"))
        #expect(info.mode == 0o600)
        #expect(!(try FS.listDirectory(dir.path + "/var")).contains { $0.contains(".tmp-") })
    }

    @Test func missingDirIsNotCreatedAndCorruptFileIsEmpty() throws {
        let dir = try TempDir(); defer { dir.cleanup() }
        let gone = DelegateVersionCache(stateRoot: dir.path)
        gone.store(["1.0.0"], for: id(1))
        #expect(gone.versions(for: id(1)) == ["1.0.0"], "kept in process")
        #expect(!dir.exists("var"))
        try dir.file("var/delegate-versions.json", "{not json")
        #expect(DelegateVersionCache(stateRoot: dir.path).versions(for: id(1)) == nil)
    }

    /// Identity is dev/ino/size/mtime: rewriting the binary changes it.
    @Test func identityFollowsTheBinary() throws {
        let dir = try TempDir(); defer { dir.cleanup() }
        try dir.file("plugin", "one")
        let cache = DelegateVersionCache(stateRoot: dir.path)
        let first = try #require(cache.identity(of: dir.path + "/plugin"))
        try dir.file("plugin", "three")   // a new inode (rename) and size
        #expect(cache.identity(of: dir.path + "/plugin") != first)
        #expect(cache.identity(of: dir.path + "/missing") == nil)
    }
}
