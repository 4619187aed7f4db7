import Glibc
import System
import Testing
import TestSupport

/// The state dir handle: safe opening (ancestors checked, symlinks resolved by us, nothing
/// followed in what we create) and everything relative to the fd. No root needed.
@Suite struct DirectoryHandleTests {
    let trust = DirectoryHandle.Trust.current()

    func open(_ path: String, create: Bool = false) throws(DirectoryHandle.OpenError) -> DirectoryHandle {
        try DirectoryHandle.open(path, final: .privateDirectory(what: "stateDir"), create: create, trust: trust)
    }

    func unsafePath(_ body: () throws(DirectoryHandle.OpenError) -> DirectoryHandle) -> (String, String)? {
        do { _ = try body() } catch {
            if case .unsafe(let path, let reason) = error { return (path, reason) }
        }
        return nil
    }

    @Test func createsMissingComponentsPrivate() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let h = try open(t.sub("a/b/state"), create: true)
        #expect(h.path == t.sub("a/b/state"))
        for p in ["a", "a/b", "a/b/state"] {
            let info = try #require(try FS.lstat(t.sub(p)))
            #expect(info.type == .directory && info.mode == 0o700, "\(p) mode \(String(info.mode, radix: 8))")
        }
        #expect(try open(t.sub("a/b/state")).info.ino == h.info.ino)
    }

    @Test func missingWithoutCreateIsENOENT() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        do {
            _ = try open(t.sub("no/such"))
            Issue.record("opened a missing dir")
        } catch {
            #expect(error == .system(SystemError(op: "open", path: t.sub("no"), errno: ENOENT)))
        }
        #expect(!FS.exists(t.sub("no")))
    }

    @Test func resolvesSymlinkedAncestorsToTheCanonicalPath() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        try FS.mkdirAll(t.sub("real/state"), mode: 0o700)
        #expect(symlink(t.sub("real"), t.sub("abs")) == 0)
        #expect(symlink("real/./../real", t.sub("rel")) == 0)
        for spelling in ["abs/state", "rel/state", "real/../abs/state"] {
            let h = try open(t.sub(spelling))
            #expect(h.path == FS.canonicalPath(t.sub("real/state")), "\(spelling)")
        }
        #expect(FS.canonicalPath(t.sub("abs/state/not/yet")) == FS.canonicalPath(t.sub("real")) + "/state/not/yet")
    }

    @Test func refusesSymlinkAsTheDirectoryItself() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        try FS.mkdirAll(t.sub("real"), mode: 0o700)
        #expect(symlink(t.sub("real"), t.sub("link")) == 0)
        let refused = unsafePath { () throws(DirectoryHandle.OpenError) in try open(t.sub("link"), create: true) }
        #expect(refused?.1.contains("symlink") == true)
        // A trusted (runtime) dir may be a symlink.
        let h = try DirectoryHandle.open(t.sub("link"), final: .trustedDirectory, trust: trust)
        #expect(h.path.hasSuffix("/real"))
    }

    @Test func refusesWritableNonStickyAncestorNamingIt() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        try FS.mkdirAll(t.sub("pub/x"), mode: 0o700)
        #expect(chmod(t.sub("pub"), 0o777) == 0)
        let refused = unsafePath { () throws(DirectoryHandle.OpenError) in try open(t.sub("pub/x/state"), create: true) }
        #expect(refused?.0 == t.sub("pub"))
        #expect(refused?.1.contains("without the sticky bit") == true)
        #expect(!FS.exists(t.sub("pub/x/state")), "created below a refused ancestor")
        // Sticky: others cannot rename our entries, so it is fine (like /tmp).
        #expect(chmod(t.sub("pub"), 0o1777) == 0)
        _ = try open(t.sub("pub/x/state"), create: true)
    }

    @Test func refusesAncestorOfAnUntrustedOwner() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        try FS.mkdirAll(t.sub("a/state"), mode: 0o700)
        let strict = DirectoryHandle.Trust(caller: geteuid(), owners: [])  // nobody is trusted
        do {
            _ = try DirectoryHandle.open(t.sub("a/state"), final: .privateDirectory(what: "stateDir"), trust: strict)
            Issue.record("opened with no trusted owner")
        } catch {
            guard case .unsafe(let path, let reason) = error else { Issue.record("\(error)"); return }
            #expect(path == "/" && reason.contains("owned by uid"))
        }
    }

    @Test func refusesGroupWritableOrForeignFinal() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        try FS.mkdirAll(t.sub("state"), mode: 0o770)
        #expect(chmod(t.sub("state"), 0o770) == 0)
        #expect(unsafePath { () throws(DirectoryHandle.OpenError) in try open(t.sub("state")) }?.1.contains("writable") == true)
        let other = DirectoryHandle.Trust(caller: geteuid() &+ 1, owners: trust.owners)
        #expect(chmod(t.sub("state"), 0o700) == 0)
        do {
            _ = try DirectoryHandle.open(t.sub("state"), final: .privateDirectory(what: "stateDir"), trust: other)
            Issue.record("opened another user's dir")
        } catch {
            #expect("\(error)".contains("owned by uid"))
        }
    }

    @Test func everythingGoesThroughTheFdAfterTheParentIsSwapped() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let h = try open(t.sub("anc/state"), create: true)
        try h.writeFileAtomically("helper.json", bytes("ours"))
        // An ancestor swapped for a symlink to a victim's directory with the same layout.
        try FS.mkdirAll(t.sub("victim/state/run"), mode: 0o700)
        try FS.writeFileAtomically(t.sub("victim/state/helper.json"), bytes("victim"))
        #expect(rename(t.sub("anc"), t.sub("anc.moved")) == 0)
        #expect(symlink(t.sub("victim"), t.sub("anc")) == 0)
        #expect(!h.isStillAtPath)
        #expect(text(try h.readFile("helper.json")) == "ours")
        try h.makeDirectories("run/systemd")
        try h.writeFileAtomically("resolv.conf", bytes("x"))
        try h.removeTree("run")
        try h.remove("helper.json")
        #expect(try h.list() == ["resolv.conf"])
        // Through /proc/self/fd/N too.
        #expect(FS.exists(h.procPath + "/resolv.conf"))
        #expect(try FS.listDirectory(t.sub("victim/state")) == ["helper.json", "run"])
        #expect(text(try FS.readFile(t.sub("victim/state/helper.json"))) == "victim")
        #expect(try FS.listDirectory(t.sub("anc.moved/state")) == ["resolv.conf"])
    }

    @Test func atomicWriteIsPrivateAndLeavesNoTemp() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let h = try open(t.sub("s"), create: true)
        try h.writeFileAtomically("r.json", bytes("1"), mode: 0o600)
        try h.writeFileAtomically("r.json", bytes("22"), mode: 0o600)
        #expect(text(try h.readFile("r.json")) == "22")
        #expect(try h.list() == ["r.json"])
        #expect(try h.lstat("r.json")?.mode == 0o600)
        #expect(try h.lstat("missing") == nil)
    }

    @Test func readRefusesFifoSymlinkAndOversize() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let h = try open(t.sub("s"), create: true)
        #expect(mkfifo(t.sub("s/fifo"), 0o600) == 0)
        #expect(symlink("/etc/hostname", t.sub("s/link")) == 0)
        try h.writeFileAtomically("big", [UInt8](repeating: 65, count: 100))
        // Blocking open of a FIFO without a writer would hang here forever.
        #expect(throws: SystemError.self) { _ = try h.readFile("fifo") }
        #expect(throws: SystemError.self) { _ = try h.readFile("link") }
        #expect(throws: SystemError.self) { _ = try h.readFile("big", limit: 10) }
        #expect(throws: SystemError.self) { _ = try FS.readFile(t.sub("s/fifo")) }
        // Names are single components.
        #expect(throws: SystemError.self) { _ = try h.readFile("../s/big") }
        try h.remove("fifo")
        try h.remove("missing")
        #expect(try h.list() == ["big", "link"])
    }

    @Test func openDirectoryNeverFollowsAndLockWorks() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let h = try open(t.sub("s"), create: true)
        try FS.mkdirAll(t.sub("elsewhere"), mode: 0o700)
        #expect(symlink(t.sub("elsewhere"), t.sub("s/attachments")) == 0)
        #expect(throws: SystemError.self) { _ = try h.openDirectory("attachments", create: true) }
        #expect(throws: SystemError.self) { try h.makeDirectories("attachments/x") }
        #expect(try FS.listDirectory(t.sub("elsewhere")).isEmpty)
        let lock = try Lock.exclusive(in: h, "lock", timeoutMs: 0)
        #expect(throws: SystemError.self) { _ = try Lock.exclusive(in: h, "lock", timeoutMs: 0) }
        lock.release()
        _ = try Lock.exclusive(in: h, "lock", timeoutMs: 0)
        #expect(symlink(t.sub("elsewhere/l"), t.sub("s/lock2")) == 0)
        #expect(throws: SystemError.self) { _ = try Lock.exclusive(in: h, "lock2", timeoutMs: 0) }
        #expect(!FS.exists(t.sub("elsewhere/l")))
    }

    @Test func netnsTypeCheck() throws {
        #expect(try NetNS.isNetworkNamespace("/proc/self/ns/net"))
        #expect(try !NetNS.isNetworkNamespace("/proc/self/ns/mnt"))
        #expect(try !NetNS.isNetworkNamespace("/proc/self/ns/user"))
        #expect(try !NetNS.isNetworkNamespace("/etc/hostname"))
    }
}
