import Foundation
import Testing

/// Issue 6: reliability and security of rootless-netns, as an unprivileged user in a rootless
/// session. One parent suite, `.serialized`, so its nested suites (one file each) share the test
/// user `rcni-rel` without stepping on each other; other suites use other users and run in
/// parallel with this one.
@Suite("rootless-netns reliability", .serialized,
       .enabled(if: RelConditions.enabled, "needs root, user namespaces, reference plugins, iptables, slirp4netns"))
struct ReliabilityTests {
    static let userName = "rcni-rel"
}

enum RelConditions {
    static let enabled = RootlessNetnsTests.enabled
}

/// One user, session, scratch dir (plugins, conflists, caches) per test; everything the test
/// made is removed by `finish()`, whatever state the plugin left.
struct RelFixture {
    let user: TestUser
    let session: RootlessSession
    /// /tmp/rcni-rel-XXXXXX, owned by the user: conflists, caches, fake plugins, scripts.
    let scratch: String
    var plugins: String { scratch + "/plugins" }
    /// Container namespaces of this test live here (in the session's mount namespace).
    var containerNetnsDir: String { user.runtimeDir + "/netns" }
    var stateDirs: [String] = []
    var netns: [String] = []
    /// Extra runtime dirs a test pointed XDG_RUNTIME_DIR at.
    var extraRuntimeDirs: [String] = []

    init() throws {
        user = try TestUser.ensure(ReliabilityTests.userName)
        Self.killStrays(user)
        guard user.canExecute(Products.rootlessNetns) else {
            throw TestUser.Failure(description: "\(user.name) cannot execute \(Products.rootlessNetns): make the checkout world-traversable (scripts/test does)")
        }
        scratch = try Scratch.makeDirectory("rcni-rel-")
        try FileManager.default.createDirectory(atPath: scratch + "/plugins", withIntermediateDirectories: true)
        try RelPlugin.install(in: scratch + "/plugins")
        try Scratch.write(RelScripts.netnsBatch, to: scratch + "/netns_batch.py")
        try Scratch.write(RelScripts.crashLoop, to: scratch + "/crash_loop.py")
        try Scratch.write(RelScripts.umaskExec, to: scratch + "/umask_exec.py")
        try user.chown(scratch)
        session = try RootlessSession.start(user)
    }

    /// Processes of this test user left by an interrupted run (never anyone else's).
    static func killStrays(_ user: TestUser) {
        for name in ["slirp4netns", "pasta", "rootless-netns", "sleep"] {
            _ = Command.run(["pkill", "-9", "-u", "\(user.uid)", "-x", name], timeout: 10)
        }
    }

    /// A state dir under the user's runtime dir, remembered for cleanup.
    mutating func stateDir(_ name: String) -> String {
        let dir = user.runtimeDir + "/" + name
        stateDirs.append(dir)
        return dir
    }

    /// `count` container namespaces made in one `session exec` (lo up), in `containerNetnsDir`.
    mutating func makeNetns(_ prefix: String, count: Int) throws -> [String] {
        let names = (0..<count).map { _ in Scratch.uniqueName(prefix) }
        let r = session.exec(["/usr/bin/python3", scratch + "/netns_batch.py", "add", containerNetnsDir] + names,
                             timeout: 60 + Double(count))
        guard r.succeeded else { throw TestUser.Failure(description: "netns batch: \(r)") }
        let paths = r.stdout.split(separator: "\n").map(String.init)
        guard paths.count == count else { throw TestUser.Failure(description: "netns batch: \(r)") }
        netns += paths
        return paths
    }

    func writeConflist(_ conf: [String: Any], name: String = "net.conflist") throws -> String {
        let path = try Conflists.write(conf, to: scratch, name: name)
        try user.chown(path)
        return path
    }

