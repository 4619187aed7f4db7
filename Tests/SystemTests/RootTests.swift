import Glibc
import System
import Testing
import TestSupport

/// Tests that create namespaces and mounts: real root (or uid 0 in a user+mount namespace).
@Suite(.enabled(if: isRoot, "needs uid 0 (root, or unshare --user --map-root-user --mount) to create namespaces"))
struct RootTests {
    @Test func createAndRemoveNetns() throws {
        let netns = try TempNetns()
        defer { netns.cleanup() }
        let ns = netns.path
        #expect(Mounts.isNsfs(ns))
        #expect(!NetNS.sameNamespace(ns, "/proc/self/ns/net"))
        #expect(NetNS.sameNamespace(ns, ns))
        #expect(throws: SystemError(op: "create netns", path: ns, errno: EEXIST)) { try NetNS.create(at: ns) }
        try NetNS.remove(at: ns)
        #expect(!Mounts.isNsfs(ns))
        #expect(!FS.exists(ns))
        try NetNS.remove(at: ns)  // idempotent
        #expect(!mountinfo().contains(ns))
    }

    @Test func spawnEntersNetnsAndPrivateMounts() throws {
        let netns = try TempNetns()
        defer { netns.cleanup() }
        let dir = netns.dir, ns = netns.path
        let nsInfo = try #require(try FS.stat(ns))

        // Only the namespace.
        let r = try sh("readlink /proc/self/ns/net", enter: EnterSpec(netnsPath: ns))
        #expect(r.setupError == nil)
        #expect(text(r.stdout) == "net:[\(nsInfo.ino)]\n")

        // Namespace + private mounts: a bind of a temp dir, a tmpfs with a directory, a file
        // bind-mounted read-only onto a created target, and sysfs for the namespace's /sys.
        try FS.mkdirAll(dir.sub("src"), mode: 0o755)
        try FS.writeFileAtomically(dir.sub("src/marker"), bytes("from-src"), mode: 0o644)
        try FS.writeFileAtomically(dir.sub("resolv.conf"), bytes("nameserver 10.0.2.3\n"), mode: 0o644)
        try FS.mkdirAll(dir.sub("target"), mode: 0o755)
        try FS.mkdirAll(dir.sub("scratch"), mode: 0o755)
        try FS.mkdirAll(dir.sub("sys"), mode: 0o755)
        let enter = EnterSpec(netnsPath: ns, unshareMount: true, mounts: [
            .bind(source: dir.sub("src"), target: dir.sub("target")),
            .tmpfs(target: dir.sub("scratch"), options: "mode=755,size=1m"),
            .mkdirAll(dir.sub("scratch/etc/x"), mode: 0o700),
            .createFile(dir.sub("scratch/etc/resolv.conf")),
            .bind(source: dir.sub("resolv.conf"), target: dir.sub("scratch/etc/resolv.conf"), recursive: false, readOnly: true),
            .mount(source: "sysfs", target: dir.sub("sys"), fstype: "sysfs", flags: [.noSuid, .noDev, .noExec]),
        ])
        let script = """
            cat \(dir.sub("target/marker")); echo
            test -d \(dir.sub("scratch/etc/x")) && echo dir-ok
            cat \(dir.sub("scratch/etc/resolv.conf"))
            (echo x > \(dir.sub("scratch/etc/resolv.conf"))) 2>/dev/null || echo ro-ok
            ls \(dir.sub("sys/class/net"))
            readlink /proc/self/ns/net
            """
        let m = try sh(script, enter: enter)
        #expect(m.setupError == nil)
        #expect(m.status == .exited(0))
        #expect(text(m.stdout) == "from-src\ndir-ok\nnameserver 10.0.2.3\nro-ok\nlo\nnet:[\(nsInfo.ino)]\n")

        // Nothing leaked into our mount namespace.
        #expect(!FS.exists(dir.sub("target/marker")))
        #expect(!FS.exists(dir.sub("scratch/etc")))
        let table = mountinfo()
        #expect(!table.contains(dir.sub("target")))
        #expect(!table.contains(dir.sub("scratch")))
        #expect(!table.contains(dir.sub("sys")))
        #expect(try FS.readFile(dir.sub("resolv.conf")) == bytes("nameserver 10.0.2.3\n"))
    }

    @Test func setupFailuresNameTheStep() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try FS.mkdirAll(dir.sub("t"), mode: 0o755)
        let missing = dir.sub("no-such-ns")
        let r1 = try sh("true", enter: EnterSpec(netnsPath: missing))
        #expect(r1.setupError == "open netns \(missing): No such file or directory")
        #expect(r1.status == .exited(127))

        try FS.writeFileAtomically(dir.sub("plain"), [])
        let r2 = try sh("true", enter: EnterSpec(netnsPath: dir.sub("plain")))
        #expect(r2.setupError == "setns \(dir.sub("plain")): Invalid argument")

        let r3 = try sh("echo should-not-run", enter: EnterSpec(unshareMount: true, mounts: [
            .bind(source: dir.sub("nope"), target: dir.sub("t")),
        ]))
        #expect(r3.setupError == "mount --rbind \(dir.sub("nope")) \(dir.sub("t")): No such file or directory")
        #expect(r3.stdout.isEmpty)
    }

    @Test func socketInNetns() throws {
        let netns = try TempNetns()
        defer { netns.cleanup() }
        let dir = netns.dir, ns = netns.path
        let before = try FS.readlink("/proc/thread-self/ns/net")
        let sock = try NetnsSocket.open(netnsPath: ns, family: AF_INET, type: Int32(SOCK_DGRAM.rawValue), proto: 0)
        #expect(try FS.readlink("/proc/thread-self/ns/net") == before)  // back home
        let where_ = try NetnsSocket.namespace(of: sock)
        let nsInfo = try #require(try FS.stat(ns))
        #expect(where_.ino == nsInfo.ino && where_.dev == nsInfo.dev)
        #expect(fcntl(sock.raw, F_GETFD) & FD_CLOEXEC != 0)

        let here = try NetnsSocket.open(netnsPath: nil, family: AF_INET, type: Int32(SOCK_DGRAM.rawValue), proto: 0)
        if Identity.inInitialUserNamespace {  // SIOCGSKNS needs CAP_SYS_ADMIN over the host netns
            #expect(try NetnsSocket.namespace(of: here).ino == (try FS.stat("/proc/self/ns/net"))?.ino)
        }

        #expect(throws: NetnsSocketError(.openNamespace, SystemError(op: "open netns", path: dir.sub("missing"), errno: ENOENT))) {
            _ = try NetnsSocket.open(netnsPath: dir.sub("missing"), family: AF_INET, type: Int32(SOCK_DGRAM.rawValue), proto: 0)
        }
        #expect(try FS.readlink("/proc/thread-self/ns/net") == before)
    }

    @Test func daemonInNetns() throws {
        let netns = try TempNetns()
        defer { netns.cleanup() }
        let ns = netns.path
        let d = try Daemons.start(DaemonRequest(path: "/bin/sh", argv: ["sh", "-c", "printf %s \"$(readlink /proc/self/ns/net)\" >&3"],
                                                readyFD: true, enter: EnterSpec(netnsPath: ns)))
        let nsInfo = try #require(try FS.stat(ns))
        #expect(try Daemons.waitReady(d, timeoutMs: 5000, expect: bytes("net:[\(nsInfo.ino)]")) == .ready(bytes("net:[\(nsInfo.ino)]")))
        _ = Daemons.waitExit(pid: d.pid, timeoutMs: 5000)
    }

    func mountinfo() -> String { (try? FS.readText("/proc/self/mountinfo")) ?? "" }
}
