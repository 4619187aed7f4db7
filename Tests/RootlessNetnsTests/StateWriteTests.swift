import Glibc
import System
import Testing
import TestSupport
@testable import RootlessNetns

/// What an ADD writes under the state lock, and what it no longer writes (issue 13: each durable
/// write is a journal commit, and under the lock those commits serialise parallel ADDs).
@Suite struct StateWriteTests {
    func context(_ t: TempDir) throws -> Context {
        try t.mkdir("xdg")
        _ = chmod(t.path + "/xdg", 0o700)
        var config = RootlessConfig.defaults(stateDir: nil)
        config.mode = .always
        let context = try Context(config: config, hostEnv: ["XDG_RUNTIME_DIR": t.path + "/xdg"])
        try context.state.prepareRoot()
        return context
    }

    func helper(dns: [String]) -> HelperRecord {
        HelperRecord(backend: .slirp4netns, identity: ProcessIdentity(pid: 1, startTime: 1, exe: "/fake/slirp4netns"),
                     netns: "/n", guestAddress: "10.0.2.100", dnsServers: dns)
    }

    /// Regression (fails on 9766195, which replaced the file on every ADD): the same content is
    /// left in place; other content replaces it. Inodes are compared only while both files
    /// exist (the replacement is created while the old one still lives), never across a free.
    @Test func resolvConfIsReplacedOnlyWhenItChanges() throws {
        let t = try TempDir()
        defer { t.cleanup() }
        let context = try context(t)
        let netns = SharedNetns(context: context)
        try netns.writeResolvConf(helper: helper(dns: ["10.0.2.3"]))
        let first = try #require(try FS.stat(context.state.resolvConf))
        try netns.writeResolvConf(helper: helper(dns: ["10.0.2.3"]))
        let second = try #require(try FS.stat(context.state.resolvConf))
        #expect(second.ino == first.ino && second.ctimeNs == first.ctimeNs)
        try netns.writeResolvConf(helper: helper(dns: ["10.0.2.4"]))
        let third = try #require(try FS.stat(context.state.resolvConf))
        #expect(third.ino != second.ino)
        #expect(try FS.readText(context.state.resolvConf).contains("\nnameserver 10.0.2.4\n"))
        #expect(third.mode == 0o600)
        // Nothing half-written is left beside it.
        #expect(try FS.listDirectory(context.state.root).filter { $0.contains(".tmp-") }.isEmpty)
    }
}
