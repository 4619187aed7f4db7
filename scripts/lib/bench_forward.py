"""Figure 10 (issue 12): port forwarding host -> container, side by side in one run.

Variants: our forwarder on both backends, slirp4netns's `add_hostfwd` (portForwarder
"slirp4netns": slirp's TCP stack, then portmap DNAT), pasta's own `-t` (the helper started by
hand into a netns, no plugin), and as the bound of our path the bridge alone (iperf3 client
inside our shared namespace straight to the container, no forwarder). Per variant: iperf3
through the mapping with 1 and 4 streams at MTU 65520, connections/s of short request/response
exchanges, and the RSS of the process that forwards with 0 and with 1000 open connections.
All variants are set up at once and measured in rounds, the order rotated every round, so load
changes hit every variant alike; cells are medians over the rounds. Clients on the host's
loopback, servers in the container's (or reference) netns. Diagnostics (the --json has them raw):
BENCH_FWD_STRACE=1 (syscalls per short connection), BENCH_FWD_PERF=1 (the forwarder's splice and
epoll calls per iperf3 run), BENCH_FWD_OLD_BIN=FILE (a second build of ours, before/after).
"""
import json
import os
import resource
import socket
import subprocess
import time

GUEST = 5201
CPS_GUEST = 8081
HOLD_GUEST = 8082
TICK = os.sysconf("SC_CLK_TCK")

# Short request/response server and connection holder, both run inside the container's netns.
SERVER = r"""
import resource, socket, sys, threading
h = resource.getrlimit(resource.RLIMIT_NOFILE)[1]; resource.setrlimit(resource.RLIMIT_NOFILE, (h, h))
def cps(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", port)); s.listen(512)
    while True:
        c, _ = s.accept(); c.recv(200); c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"); c.close()
def hold(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", port)); s.listen(2048)
    kept = []
    while True:
        c, _ = s.accept(); kept.append(c)
threading.Thread(target=cps, args=(int(sys.argv[1]),), daemon=True).start()
hold(int(sys.argv[2]))
"""

# (tag, backend, portForwarder); "pasta -t" and the bridge reference are set up apart.
PLUGIN_VARIANTS = (("ours-slirp4netns", "slirp4netns", "builtin"), ("ours-pasta", "pasta", "builtin"),
                   ("ours-slirp4netns-fig7conf", "slirp4netns", None),
                   ("slirp4netns-add_hostfwd", "slirp4netns", "slirp4netns"))
BRIDGE = "bridge alone (no forwarder)"


def _conf(b, tag: str, backend: str, forwarder: str | None, state: str) -> str:
    path = b.user_conf(f"fwd-{tag}", backend, 65520, state, 65520)
    if forwarder is None:   # figure 7's conflist as is
        return path
    with open(path) as fh:
        conf = json.load(fh)
    conf["plugins"][0]["portForwarder"] = forwarder
    # The 1000 held connections of the RSS cell must fit under the per-mapping cap (default 512).
    conf["plugins"][0]["maxConnectionsPerForward"] = 4096
    return b.write_conf(f"fwd-{tag}", conf)


def _proc_rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _cpu_ticks(pid) -> int | None:
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat") as fh:
            f = fh.read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    except OSError:
        return None


def _newest(uid: int, *needles: str) -> int | None:
    """The newest live process of `uid` whose command line contains every needle."""
    best = None
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.stat(f"/proc/{d}").st_uid != uid:
                continue
            with open(f"/proc/{d}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{d}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if all(n in cmd for n in needles) and fields[0] != "Z":
                start = int(fields[19])
                if best is None or start > best[0]:
                    best = (start, int(d))
        except OSError:
            continue
    return best[1] if best else None


def _stat() -> tuple[int, int]:
    """(all, idle) jiffies of the machine (/proc/stat)."""
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:]]
    return sum(f), f[3] + f[4]


PERF_EVENTS = ("splice", "epoll_wait", "epoll_ctl")