    /// The example conflist (reference bridge chain) with a private stateDir.
    mutating func bridgeConflist(stateDir name: String, version: String = "1.0.0",
                                 mutate: (inout [String: Any]) -> Void = { _ in }) throws -> (conflist: String, stateDir: String) {
        let dir = stateDir(name)
        let conf = try Conflists.rootlessBridge(version: version) { p in
            p["stateDir"] = dir
            mutate(&p)
        }
        return (try writeConflist(conf, name: name + ".conflist"), dir)
    }

    /// A 1.1.0 conflist whose delegates are `relfake` plugins (ADD/DEL/CHECK/STATUS/GC all work).
    mutating func fakeConflist(stateDir name: String, delegates: [[String: Any]] = [["type": "relfake"]],
                               mutate: (inout [String: Any]) -> Void = { _ in }) throws -> (conflist: String, stateDir: String) {
        let dir = stateDir(name)
        var plugin = RelPlugin.rootlessEntry(stateDir: dir, delegates: delegates)
        mutate(&plugin)
        let conf: [String: Any] = ["cniVersion": "1.1.0", "name": "relnet", "plugins": [plugin]]
        return (try writeConflist(conf, name: name + ".conflist"), dir)
    }

    /// The single-plugin config a runtime would pipe to rootless-netns for this conflist
    /// (its first plugin with the list's name and cniVersion), plus `extra` keys.
    func pluginConf(_ conflist: String, _ extra: [String: Any] = [:]) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: conflist))
        let list = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        var conf = (list["plugins"] as? [[String: Any]])?.first ?? [:]
        conf["cniVersion"] = list["cniVersion"]
        conf["name"] = list["name"]
        for (k, v) in extra { conf[k] = v }
        return try Scratch.jsonText(conf)
    }

    /// cnitool in the session. `containerID` nil: cnitool derives one from the netns path.
    func cni(_ conflist: String, _ verb: String, _ netnsPath: String? = nil, containerID: String? = nil,
             cniPath: String? = nil, extra: [String] = [], timeout: TimeInterval = 120) -> CommandResult {
        var args = ["--conflist", conflist, "--cni-path", cniPath ?? (plugins + ":" + Products.cniPath),
                    "--ifname", "eth0", "--cache-dir", scratch + "/cache", "--timeout", "60"] + extra
        if let containerID { args += ["--container-id", containerID] }
        args.append(verb)
        if let netnsPath { args.append(netnsPath) }
        return session.cnitool(args, timeout: timeout)
    }

    /// Runs the plugin binary directly in the session with exactly `env` (`env -i`, no shell).
    func plugin(env: [String: String], stdin: String, timeout: TimeInterval = 60) -> CommandResult {
        let vars = env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return session.exec(["/usr/bin/env", "-i"] + vars + [Products.rootlessNetns], timeout: timeout, input: stdin)
    }

    /// The CNI env of a direct run (PATH, XDG_RUNTIME_DIR, CNI_PATH, CNI_IFNAME) plus `extra`.
    func pluginEnv(_ command: String, containerID: String = "relctr", netns: String = "",
                   _ extra: [String: String] = [:]) -> [String: String] {
        var env = ["PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "XDG_RUNTIME_DIR": user.runtimeDir,
                   "CNI_COMMAND": command, "CNI_CONTAINERID": containerID, "CNI_IFNAME": "eth0",
                   "CNI_PATH": plugins + ":" + Products.cniPath]
        if !netns.isEmpty { env["CNI_NETNS"] = netns }
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// `rootless-netns status --state-dir DIR` as JSON.
    func status(_ stateDir: String) -> [String: Any] {
        session.rootlessNetns(["status", "--state-dir", stateDir]).json ?? [:]
    }

    func attachmentCount(_ stateDir: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: stateDir + "/attachments")) ?? [])
            .filter { $0.hasSuffix(".json") && !$0.contains(".tmp-") }.count
    }

    /// The live helpers (slirp4netns/pasta) of the test user.
    func helpers() -> [Procs.Info] { Procs.helpers(uid: user.uid) }

    /// Mounts of shared namespaces in the session (none once everything is torn down).
    func sharedNetnsMounts() -> [String] {
        guard let pause = session.pausePid else { return ["(no session)"] }
        guard let text = Procs.read("/proc/\(pause)/mountinfo") else { return ["(cannot read /proc/\(pause)/mountinfo)"] }
        return text.split(separator: "\n").map(String.init).filter { $0.contains("/rootless-netns-") }
    }

    /// Shared namespace files in a netns dir.
    func sharedNetnsFiles(_ netnsDir: String? = nil) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: netnsDir ?? containerNetnsDir)) ?? [])
            .filter { $0.hasPrefix("rootless-netns-") }
    }

    /// What is left in a state dir (nil when it does not exist).
    func stateLeft(_ stateDir: String) -> [String]? {
        try? FileManager.default.contentsOfDirectory(atPath: stateDir).sorted()
    }

    /// Nothing of the shared namespace left: no helper, no netns file or mount, state reduced to the lock.
    func expectClean(_ stateDir: String, netnsDir: String? = nil, _ where_: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(helpers().isEmpty, "\(where_): helpers left: \(helpers())", sourceLocation: sourceLocation)
        #expect(sharedNetnsFiles(netnsDir).isEmpty, "\(where_): netns files left: \(sharedNetnsFiles(netnsDir))",
                sourceLocation: sourceLocation)
        #expect(sharedNetnsMounts().isEmpty, "\(where_): mounts left: \(sharedNetnsMounts())", sourceLocation: sourceLocation)
        let left = stateLeft(stateDir)
        #expect(left == nil || left == ["lock"], "\(where_): state left in \(stateDir): \(left ?? [])",
                sourceLocation: sourceLocation)
    }

    /// Forced cleanup of everything the test may have left, then the session.
    func finish() {
        for dir in stateDirs + [user.runtimeDir + "/rootless-netns"] where FileManager.default.fileExists(atPath: dir) {
            _ = session.rootlessNetns(["cleanup", "--state-dir", dir])
        }
        if !netns.isEmpty {
            _ = session.exec(["/usr/bin/python3", scratch + "/netns_batch.py", "del", containerNetnsDir]
                             + netns.map { URL(fileURLWithPath: $0).lastPathComponent }, timeout: 60)
        }
        session.stop()
        Self.killStrays(user)
        for dir in stateDirs + extraRuntimeDirs { Scratch.removeDirectory(dir) }
        for p in netns { try? FileManager.default.removeItem(atPath: p) }
        Scratch.removeDirectory(scratch)
    }
}

