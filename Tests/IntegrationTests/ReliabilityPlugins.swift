import Foundation

/// The fake delegate (Fixtures/fake_delegate.py) under the names the reliability suites use
/// (`relExit`/`relOn`, `relHang`, `relGarbage`, `relFailStatus`, `relAddress`; see its header).
enum RelPlugin {
    static let names = ["relfake", "relfake2", "relhang", "relgarbage", "relfailonce", "relswap"]

    static func install(in dir: String) throws {
        try FakeDelegate.install(in: dir, names: names)
    }

    static func log(_ dir: String) -> [[String: Any]] {
        FakeDelegate.records(dir + "/" + FakeDelegate.logName)
    }

    /// A rootless-netns plugin entry (slirp4netns, host loopback off) with these delegates.
    static func rootlessEntry(stateDir: String, delegates: [[String: Any]]) -> [String: Any] {
        ["type": "rootless-netns", "backend": "slirp4netns", "stateDir": stateDir, "delegates": delegates]
    }
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

    /// `crash_loop.py SPEC.json`: first times uncontended operations (a cold ADD that makes the
    /// namespace, a warm ADD, a warm DEL, the last DEL that tears down; the faster of 2). Then runs
    /// the plugin binary directly `runs` times, each time for a random container with the op its
    /// state calls for (ADD when detached; DEL when attached or unknown, as a runtime retries DEL
    /// after a failure), and SIGKILLs it at a point drawn uniformly over 0..1.1x that op's
    /// calibrated duration. Every 4th run is not killed and alternates ADD and DEL, so enough
    /// operations complete. Each kill is recorded (op, kind, ms, fraction of the duration).
    /// After each run: live helpers counted, the lock must be free. Then convergence: DEL, ADD,
    /// DEL every container without kills. Prints JSON.
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

    HELPERS = {"slirp4netns", "pasta", "passt", "pasta.avx2", "passt.avx2"}

    def argv0(pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return os.path.basename(f.read().split(b"\0")[0].decode(errors="replace"))
        except OSError:
            return ""

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
        # By argv[0]'s basename or comm (pasta runs as passt.avx2 on Debian); zombies are dead.
        hs = [p for p, (c, st, pp) in procs.items() if (c in HELPERS or argv0(p) in HELPERS) and st not in "ZX" and owned(p)]
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

    def timed(c, cmd):
        t = time.monotonic()
        killed, rc, out, err = run(c, cmd, 120)
        return (time.monotonic() - t) * 1000, rc, out, err

    report = {"runs": 0, "killed": 0, "completed": 0, "completedAdds": 0, "completedDels": 0, "failures": [],
              "maxHelpers": 0, "lockStuck": 0, "kills": [], "calibration": {}, "converge": []}
    samples = {"coldADD": [], "warmADD": [], "warmDEL": [], "lastDEL": []}
    a, b = ctrs[0], ctrs[1]
    for _ in range(2):
        for kind, c, cmd in (("coldADD", a, "ADD"), ("warmADD", b, "ADD"), ("warmDEL", b, "DEL"), ("lastDEL", a, "DEL")):
            ms, rc, out, err = timed(c, cmd)
            samples[kind].append(ms)
            if rc != 0:
                report["failures"].append({"run": "calibrate", "cmd": cmd, "ctr": c["id"], "rc": rc, "out": out, "err": err})
    # The faster of two: kill points then fall inside the operation, not after it.
    cal = {k: min(v) for k, v in samples.items()}
    report["calibration"] = {k: round(v) for k, v in cal.items()}

    t0 = time.monotonic()
    for i in range(spec["runs"]):
        others = [x for x in ctrs if state[x["id"]] != "detached"]
        if i % 4 == 3:
            # Not killed: alternately an ADD and a DEL when some container allows it.
            want = "ADD" if (i // 4) % 2 == 0 else "DEL"
            pool = [x for x in ctrs if (state[x["id"]] == "detached") == (want == "ADD")] or ctrs
            c = random.choice(pool)
        else:
            c = random.choice(ctrs)
        cmd = "ADD" if state[c["id"]] == "detached" else "DEL"
        alone = not [x for x in others if x["id"] != c["id"]]
        kind = ("cold" if alone else "warm") + "ADD" if cmd == "ADD" else ("last" if alone else "warm") + "DEL"
        if i % 4 == 3:
            delay = 120.0
        else:
            delay = random.uniform(0, 1.1 * cal[kind]) / 1000.0
        killed, rc, out, err = run(c, cmd, delay)
        report["runs"] += 1
        if killed:
            report["killed"] += 1
            report["kills"].append({"cmd": cmd, "kind": kind, "ms": round(delay * 1000),
                                    "frac": round(delay * 1000 / max(1.0, cal[kind]), 2)})
            state[c["id"]] = "unknown"
        else:
            report["completed"] += 1
            if rc != 0:
                report["failures"].append({"run": i, "cmd": cmd, "ctr": c["id"], "rc": rc, "out": out, "err": err})
                state[c["id"]] = "unknown"
            else:
                report["completedAdds" if cmd == "ADD" else "completedDels"] += 1
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
