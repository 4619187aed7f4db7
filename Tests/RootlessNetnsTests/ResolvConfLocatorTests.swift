import Testing
@testable import RootlessNetns
import TestSupport

/// /etc/resolv.conf resolution against a real fake tree in a temp directory: logical paths are
/// mapped under the temp root, link texts stay as written (absolute ones stay logical).
@Suite struct ResolvConfLocatorTests {
    func resolve(_ build: (TempDir) throws -> Void, start: String = "/etc/resolv.conf") throws -> String {
        let tree = try TempDir("rlu-tree")
        defer { tree.cleanup() }
        try build(tree)
        return try ResolvConfLocator(readLink: fakeReadLink(root: tree.path)).resolve(start)
    }

    @Test func plainFile() throws {
        #expect(try resolve { try $0.file("etc/resolv.conf", "nameserver 1.1.1.1\n") } == "/etc/resolv.conf")
    }

    @Test func defaultStartIsEtcResolvConf() throws {
        let tree = try TempDir("rlu-tree")
        defer { tree.cleanup() }
        try tree.file("etc/resolv.conf")
        #expect(try ResolvConfLocator(readLink: fakeReadLink(root: tree.path)).resolve() == "/etc/resolv.conf")
    }

    /// systemd-resolved: stop at the first path under /run; do not follow stub-resolv.conf's own link.
    @Test func absoluteLinkIntoRunStopsAtFirstPathUnderRun() throws {
        let target = try resolve { t in
            try t.link("etc/resolv.conf", to: "/run/systemd/resolve/stub-resolv.conf")
            try t.link("run/systemd/resolve/stub-resolv.conf", to: "resolv.conf")
            try t.file("run/systemd/resolve/resolv.conf")
        }
        #expect(target == "/run/systemd/resolve/stub-resolv.conf")
    }

    @Test func relativeLinkIntoRun() throws {
        let target = try resolve { t in
            try t.link("etc/resolv.conf", to: "../run/resolvconf/resolv.conf")
            try t.file("run/resolvconf/resolv.conf")
        }
        #expect(target == "/run/resolvconf/resolv.conf")
    }

    @Test func relativeLinkWithinEtc() throws {
        let target = try resolve { t in
            try t.link("etc/resolv.conf", to: "resolvconf/run/resolv.conf")
            try t.file("etc/resolvconf/run/resolv.conf")
        }
        #expect(target == "/etc/resolvconf/run/resolv.conf")
    }

    /// macOS-style /etc -> /private/etc: a symlinked directory component is resolved too (#12461).
    @Test func symlinkedDirectoryComponent() throws {
        let target = try resolve { t in
            try t.link("etc", to: "/sysconf")
            try t.file("sysconf/resolv.conf")
        }
        #expect(target == "/sysconf/resolv.conf")
    }

    @Test func relativeSymlinkedDirectoryComponent() throws {
        let target = try resolve { t in
            try t.link("etc", to: "private/etc")
            try t.file("private/etc/resolv.conf")
        }
        #expect(target == "/private/etc/resolv.conf")
    }

    /// Debian's /var/run -> /run in the middle of a link target.
    @Test func directoryLinkIntoRunInsideTarget() throws {
        let target = try resolve { t in
            try t.link("etc/resolv.conf", to: "/var/run/NetworkManager/resolv.conf")
            try t.link("var/run", to: "../run")
            try t.file("run/NetworkManager/resolv.conf")
        }
        #expect(target == "/run/NetworkManager/resolv.conf")
    }

    @Test func chainOutsideRun() throws {
        let target = try resolve { t in
            try t.link("etc/resolv.conf", to: "/a")
            try t.link("a", to: "/b")
            try t.link("b", to: "c")
            try t.file("c")
        }
        #expect(target == "/c")
    }

    @Test func chainThatEndsUnderRun() throws {
        let target = try resolve { t in
            try t.link("etc/resolv.conf", to: "/opt/dns/resolv.conf")
            try t.link("opt/dns/resolv.conf", to: "../../run/dns/resolv.conf")
            try t.link("run/dns/resolv.conf", to: "/elsewhere")   // never followed
        }
        #expect(target == "/run/dns/resolv.conf")
    }

