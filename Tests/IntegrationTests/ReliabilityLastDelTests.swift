import Foundation
import Testing

extension ReliabilityTests {
    /// Issue 13: chains run without the state lock, so the last DEL's teardown decision can meet
    /// another container's ADD whose chain is inside the namespace but not yet recorded. The
    /// namespace must never be torn down under it.
    @Suite("last DEL against a concurrent ADD")
    struct LastDelAgainstAdd {
        static let iterations = 8

        /// A delegate that, on ADD and DEL, checks from inside the shared namespace that the
        /// helper is alive (its tap0 is in this namespace, helper.json names a live process) and
        /// appends any problem to `failures.jsonl`. ADD of a container with a `waitfor-<cid>`
        /// file stays inside until the named container's DEL delegate has exited (`deldone-<cid>`)
        /// and 0.3 s more, so that DEL reaches its teardown decision while this chain is inside.
        static let probe = #"""
        #!/usr/bin/env python3
        import json, os, sys, time
        raw = sys.stdin.read()
        conf = json.loads(raw) if raw.strip() else {}
        cmd = os.environ.get("CNI_COMMAND", "")
        cid = os.environ.get("CNI_CONTAINERID", "")
        version = conf.get("cniVersion", "1.0.0")
        marks, state = conf.get("probeDir", ""), conf.get("probeState", "")

        def path(name):
            return os.path.join(marks, name)

        def problems(when):
            out = []
            try:
                with open("/proc/self/net/dev") as f:
                    if "tap0:" not in f.read():
                        out.append(when + ": no tap0 in the namespace (the helper is gone)")
            except OSError as e:
                out.append(when + ": /proc/self/net/dev: " + str(e))
            try:
                with open(os.path.join(state, "helper.json")) as f:
                    pid = int(json.load(f)["pid"])
                with open("/proc/%d/stat" % pid) as f:
                    s = f.read()
                if s[s.rindex(")") + 2:].split()[0] in "ZX":
                    out.append(when + ": helper %d is a zombie" % pid)
            except (OSError, ValueError, KeyError) as e:
                out.append(when + ": helper: " + str(e))
            return out

        def record(bad):
            if bad:
                with open(path("failures.jsonl"), "a") as f:
                    f.write(json.dumps({"cmd": cmd, "containerID": cid, "problems": bad}) + "\n")

