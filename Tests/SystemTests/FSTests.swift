import Glibc
import System
import Testing
import TestSupport

@Suite struct FSTests {
    @Test func writeReadAtomically() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let f = dir.sub("state.json")
        try FS.writeFileAtomically(f, bytes("one"), mode: 0o640)
        try FS.writeFileAtomically(f, bytes("two"), mode: 0o640)
        #expect(try FS.readFile(f) == bytes("two"))
        let info = try #require(try FS.lstat(f))
        #expect(info.type == .regular)
        #expect(info.mode == 0o640)
        #expect(try FS.listDirectory(dir.path) == ["state.json"])  // no temp files left
    }

    @Test func readFileLimitAndMissing() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let f = dir.sub("big")
        try FS.writeFileAtomically(f, [UInt8](repeating: 7, count: 100))
        #expect(throws: SystemError(op: "read", path: f, errno: EFBIG)) { try FS.readFile(f, limit: 10) }
        let missing = dir.sub("nope")
        do {
            _ = try FS.readFile(missing)
            Issue.record("expected ENOENT")
        } catch {
            #expect(error.isENOENT)
            #expect(error.description == "open \(missing): No such file or directory")
        }
    }

    @Test func mkdirAllCreateRemove() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let deep = dir.sub("a/b/c")
        try FS.mkdirAll(deep, mode: 0o700)
        try FS.mkdirAll(deep, mode: 0o700)  // idempotent
        #expect(try FS.stat(deep)?.type == .directory)
        #expect(try FS.stat(dir.sub("a"))?.mode == 0o700)
        try FS.createEmptyFile(deep + "/f", mode: 0o600)
        try FS.createEmptyFile(deep + "/f", mode: 0o600)  // ok if exists
        #expect(try FS.stat(deep + "/f")?.size == 0)
        #expect(throws: SystemError.self) { try FS.mkdirAll(deep + "/f/g", mode: 0o700) }
        try FS.remove(deep + "/f")
        try FS.remove(deep + "/f")  // ENOENT ignored
        try FS.remove(deep)  // empty dir
        #expect(!FS.exists(deep))
        #expect(try FS.lstat(deep) == nil)
    }

    @Test func symlinksAndExecutables() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let target = dir.sub("prog")
        try FS.writeFileAtomically(target, bytes("#!/bin/sh\n"), mode: 0o755)
        #expect(symlink(target, dir.sub("link")) == 0)
        #expect(try FS.readlink(dir.sub("link")) == target)
        #expect(try FS.lstat(dir.sub("link"))?.type == .symlink)
        #expect(try FS.stat(dir.sub("link"))?.type == .regular)
        #expect(FS.isExecutable(target))
        try FS.writeFileAtomically(dir.sub("data"), [], mode: 0o644)
        #expect(!FS.isExecutable(dir.sub("data")))
        #expect(!FS.isExecutable(dir.path))
        #expect(symlink(dir.sub("missing"), dir.sub("dangling")) == 0)
        #expect(!FS.exists(dir.sub("dangling")))
        #expect(try FS.stat(dir.sub("dangling")) == nil)
        #expect(try FS.lstat(dir.sub("dangling")) != nil)
    }

    @Test func removeTreeDoesNotFollowSymlinks() throws {
        let outside = try TempDir("nsoutside")
        defer { outside.cleanup() }
        try FS.writeFileAtomically(outside.sub("keep"), bytes("precious"))
        try FS.mkdirAll(outside.sub("keepdir"), mode: 0o755)
        try FS.writeFileAtomically(outside.sub("keepdir/inner"), bytes("x"))

        let dir = try TempDir()
        defer { dir.cleanup() }
        try FS.mkdirAll(dir.sub("x/y/z"), mode: 0o755)
        try FS.writeFileAtomically(dir.sub("x/y/z/f"), bytes("1"))
        #expect(symlink(outside.path, dir.sub("x/linkdir")) == 0)
        #expect(symlink(outside.sub("keep"), dir.sub("x/y/linkfile")) == 0)
        try FS.removeTree(dir.path)
        #expect(!FS.exists(dir.path))
        #expect(try FS.readFile(outside.sub("keep")) == bytes("precious"))
        #expect(try FS.readFile(outside.sub("keepdir/inner")) == bytes("x"))
        try FS.removeTree(dir.path)  // missing is fine
        // A plain file or symlink at the top is just unlinked.
        #expect(symlink(outside.path, dir.path) == 0)
        try FS.removeTree(dir.path)
        #expect(try FS.lstat(dir.path) == nil)
        #expect(FS.exists(outside.sub("keep")))
    }

    @Test(.enabled(if: isRoot, "needs root to mount a tmpfs"))
    func removeTreeStopsAtMountPoints() throws {
        let dir = try TempDir()
        defer {
            try? Mounts.unmount(dir.sub("mnt"))
            dir.cleanup()
        }
        try FS.mkdirAll(dir.sub("mnt"), mode: 0o755)
        try FS.writeFileAtomically(dir.sub("other"), bytes("x"))
        #expect(mount("tmpfs", dir.sub("mnt"), "tmpfs", 0, nil) == 0)
        try FS.writeFileAtomically(dir.sub("mnt/on-tmpfs"), bytes("keep"))
        #expect(throws: SystemError(op: "remove tree: mount point", path: dir.sub("mnt"), errno: EBUSY)) {
            try FS.removeTree(dir.path)
        }
        #expect(!FS.exists(dir.sub("other")))
        #expect(FS.exists(dir.sub("mnt/on-tmpfs")))
    }

    @Test func identity() throws {
        // environ as getenv(3) sees it, entry for entry.
        let env = Identity.environment()
        #expect(!env.isEmpty)
        for (k, v) in env { #expect(getenv(k).map { String(cString: $0) } == v, "\(k)") }
        // The initial namespace maps exactly 0 0 4294967295; anything else (a rootless session) is not.
        let map = try FS.readText("/proc/self/uid_map").split(separator: "\n")
            .map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(Identity.inInitialUserNamespace == (map == ["0 0 4294967295"]), "uid_map \(map)")
    }

    @Test func systemErrorDescription() {
        let e = SystemError(op: "open netns", path: "/run/user/1000/netns/x", errno: ENOENT)
        #expect(e.description == "open netns /run/user/1000/netns/x: No such file or directory")
        #expect(SystemError(op: "fork", errno: EAGAIN).description == "fork: Resource temporarily unavailable")
        #expect(ENOENT ~= e)
    }
}