/// Runs `count` bodies at once on their own threads (GCD's concurrentPerform would cap the
/// parallelism at the core count) and returns their results in index order.
enum Parallel {
    private final class Box<T>: @unchecked Sendable {
        let lock = NSLock()
        var results: [Int: T] = [:]
    }

    static func run<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
        let box = Box<T>()
        for i in 0..<count {
            let t = Thread {
                let r = body(i)
                box.lock.lock(); box.results[i] = r; box.lock.unlock()
            }
            t.stackSize = 1 << 20
            t.start()
        }
        while true {
            box.lock.lock()
            let done = box.results.count
            box.lock.unlock()
            if done == count { break }
            usleep(20_000)
        }
        return (0..<count).map { box.results[$0]! }
    }
}

/// Samples the helper count (and optionally the attachment count) in the background, every
/// 50 ms, while parallel work runs.
final class HelperSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var running = true
    private var maxSeen = 0
    private var samples = 0
    private var counts: [Int] = []
    private var thread: Thread?

    init(uid: UInt32, attachments: (@Sendable () -> Int)? = nil) {
        let t = Thread { [self] in
            while true {
                lock.lock(); let go = running; lock.unlock()
                if !go { break }
                let n = Procs.helpers(uid: uid).count
                let a = attachments?()
                lock.lock(); maxSeen = max(maxSeen, n); samples += 1; if let a { counts.append(a) }; lock.unlock()
                usleep(50_000)
            }
        }
        thread = t
        t.start()
    }

    /// Stops sampling; returns the largest helper count seen and the number of samples.
    func stop() -> (max: Int, samples: Int) {
        lock.lock(); running = false; lock.unlock()
        usleep(120_000)
        lock.lock(); defer { lock.unlock() }
        return (maxSeen, samples)
    }

    /// The attachment counts sampled so far (and forgets them: the next phase starts afresh).
    func takeCounts() -> [Int] {
        lock.lock(); defer { lock.unlock() }
        let c = counts
        counts = []
        return c
    }
}