        if cmd == "VERSION":
            print(json.dumps({"cniVersion": version, "supportedVersions": ["0.4.0", "1.0.0", "1.1.0"]}))
            sys.exit(0)
        if cmd == "ADD":
            bad = problems("ADD start")
            open(path("inside-" + cid), "w").close()
            try:
                with open(path("waitfor-" + cid)) as f:
                    other = f.read().strip()
            except FileNotFoundError:
                other = ""
            if other:
                deadline = time.monotonic() + 30
                while not os.path.exists(path("deldone-" + other)):
                    if time.monotonic() > deadline:
                        bad.append("DEL of %s never ran its chain" % other)
                        break
                    time.sleep(0.01)
                time.sleep(0.3)
            else:
                time.sleep(0.1)
            bad += problems("ADD end")
            record(bad)
            print(json.dumps({"cniVersion": version,
                              "interfaces": [{"name": os.environ.get("CNI_IFNAME", ""),
                                              "sandbox": os.environ.get("CNI_NETNS", "")}],
                              "ips": [{"address": "10.99.0.2/24", "interface": 0}]}))
        elif cmd == "DEL":
            record(problems("DEL"))
            open(path("deldone-" + cid), "w").close()
        """#

        @Test("last DEL of one container against a concurrent ADD of another, 8 times: the ADD's chain always runs in a live namespace, the ADD is recorded, nothing is left")
        func lastDelAgainstAdd() throws {
            var f = try RelFixture()
            defer { f.finish() }
            let marks = f.scratch + "/probe"
            try FileManager.default.createDirectory(atPath: marks, withIntermediateDirectories: true)
            try Scratch.write(Self.probe, to: f.plugins + "/relprobe", mode: 0o755)
            let dir = f.user.runtimeDir + "/rel-lastdel"
            let (conflist, stateDir) = try f.fakeConflist(stateDir: "rel-lastdel", delegates: [
                ["type": "relprobe", "probeDir": marks, "probeState": dir],
            ])
            try f.user.chown(f.scratch)
            let ns = try f.makeNetns("ld", count: 2)
            let ids = (0...Self.iterations).map { "rel-ld-\($0)" }
            let fixture = f
            func failures() -> String { (try? String(contentsOfFile: marks + "/failures.jsonl", encoding: .utf8)) ?? "" }

            let first = f.cni(conflist, "add", ns[0], containerID: ids[0])
            try #require(first.succeeded, "\(first)")
            var forced = 0
            for i in 1...Self.iterations {
                let (a, b) = (i - 1, i)
                let (del, add): (CommandResult, CommandResult)
                if i % 2 == 0 {
                    // Forced: B's chain is inside (and stays until A's DEL has decided) before A's DEL starts.
                    try Scratch.write(ids[a], to: marks + "/waitfor-" + ids[b])
                    try f.user.chown(marks + "/waitfor-" + ids[b])
                    let adding = InFlight { fixture.cni(conflist, "add", ns[b % 2], containerID: ids[b]) }
                    let deadline = Date().addingTimeInterval(60)
                    while !FileManager.default.fileExists(atPath: marks + "/inside-" + ids[b]) && Date() < deadline && !adding.done {
                        usleep(10_000)
                    }
                    try #require(FileManager.default.fileExists(atPath: marks + "/inside-" + ids[b]),
                                 "iteration \(i): the ADD never entered its chain: \(adding.wait())")
                    del = f.cni(conflist, "del", ns[a % 2], containerID: ids[a])
                    add = adding.wait()
                    forced += 1
                } else {
                    // Free: both at once, in whatever order they get the lock.
                    let both = Parallel.run(2) { k in
                        k == 0 ? fixture.cni(conflist, "del", ns[a % 2], containerID: ids[a])
                               : fixture.cni(conflist, "add", ns[b % 2], containerID: ids[b])
                    }
                    (del, add) = (both[0], both[1])
                }
                #expect(del.succeeded, "iteration \(i) DEL \(ids[a]): \(del)")
                #expect(add.succeeded, "iteration \(i) ADD \(ids[b]): \(add)")
                #expect(failures().isEmpty, "iteration \(i): \(failures())")
                // B is connected: recorded, the namespace up with one helper, CHECK passes.
                #expect(f.attachmentCount(stateDir) == 1, "iteration \(i): \(f.status(stateDir))")
                #expect(f.helpers().count == 1, "iteration \(i): \(f.helpers())")
                let check = f.cni(conflist, "check", ns[b % 2], containerID: ids[b])
                #expect(check.succeeded, "iteration \(i) CHECK \(ids[b]): \(check)")
                if !del.succeeded || !add.succeeded || !failures().isEmpty { break }
            }
            #expect(forced == Self.iterations / 2)
            let last = f.cni(conflist, "del", ns[Self.iterations % 2], containerID: ids[Self.iterations])
            #expect(last.succeeded, "\(last)")
            #expect(failures().isEmpty, "\(failures())")
            f.expectClean(stateDir, "after the last DEL")
        }
    }
}

/// One body on its own thread; `wait()` returns its result.
final class InFlight<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: T?

    init(_ body: @escaping @Sendable () -> T) {
        let t = Thread { [self] in
            let r = body()
            lock.lock(); result = r; lock.unlock()
        }
        t.stackSize = 1 << 20
        t.start()
    }

    var done: Bool { lock.lock(); defer { lock.unlock() }; return result != nil }

    func wait() -> T {
        while true {
            lock.lock()
            if let r = result { lock.unlock(); return r }
            lock.unlock()
            usleep(10_000)
        }
    }
}