def _perf_start(b, pid):
    """Counts the forwarder's syscalls during one run (perf stat on syscall tracepoints: no
    ptrace, so the run is not slowed down much); BENCH_FWD_PERF=1 only."""
    if not pid:
        return None
    out = os.path.join(b.work, f"perf-{pid}-{time.monotonic_ns()}.csv")
    ev = ",".join(f"syscalls:sys_enter_{e}" for e in PERF_EVENTS)
    p = subprocess.Popen(["perf", "stat", "-x", ",", "-o", out, "-e", ev, "-p", str(pid)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.2)
    return p, out


def _perf_stop(p, out) -> dict:
    p.send_signal(2)
    p.wait(timeout=20)
    counts = {}
    with open(out) as fh:
        for line in fh:
            f = line.strip().split(",")
            if len(f) > 2 and f[2].startswith("syscalls:sys_enter_") and f[0].isdigit():
                counts[f[2].removeprefix("syscalls:sys_enter_")] = int(f[0])
    return counts


def _iperf(b, v: dict, streams: int) -> tuple[float, float | None, float]:
    """One iperf3 run through variant `v`: (Gbit/s, CPU % of the forwarding process, machine busy %)."""
    with b.container_iperf_server("10", v["netns"], GUEST):
        tail = ["-t", str(b.p["iperf_t"]), "-P", str(streams), "-J"]
        if v.get("bridge"):
            cli = b.session_argv([os.path.join(b.bin, "rootless-netns"), "enter", "--state-dir", v["stateDir"], "--",
                                  "iperf3", "-c", v["ip"], "-p", str(GUEST)] + tail)
        else:
            cli = ["iperf3", "-c", "127.0.0.1", "-p", str(v["ports"]["iperf"])] + tail
        b.note_cmd("10", cli)
        pid = v["pid"]() if v.get("pid") else None
        perf = _perf_start(b, pid) if os.environ.get("BENCH_FWD_PERF") and v["variant"].startswith("ours") else None
        c0, t0, m0 = _cpu_ticks(pid), time.monotonic(), _stat()
        p = subprocess.run(cli, capture_output=True, text=True, timeout=60)
        c1, t1, m1 = _cpu_ticks(pid), time.monotonic(), _stat()
        if perf:
            v.setdefault("perf", []).append({"streams": streams, "seconds": t1 - t0, **_perf_stop(*perf)})
        try:
            d = json.loads(p.stdout)
        except ValueError:
            raise RuntimeError(f"iperf3: {p.stdout[-300:]} {p.stderr[-300:]}")
        if d.get("error"):
            raise RuntimeError(f"iperf3: {d['error']}")
        cpu = None if c0 is None or c1 is None else 100.0 * (c1 - c0) / TICK / (t1 - t0)
        busy = 100.0 * (1 - (m1[1] - m0[1]) / max(1, m1[0] - m0[0]))
        return d["end"]["sum_received"]["bits_per_second"] / 1e9, cpu, busy


def _cps(port: int, n: int) -> float:
    t0 = time.monotonic()
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        c.sendall(b"GET / HTTP/1.0\r\n\r\n")
        while c.recv(256):
            pass
        c.close()
    return n / (time.monotonic() - t0)


def _hold(port: int, n: int, seconds: float) -> list[socket.socket]:
    """Up to n open connections, as many as are accepted within `seconds` (slirp4netns's
    add_hostfwd takes them at a few per second)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1024), hard))
    held, deadline = [], time.monotonic() + seconds
    while len(held) < n and time.monotonic() < deadline:
        held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    return held


def _machine_busy(seconds: float = 2.0) -> float:
    """CPU busy % of the whole machine (100% = every core) over `seconds`."""
    t0, i0 = _stat()
    time.sleep(seconds)
    t1, i1 = _stat()
    return 100.0 * (1 - (i1 - i0) / max(1, t1 - t0))


def _strace_cps(b, v: dict, n: int) -> dict | None:
    """Syscalls of the forwarder per short connection (strace -c, BENCH_FWD_STRACE=1 only:
    strace slows the process down, so this run's rate is not reported)."""
    pid = v["pid"]()
    if not pid:
        return None
    out = os.path.join(b.work, f"strace-{pid}.txt")
    st = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(pid)], stderr=subprocess.DEVNULL)
    time.sleep(1)
    _cps(v["ports"]["cps"], n)
    st.send_signal(2)
    st.wait(timeout=20)
    calls = {}
    with open(out) as fh:
        for line in fh:
            f = line.split()
            if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
                calls[f[-1]] = round(int(f[3]) / n, 2)
    return calls


