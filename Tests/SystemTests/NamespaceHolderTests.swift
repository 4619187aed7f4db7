import Glibc
import System
import Testing
import TestSupport

/// The per-chain namespace holder: set up once, joined by every program of the chain.
@Suite(.enabled(if: isRoot, "needs uid 0 (root, or unshare --user --map-root-user --mount) to create namespaces"))
struct NamespaceHolderTests {
    func run(_ script: String, _ holder: NamespaceHolder, stdin: [UInt8] = [], timeoutMs: Int = 20_000) throws -> SpawnResult {
        try Spawn.run(SpawnRequest(path: "/bin/sh", argv: ["sh", "-c", script], env: ["PATH=/usr/bin:/bin"],
                                   stdin: stdin, timeoutMs: timeoutMs, join: holder))
    }

    func state(_ pid: pid_t) -> String? {
        guard let t = try? FS.readText("/proc/\(pid)/stat"), let close = t.lastIndex(of: ")") else { return nil }
        return t[t.index(after: close)...].split(separator: " ").first.map(String.init)
    }

    @Test func childrenJoinOneSetupAndKeepSpawnSemantics() throws {
        let netns = try TempNetns()
        defer { netns.cleanup() }
        let dir = netns.dir, ns = netns.path
        let nsInfo = try #require(try FS.stat(ns))
        try FS.mkdirAll(dir.sub("src"), mode: 0o755)
        try FS.writeFileAtomically(dir.sub("src/marker"), bytes("from-src"), mode: 0o644)
        try FS.mkdirAll(dir.sub("target"), mode: 0o755)
        let spec = EnterSpec(netnsPath: ns, unshareMount: true, mounts: [.bind(source: dir.sub("src"), target: dir.sub("target"))])
        var holder: NamespaceHolder? = try NamespaceHolder(spec, label: "/bin/sh", timeoutMs: 10_000)
        let pid = try #require(holder?.pid)

        // Two children: same mount namespace (one setup), the namespace's network, output,
        // stdin and exit codes as without a holder.
        let a = try run("cat \(dir.sub("target/marker")); echo; readlink /proc/self/ns/net /proc/self/ns/mnt; cat; exit 3",
                        try #require(holder), stdin: bytes("in\n"))
        let b = try run("readlink /proc/self/ns/mnt; echo err >&2", try #require(holder))
        #expect(a.setupError == nil && b.setupError == nil)
        #expect(a.status == .exited(3) && b.status == .exited(0))
        let lines = text(a.stdout).split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines.first == "from-src")
        #expect(lines.dropFirst().first == "net:[\(nsInfo.ino)]")
        #expect(lines.last == "in")
        #expect(text(b.stdout) == lines[2] + "\n", "both children in the holder's mount namespace")
        #expect(text(b.stderr) == "err\n")
        #expect(try FS.readlink("/proc/\(pid)/ns/mnt") == lines[2])
        #expect(try FS.readlink("/proc/self/ns/mnt") != lines[2])
        #expect(!FS.exists(dir.sub("target/marker")), "nothing leaked into our mount namespace")

        // A hung child is still killed at the timeout.
        let hung = try run("sleep 30", try #require(holder), timeoutMs: 300)
        #expect(hung.timedOut)
        #expect(hung.status == .signaled(SIGKILL))

        // The holder keeps only its stdin pipe (no fd of ours: locks, the runtime's pipes).
        let fds = try FS.listDirectory("/proc/\(pid)/fd").sorted()
        #expect(fds == ["0", "1", "2"], "holder fds: \(fds)")

        // Dropped: it exits by itself.
        holder = nil
        var gone = false
        for _ in 0..<200 {
            _ = waitpid(pid, nil, WNOHANG)
            if let s = state(pid), s != "Z" { usleep(10_000); continue }
            gone = true
            break
        }
        #expect(gone, "holder \(pid) still running")
    }

    @Test func setupFailureNamesTheStep() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try FS.mkdirAll(dir.sub("t"), mode: 0o755)
        let spec = EnterSpec(unshareMount: true, mounts: [.bind(source: dir.sub("nope"), target: dir.sub("t"))])
        #expect(throws: SystemError(op: "mount --rbind \(dir.sub("nope"))", path: dir.sub("t"), errno: ENOENT)) {
            _ = try NamespaceHolder(spec, label: "/bin/true", timeoutMs: 10_000)
        }
        let missing = dir.sub("no-such-ns")
        #expect(throws: SystemError(op: "open netns", path: missing, errno: ENOENT)) {
            _ = try NamespaceHolder(EnterSpec(netnsPath: missing), label: "/bin/true", timeoutMs: 10_000)
        }
    }
}