/// /proc, read directly (host view: real uids).
enum Procs {
    struct Info: CustomStringConvertible {
        var pid: Int32, ppid: Int32, uid: UInt32, state: String, comm: String, cmdline: [String]
        var description: String { "\(pid) [\(state)] \(cmdline.joined(separator: " "))" }
    }

    /// A /proc file read to EOF (Foundation's String(contentsOfFile:) trusts st_size, which is 0
    /// there, and returns only the first page of a longer file such as mountinfo).
    static func read(_ path: String) -> String? {
        guard let h = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? h.close() }
        var data = Data()
        while let chunk = try? h.read(upToCount: 65536), !chunk.isEmpty { data += chunk }
        return String(decoding: data, as: UTF8.self)
    }

    static func info(_ pid: Int32) -> Info? {
        guard let status = read("/proc/\(pid)/status") else { return nil }
        var ppid: Int32 = 0, uid: UInt32 = 0, state = "", comm = ""
        for line in status.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard let key = parts.first, parts.count > 1 else { continue }
            switch key {
            case "Name:": comm = String(parts[1])
            case "State:": state = String(parts[1])
            case "PPid:": ppid = Int32(parts[1]) ?? 0
            case "Uid:": uid = UInt32(parts[1]) ?? 0
            default: break
            }
        }
        let args = (read("/proc/\(pid)/cmdline") ?? "").split(separator: "\0").map(String.init)
        return Info(pid: pid, ppid: ppid, uid: uid, state: state, comm: comm, cmdline: args)
    }

    /// Live (not zombie) processes of `uid`.
    static func live(uid: UInt32) -> [Info] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap(Int32.init).compactMap(info).filter { $0.uid == uid && $0.state != "Z" && $0.state != "X" }
    }

    /// Live helpers of `uid`, not counting a helper's own short-lived children.
    static func helpers(uid: UInt32) -> [Info] {
        let procs = live(uid: uid)
        let isHelper = { (p: Info) in ["slirp4netns", "pasta", "passt"].contains(p.comm) }
        let helperPids = Set(procs.filter(isHelper).map(\.pid))
        return procs.filter { isHelper($0) && !helperPids.contains($0.ppid) }
    }

    static func isAlive(_ pid: Int32) -> Bool {
        guard let i = info(pid) else { return false }
        return i.state != "Z" && i.state != "X"
    }
}

/// A fake delegate (python3) with more behaviours than `FakePlugin`. Config keys:
///   - `relExit` N, `relMsg`: CNI error JSON with code N, exit N (on `relOn` commands, default all);
///   - `relHang` COMMAND: sleep 120 s on that command;
///   - `relGarbage` TEXT (+ `relGarbageExit` N): print TEXT instead of a result, exit N (default 0);
///   - `relFailStatus` N: STATUS fails with code N.
/// Each run appends `{"plugin","command","containerID","env": <its whole exec environment>}` to
/// `relfake.jsonl` next to it (read from /proc/self/environ: python's locale coercion cannot add to it).
/// ADD prints prevResult when given, else one interface and `relAddress` (default 10.99.0.2/24).
enum RelPlugin {
    static let names = ["relfake", "relfake2", "relhang", "relgarbage"]

    static func install(in dir: String) throws {
        for n in names { try Scratch.write(source, to: "\(dir)/\(n)", mode: 0o755) }
    }