    @Test func loopThrowsTooManyLinks() throws {
        #expect(throws: ResolvConfLocator.TooManyLinks.self) {
            _ = try resolve { t in
                try t.link("etc/resolv.conf", to: "/a")
                try t.link("a", to: "/b")
                try t.link("b", to: "/a")
            }
        }
    }

    @Test func selfLoopThrowsTooManyLinks() throws {
        #expect(throws: ResolvConfLocator.TooManyLinks.self) {
            _ = try resolve { t in try t.link("etc/resolv.conf", to: "resolv.conf") }
        }
    }

    @Test func tooManyLinksNamesTheStart() throws {
        do {
            _ = try resolve { t in try t.link("etc/resolv.conf", to: "/etc/resolv.conf") }
            Issue.record("expected TooManyLinks")
        } catch let e as ResolvConfLocator.TooManyLinks {
            #expect(e.path == "/etc/resolv.conf")
            #expect(e.description.contains("too many symlinks"))
        }
    }

    /// A chain of exactly 255 links is fine; 256 is too many.
    @Test func linkLimit() throws {
        func chain(_ n: Int) throws -> String {
            try resolve { t in
                try t.link("etc/resolv.conf", to: "/l1")
                for i in 1..<n { try t.link("l\(i)", to: "/l\(i + 1)") }
                try t.file("l\(n)")
            }
        }
        #expect(try chain(255) == "/l255")
        #expect(throws: ResolvConfLocator.TooManyLinks.self) { _ = try chain(256) }
    }

    /// The stub file may not exist yet (resolved restarting): under /run we create it ourselves.
    @Test func danglingLinkUnderRunIsReturned() throws {
        let target = try resolve { t in
            try t.link("etc/resolv.conf", to: "/run/systemd/resolve/stub-resolv.conf")
        }
        #expect(target == "/run/systemd/resolve/stub-resolv.conf")
    }

    @Test func danglingLinkOutsideRunThrows() throws {
        #expect(throws: FakeTreeError.self) {
            _ = try resolve { t in try t.link("etc/resolv.conf", to: "/nowhere/resolv.conf") }
        }
    }

    @Test func missingResolvConfThrows() throws {
        #expect(throws: FakeTreeError.self) { _ = try resolve { t in try t.mkdir("etc") } }
    }

    @Test func uncleanStartAndLinkTexts() throws {
        let target = try resolve({ t in
            try t.link("etc/resolv.conf", to: "//run/./x/../resolvconf//resolv.conf")
        }, start: "/etc//./resolv.conf")
        #expect(target == "/run/resolvconf/resolv.conf")
    }

    /// A link to "/run" itself followed by more components.
    @Test func linkToRunDirectory() throws {
        let target = try resolve { t in
            try t.link("etc", to: "/run/etc")
            try t.file("run/etc/resolv.conf")
        }
        #expect(target == "/run/etc/resolv.conf")
    }

    /// "/runner" is not under /run.
    @Test func runPrefixIsAComponentMatch() throws {
        let target = try resolve { t in
            try t.link("etc/resolv.conf", to: "/runner/resolv.conf")
            try t.link("runner/resolv.conf", to: "/real")
            try t.file("real")
        }
        #expect(target == "/real")
    }

    /// Every prefix is visited in order, each at most once when there are no links.
    @Test func visitsEveryComponent() throws {
        final class Log: @unchecked Sendable { var seen: [String] = [] }
        let log = Log()
        let locator = ResolvConfLocator(readLink: { p in log.seen.append(p); return nil })
        #expect(try locator.resolve("/etc/resolv.conf") == "/etc/resolv.conf")
        #expect(log.seen == ["/etc", "/etc/resolv.conf"])
    }
}

@Suite struct PathTests {
    @Test(arguments: [
        ("", "."), (".", "."), ("/", "/"), ("//", "/"), ("/..", "/"), ("/../..", "/"),
        ("a/b/../c", "a/c"), ("a/../..", ".."), ("../a", "../a"), ("./a/./b/", "a/b"),
        ("/a//b///c/", "/a/b/c"), ("/a/b/../../..", "/"), ("a/..", "."), ("/a/./b/./", "/a/b"),
    ])
    func clean(input: String, expected: String) {
        #expect(Path.clean(input) == expected)
    }

    @Test(arguments: [
        ("/", "/"), ("/a", "/"), ("/a/b", "/a"), ("/a/b/", "/a"), ("a", "."), ("a/b", "a"),
        ("", "."), ("/a/b/../c", "/a"), ("//a", "/"),
    ])
    func dirname(input: String, expected: String) {
        #expect(Path.dirname(input) == expected)
    }

    @Test func isWithin() {
        #expect(Path.isWithin("/run", "/run"))
        #expect(Path.isWithin("/run/", "/run"))
        #expect(Path.isWithin("/run/user/1000", "/run"))
        #expect(!Path.isWithin("/runner", "/run"))
        #expect(!Path.isWithin("/ru", "/run"))
        #expect(Path.isWithin("/anything", "/"))
        #expect(Path.isWithin("/", "/"))
        #expect(!Path.isWithin("/", "/run"))
        #expect(Path.isWithin("/run/x/../y", "/run"))
        #expect(!Path.isWithin("/run/../etc", "/run"))
    }

    @Test func under() {
        #expect(Path.under("/state", "/run/user/1") == "/state/run/user/1")
        #expect(Path.under("/state/", "var/lib") == "/state/var/lib")
        #expect(Path.under("/state", "/") == "/state")
        #expect(Path.under("/state", "") == "/state")
    }

    @Test func join() {
        #expect(Path.join("/a", "b", "../c") == "/a/c")
        #expect(Path.join("/a/", "/b/") == "/a/b")
    }
}