def _med(xs: list) -> float | None:
    xs = sorted(x for x in xs if x is not None)
    return xs[len(xs) // 2] if xs else None


def _mappings(ports: dict) -> list[dict]:
    return [{"hostPort": ports[k], "containerPort": g, "protocol": "tcp", "hostIP": "127.0.0.1"}
            for k, g in (("iperf", GUEST), ("cps", CPS_GUEST), ("hold", HOLD_GUEST))]


def _container_ip(b, ns: str) -> str:
    out = subprocess.run(b.session_argv(["nsenter", f"--net={ns}", "ip", "-j", "-4", "addr", "show", "dev", "eth0"]),
                         capture_output=True, text=True, timeout=20).stdout
    return json.loads(out or "[]")[0]["addr_info"][0]["local"]


def _setup(b, variants: list, teardown: list) -> None:
    plugin_variants = list(PLUGIN_VARIANTS)
    # Before/after in one run: BENCH_FWD_OLD_BIN=/path/to/an/older/rootless-netns adds our forwarder
    # on slirp4netns from that binary (copied next to the bench's own, as the bench user reads it).
    old = os.environ.get("BENCH_FWD_OLD_BIN")
    if old:
        d = os.path.join(b.work, "bin-old")
        os.makedirs(d, mode=0o755, exist_ok=True)
        subprocess.run(["install", "-m", "0755", old, os.path.join(d, "rootless-netns")], check=True)
        plugin_variants.insert(1, ("ours-slirp4netns-old", "slirp4netns", "builtin"))
    for i, (tag, backend, forwarder) in enumerate(plugin_variants):
        state = f"rcnib-fwd{i}"
        conf = _conf(b, tag, backend, forwarder, state)
        ports = {"iperf": b.free_port(), "cps": b.free_port(), "hold": b.free_port()}
        args = b.user_args(conf, "rcnib-f")
        if tag.endswith("-old"):
            args[args.index("--cni-path") + 1] = os.path.join(b.work, "bin-old") + ":" + b.cni_path_ours.split(":", 1)[1]
        maps = _mappings(ports) if forwarder else _mappings(ports)[:1]
        # All attached at once: one container name (and so one IPAM lease) each.
        a = b.driver("10", "user", ["attach", "--name", f"fwd{i}", "--caps", json.dumps({"portMappings": maps})] + args)
        teardown.append(["detach", "--name", f"fwd{i}"] + args)
        # This variant's forwarding process: its command line names the state dir.
        needle = ("__forwarder" if forwarder != "slirp4netns" else "slirp4netns", f"{b.xdg}/{state}/")
        helper = (backend, f"{b.xdg}/{state}/")
        variants.append({"variant": tag, "netns": a["netns"], "ports": ports, "iperfOnly": forwarder is None,
                         "pid": lambda needle=needle: _newest(b.uid, *needle),
                         "helperPid": lambda helper=helper: _newest(b.uid, *helper)})
        if tag == "ours-slirp4netns":
            variants.append({"variant": BRIDGE, "netns": a["netns"], "bridge": True, "ip": _container_ip(b, a["netns"]),
                             "stateDir": f"{b.xdg}/{state}"})
    # pasta's own forwarding: -t for the three ports, helper started by hand.
    ports = {"iperf": b.free_port(), "cps": b.free_port(), "hold": b.free_port()}
    spec = "127.0.0.1/" + ",".join(f"{m['hostPort']}:{m['containerPort']}" for m in _mappings(ports))
    r = b.driver("10", "user", ["ref-start", "--backend", "pasta", "--mtu", "65520", "--prefix", "rcnib-f",
                                "--work", b.uwork, "--tcp", spec])
    b.ref_helpers.append(r["pid"])
    teardown.append(["ref-stop", "--pid", str(r["pid"]), "--prefix", "rcnib-f", "--work", b.uwork])
    variants.append({"variant": "pasta -t", "netns": r["netns"], "ports": ports, "pid": lambda: r["pid"],
                     "refPid": r["pid"]})


def run(b) -> None:
    variants: list[dict] = []
    teardown: list[list[str]] = []
    servers = []
    rows = {}
    try:
        _setup(b, variants, teardown)
        rows = {v["variant"]: {"variant": v["variant"], "samples1": [], "samples4": [], "cpu1": [], "cpu4": [],
                               "cpsSamples": []} for v in variants}
        for v in variants:
            if v.get("bridge") or v.get("iperfOnly"):
                continue
            argv = b.session_argv(["nsenter", f"--net={v['netns']}", "python3", "-c", SERVER, str(CPS_GUEST),
                                   str(HOLD_GUEST)])
            b.note_cmd("10", argv[:-3] + ["SERVER", str(CPS_GUEST), str(HOLD_GUEST)])
            srv = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            b.children.append(srv)
            servers.append(srv)
            b.wait_listen(srv.pid, HOLD_GUEST)
        b.res["forward10BusyBefore"] = _machine_busy()
        reps = b.p["iperf_reps"]
        n_cps = (500 if b.quick else 3000) // reps
        for r in range(reps):
            order = variants[r % len(variants):] + variants[:r % len(variants)]
            for streams in (1, 4):
                for v in order:
                    g, cpu, busy = _iperf(b, v, streams)
                    if v.get("perf") and "gbps" not in v["perf"][-1]:
                        v["perf"][-1]["gbps"] = g
                    rows[v["variant"]][f"samples{streams}"].append(g)
                    rows[v["variant"]][f"cpu{streams}"].append(cpu)
                    rows[v["variant"]].setdefault(f"busy{streams}", []).append(busy)
            for v in order:
                if not v.get("bridge") and not v.get("iperfOnly"):
                    pids = (v["pid"](), v["helperPid"]() if v.get("helperPid") else None)
                    c0, t0 = [_cpu_ticks(p) for p in pids], time.monotonic()
                    rows[v["variant"]]["cpsSamples"].append(_cps(v["ports"]["cps"], n_cps))
                    c1, t1 = [_cpu_ticks(p) for p in pids], time.monotonic()
                    for k, a, z in zip(("cpsCpu", "cpsHelperCpu"), c0, c1):
                        if a is not None and z is not None and not (k == "cpsHelperCpu" and pids[0] == pids[1]):
                            rows[v["variant"]].setdefault(k, []).append(100.0 * (z - a) / TICK / (t1 - t0))
        for v in variants:
            if v.get("bridge") or v.get("iperfOnly"):
                continue
            row = rows[v["variant"]]
            pid = v["pid"]()
            row["rss0KB"] = _proc_rss_kb(pid) if pid else None
            held = _hold(v["ports"]["hold"], 1000, 60)
            time.sleep(1)
            row["rss1000KB"] = _proc_rss_kb(pid) if pid else None
            row["held"] = len(held)
            for s in held:
                s.close()
        if os.environ.get("BENCH_FWD_STRACE"):
            for v in variants:
                if v["variant"].startswith("ours-") and not v.get("iperfOnly"):
                    rows[v["variant"]]["syscallsPerConn"] = _strace_cps(b, v, 300)
        for v in variants:
            if v.get("perf"):
                rows[v["variant"]]["perf"] = v["perf"]
        for row in rows.values():
            row["gbps1"], row["gbps4"] = _med(row["samples1"]), _med(row["samples4"])
            row["cpuPct1"], row["cpuPct4"] = _med(row["cpu1"]), _med(row["cpu4"])
            row["busyPct1"], row["busyPct4"] = _med(row.get("busy1", [])), _med(row.get("busy4", []))
            row["connPerSec"] = _med(row["cpsSamples"])
    finally:
        for srv in servers:
            srv.terminate()
            b.reap(srv)
        for args in reversed(teardown):
            try:
                b.driver("10", "user", args)
            except Exception:  # noqa: BLE001 -- the bench's cleanup removes the rest
                pass
        for v in variants:
            if v.get("refPid") in b.ref_helpers:
                b.ref_helpers.remove(v["refPid"])
        b.res["forward10"] = list(rows.values())
        b.res["forward10Load"] = os.getloadavg()


def _g(x, d=2):
    return "—" if x is None else f"{x:.{d}f}"


def _span0(xs):
    xs = [x for x in xs or [] if x is not None]
    return f" ({min(xs):.0f}–{max(xs):.0f})" if len(xs) > 1 else ""


def _span(xs):
    xs = [x for x in xs or [] if x is not None]
    return f" ({min(xs):.2f}–{max(xs):.2f})" if len(xs) > 1 else ""


def section(b, W) -> None:
    from bench_md import figure, table   # the report's helpers (rendering only)
    rows = figure(b, W, "10", "forward10", "10. Port forwarding: host → container (issue 12)",
        f"iperf3 `-c 127.0.0.1 -p HOSTPORT -t {b.p['iperf_t']} -P 1|4` through a `portMappings` entry, MTU 65520 "
        f"(helper and bridge). All variants are set up at once and measured in {b.p['iperf_reps']} round(s), the "
        "order rotated every round; cells are the median (min–max) over the rounds, and the CPU of the process "
        "that forwards (our forwarder, slirp4netns, pasta; 100% = one core) during the run. Then "
        f"{500 if b.quick else 3000} sequential short request/response connections per variant (HTTP/1.0-like: "
        "connect, request, response, close; split over the rounds; with the CPU of the forwarder and of the "
        "namespace's helper meanwhile), then the RSS of the forwarding process idle "
        "and with 1000 open idle connections. Ours: the forwarder in the shared namespace (epoll, splice) to the "
        "container over the bridge; `add_hostfwd`: `portForwarder: \"slirp4netns\"` (slirp's TCP stack, then "
        "portmap DNAT); pasta -t: pasta started by hand into a netns (no plugin, no bridge) with "
        "`-t 127.0.0.1/PORT:GUEST`; bridge alone: iperf3 client inside our shared namespace straight to the "
        "container (what our path costs without the host-loopback leg and the forwarder: its bound). "
        "Clients on the host's loopback.")
    if not rows:
        return
    load = b.res.get("forward10Load")
    def cells(r):
        if "error" in r:   # a variant that failed (records of earlier runs)
            return (r["variant"], f"error: {r['error'][:120]}") + ("",) * 7
        held = "" if r.get("held", 1000) >= 1000 else f" ({r.get('held')} accepted in 60 s)"
        return (r["variant"], f"{_g(r.get('gbps1'))}{_span(r.get('samples1'))}",
                f"{_g(r.get('cpuPct1'), 0)}% / {_g(r.get('busyPct1'), 0)}%",
                f"{_g(r.get('gbps4'))}{_span(r.get('samples4'))}",
                f"{_g(r.get('cpuPct4'), 0)}% / {_g(r.get('busyPct4'), 0)}%",
                f"{_g(r.get('connPerSec'), 0)}{_span0(r.get('cpsSamples'))}",
                f"{_g(_med(r.get('cpsCpu') or []), 0)}% / {_g(_med(r.get('cpsHelperCpu') or []), 0)}%",
                r.get("rss0KB") or "—", f"{r.get('rss1000KB') or '—'}{held}")
    table(W, ("variant", "1 stream (Gbit/s)", "forwarder / machine CPU", "4 streams (Gbit/s)", "forwarder / machine CPU",
              "connections/s", "forwarder / helper CPU", "RSS idle (KiB)", "RSS 1000 conns (KiB)"),
          [cells(r) for r in rows])
    W("")
    for r in rows:
        if r.get("syscallsPerConn"):
            top = sorted(r["syscallsPerConn"].items(), key=lambda kv: -kv[1])
            W(f"Syscalls of the forwarder per short connection, {r['variant']} (strace -c, 300 connections): "
              + ", ".join(f"{k} {v:g}" for k, v in top) + ".")
            W("")
    busy = b.res.get("forward10BusyBefore")
    if busy is not None:
        W(f"Machine CPU busy in the 2 s before the figure: {busy:.0f}% of all cores.")
        W("")
    if load:
        W(f"Load average at the end of the figure: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (2 vCPUs).")
        W("")