    static func log(_ dir: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: dir + "/relfake.jsonl", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { Command.jsonObject(String($0)) }
    }

    /// A rootless-netns plugin entry (slirp4netns, host loopback off) with these delegates.
    static func rootlessEntry(stateDir: String, delegates: [[String: Any]]) -> [String: Any] {
        ["type": "rootless-netns", "backend": "slirp4netns", "stateDir": stateDir, "delegates": delegates]
    }

    static let source = #"""
    #!/usr/bin/env python3
    import json, os, sys, time
    raw = sys.stdin.read()
    try:
        conf = json.loads(raw) if raw.strip() else {}
    except ValueError:
        conf = {"unparsable": raw[:200]}
    here = os.path.dirname(os.path.abspath(__file__))
    with open("/proc/self/environ", "rb") as f:
        env = dict(kv.split("=", 1) for kv in f.read().decode(errors="replace").split("\0") if "=" in kv)
    cmd = env.get("CNI_COMMAND", "")
    with open(os.path.join(here, "relfake.jsonl"), "a") as f:
        f.write(json.dumps({"plugin": os.path.basename(__file__), "command": cmd,
                            "containerID": env.get("CNI_CONTAINERID", ""), "env": env}) + "\n")
    version = conf.get("cniVersion", "1.0.0")
    if cmd == "VERSION":
        print(json.dumps({"cniVersion": version, "supportedVersions": ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]}))
        sys.exit(0)
    if conf.get("relHang") == cmd:
        time.sleep(120)
    on = conf.get("relOn")
    if "relExit" in conf and (on is None or on == cmd):
        code = int(conf["relExit"])
        print(json.dumps({"cniVersion": version, "code": code, "msg": conf.get("relMsg", "rel failure"),
                          "details": "from " + os.path.basename(__file__)}))
        sys.exit(code)
    if cmd == "STATUS" and "relFailStatus" in conf:
        print(json.dumps({"cniVersion": version, "code": int(conf["relFailStatus"]), "msg": "delegate unavailable"}))
        sys.exit(1)
    if "relGarbage" in conf and cmd == "ADD":
        sys.stdout.write(conf["relGarbage"])
        sys.exit(int(conf.get("relGarbageExit", 0)))
    if cmd == "ADD":
        if "prevResult" in conf:
            print(json.dumps(conf["prevResult"]))
        else:
            ip = {"address": conf.get("relAddress", "10.99.0.2/24"), "interface": 0}
            if version < "1.0.0":
                ip["version"] = "4"
            print(json.dumps({"cniVersion": version,
                              "interfaces": [{"name": env.get("CNI_IFNAME", ""), "sandbox": env.get("CNI_NETNS", "")}],
                              "ips": [ip]}))
    """#
}

/// Python run inside the session (no shell anywhere).
enum RelScripts {
    /// `netns_batch.py add|del DIR NAME...`: container namespaces (an empty file with a new netns
    /// bind-mounted on it by `unshare --net=FILE`, lo up); prints each path.
    static let netnsBatch = #"""
    import ctypes, os, subprocess, sys
    action, d, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    libc = ctypes.CDLL(None, use_errno=True)
    if action == "add":
        os.makedirs(d, mode=0o700, exist_ok=True)
        for n in names:
            p = os.path.join(d, n)
            open(p, "a").close()
            subprocess.run(["unshare", "--net=" + p, "ip", "link", "set", "lo", "up"], check=True)
            print(p)
    else:
        for n in names:
            p = os.path.join(d, n)
            libc.umount2(p.encode(), 2)
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
    """#

    /// `umask_exec.py MASK PROGRAM ARGS...`: exec PROGRAM with that umask (a runtime with umask 0).
    static let umaskExec = #"""
    import os, sys
    os.umask(int(sys.argv[1], 8))
    os.execv(sys.argv[2], sys.argv[2:])
    """#

    /// `crash_loop.py SPEC.json`: runs the plugin binary directly `runs` times, each time for a
    /// random container with the op its state calls for (ADD when detached; DEL when attached or
    /// unknown, as a runtime retries DEL after a failure), and SIGKILLs it after a random delay of
    /// 0..maxDelayMs unless it finished first. After each run: live helpers counted, the lock
    /// must be free. Then convergence: DEL, ADD, DEL every container without kills. Prints JSON.
    static let crashLoop = #"""
    import fcntl, json, os, random, subprocess, sys, time
    spec = json.load(open(sys.argv[1]))
    random.seed(spec["seed"])
    conf = spec["config"].encode()
    base = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "XDG_RUNTIME_DIR": spec["xdg"],
            "CNI_PATH": spec["cniPath"], "CNI_IFNAME": "eth0"}
    ctrs = spec["containers"]
    state = {c["id"]: "detached" for c in ctrs}
    lockpath = os.path.join(spec["stateDir"], "lock")

    def owned(pid):
        try:
            return os.stat(f"/proc/{pid}").st_uid == os.getuid()
        except OSError:
            return False

    def helpers():
        procs = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    s = f.read()
            except OSError:
                continue
            comm = s[s.index("(") + 1:s.rindex(")")]
            fields = s[s.rindex(")") + 2:].split()
            procs[int(name)] = (comm, fields[0], int(fields[1]))
        # Ours only: other users' processes (other test suites) show as the overflow uid here.
        hs = [p for p, (c, st, pp) in procs.items() if c == "slirp4netns" and st not in "ZX" and owned(p)]
        return [p for p in hs if procs[p][2] not in hs]

    def lock_free():
        try:
            fd = os.open(lockpath, os.O_RDWR)
        except FileNotFoundError:
            return True
        try:
            deadline = time.monotonic() + 2
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    return True
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        return False
                    time.sleep(0.01)
        finally:
            os.close(fd)

    def run(c, cmd, delay):
        env = dict(base, CNI_COMMAND=cmd, CNI_CONTAINERID=c["id"], CNI_NETNS=c["netns"])
        p = subprocess.Popen([spec["plugin"]], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env)
        try:
            out, err = p.communicate(conf, timeout=delay)
            return False, p.returncode, out.decode(errors="replace"), err.decode(errors="replace")[-400:]
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            return True, p.returncode, out.decode(errors="replace"), ""

    report = {"runs": 0, "killed": 0, "completed": 0, "failures": [], "maxHelpers": 0,
              "lockStuck": 0, "delays": [], "converge": []}
    t0 = time.monotonic()
    for i in range(spec["runs"]):
        c = random.choice(ctrs)
        cmd = "ADD" if state[c["id"]] == "detached" else "DEL"
        delay = random.uniform(0, spec["maxDelayMs"]) / 1000.0
        killed, rc, out, err = run(c, cmd, delay)
        report["runs"] += 1
        report["delays"].append(round(delay * 1000))
        if killed:
            report["killed"] += 1
            state[c["id"]] = "unknown"
        else:
            report["completed"] += 1
            if rc != 0:
                report["failures"].append({"run": i, "cmd": cmd, "ctr": c["id"], "rc": rc, "out": out, "err": err})
                state[c["id"]] = "unknown"
            else:
                state[c["id"]] = "attached" if cmd == "ADD" else "detached"
        report["maxHelpers"] = max(report["maxHelpers"], len(helpers()))
        if not lock_free():
            report["lockStuck"] += 1
    report["loopSeconds"] = round(time.monotonic() - t0, 1)
    for phase in ("DEL", "ADD", "DEL"):
        for c in ctrs:
            killed, rc, out, err = run(c, phase, 120)
            if rc != 0:
                report["failures"].append({"run": "converge", "cmd": phase, "ctr": c["id"], "rc": rc, "out": out, "err": err})
        report["converge"].append({"phase": phase, "helpers": len(helpers())})
    print(json.dumps(report))
    """#
}
