"""Figure 10 (issue 12): port forwarding host -> container, side by side in one run.

Variants: our forwarder on both backends, slirp4netns's `add_hostfwd` (portForwarder
"slirp4netns": slirp's TCP stack, then portmap DNAT), pasta's own `-t` (the helper started by
hand into a netns, no plugin). Per variant: iperf3 through the mapping with 1 and 4 streams at
MTU 65520, connections/s of short request/response exchanges, and the RSS of the process that
forwards (our forwarder, slirp4netns, pasta) with 0 and with 1000 open connections.
Clients on the host's loopback, servers in the container's (or reference) netns.
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


def _conf(b, tag: str, backend: str, forwarder: str, state: str) -> str:
    path = b.user_conf(f"fwd-{tag}", backend, 65520, state, 65520)
    with open(path) as fh:
        conf = json.load(fh)
    conf["plugins"][0]["portForwarder"] = forwarder
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


def _newest(uid: int, needle: str) -> int | None:
    """The newest live process of `uid` whose command line contains `needle`."""
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
            if needle in cmd and fields[0] != "Z":
                start = int(fields[19])
                if best is None or start > best[0]:
                    best = (start, int(d))
        except OSError:
            continue
    return best[1] if best else None


def _iperf(b, ns: str, host_port: int, streams: int) -> float:
    argv = b.session_argv(["nsenter", f"--net={ns}", "iperf3", "-s", "-p", str(GUEST), "-1"])
    b.note_cmd("10", argv)
    srv = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    b.children.append(srv)
    try:
        b.wait_listen(srv.pid, GUEST)
        cli = ["iperf3", "-c", "127.0.0.1", "-p", str(host_port), "-t", str(b.p["iperf_t"]), "-P", str(streams), "-J"]
        b.note_cmd("10", cli)
        p = subprocess.run(cli, capture_output=True, text=True, timeout=60)
        d = json.loads(p.stdout)
        if d.get("error"):
            raise RuntimeError(f"iperf3: {d['error']}")
        return d["end"]["sum_received"]["bits_per_second"] / 1e9
    finally:
        b.reap(srv)


def _cps(port: int, n: int) -> float:
    t0 = time.monotonic()
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        c.sendall(b"GET / HTTP/1.0\r\n\r\n")
        while c.recv(256):
            pass
        c.close()
    return n / (time.monotonic() - t0)


def _hold(port: int, n: int) -> list[socket.socket]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1024), hard))
    return [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(n)]


def _measure(b, ns: str, ports: dict, rss_pid) -> dict:
    row = {}
    for streams in (1, 4):
        runs = [_iperf(b, ns, ports["iperf"], streams) for _ in range(b.p["iperf_reps"])]
        row[f"gbps{streams}"] = sorted(runs)[len(runs) // 2]
        row[f"gbps{streams}Samples"] = runs
    argv = b.session_argv(["nsenter", f"--net={ns}", "python3", "-c", SERVER, str(CPS_GUEST), str(HOLD_GUEST)])
    b.note_cmd("10", argv[:-3] + ["SERVER", str(CPS_GUEST), str(HOLD_GUEST)])
    srv = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    b.children.append(srv)
    try:
        b.wait_listen(srv.pid, HOLD_GUEST)
        row["connPerSec"] = _cps(ports["cps"], 500 if b.quick else 3000)
        pid = rss_pid()
        row["rss0KB"] = _proc_rss_kb(pid) if pid else None
        held = _hold(ports["hold"], 1000)
        time.sleep(1)
        row["rss1000KB"] = _proc_rss_kb(pid) if pid else None
        for s in held:
            s.close()
    finally:
        srv.terminate()
        b.reap(srv)
    return row


def _attach_args(b, conf: str, ports: dict) -> list[str]:
    # Three mappings (iperf3, short requests, held connections) through the driver's --caps.
    return ["--caps", json.dumps({"portMappings": [
        {"hostPort": ports[k], "containerPort": g, "protocol": "tcp", "hostIP": "127.0.0.1"}
        for k, g in (("iperf", GUEST), ("cps", CPS_GUEST), ("hold", HOLD_GUEST))]})]


def run(b) -> None:
    rows = []
    for tag, backend, forwarder in (("ours-slirp4netns", "slirp4netns", "builtin"), ("ours-pasta", "pasta", "builtin"),
                                    ("slirp4netns-add_hostfwd", "slirp4netns", "slirp4netns")):
        state = f"rcnib-fwd-{tag[:12]}"
        conf = _conf(b, tag, backend, forwarder, state)
        ports = {"iperf": b.free_port(), "cps": b.free_port(), "hold": b.free_port()}
        row = {"variant": tag}
        try:
            a = b.driver("10", "user", ["attach", "--name", "fwd"] + _attach_args(b, conf, ports) + b.user_args(conf, "rcnib-f"))
            try:
                needle = "__forwarder" if forwarder == "builtin" else "slirp4netns"
                row.update(_measure(b, a["netns"], ports, lambda: _newest(b.uid, needle)))
            finally:
                b.driver("10", "user", ["detach", "--name", "fwd"] + b.user_args(conf, "rcnib-f"))
        except Exception as e:  # noqa: BLE001 -- reported in the doc
            row["error"] = str(e)
        rows.append(row)
        b.res["forward10"] = rows
    # pasta's own forwarding: -t for the three ports, helper started by hand.
    ports = {"iperf": b.free_port(), "cps": b.free_port(), "hold": b.free_port()}
    row = {"variant": "pasta -t"}
    try:
        spec = "127.0.0.1/" + ",".join(f"{ports[k]}:{g}" for k, g in (("iperf", GUEST), ("cps", CPS_GUEST), ("hold", HOLD_GUEST)))
        r = b.driver("10", "user", ["ref-start", "--backend", "pasta", "--mtu", "65520", "--prefix", "rcnib-f",
                                    "--work", b.uwork, "--tcp", spec])
        b.ref_helpers.append(r["pid"])
        try:
            row.update(_measure(b, r["netns"], ports, lambda: r["pid"]))
        finally:
            b.driver("10", "user", ["ref-stop", "--pid", str(r["pid"]), "--prefix", "rcnib-f", "--work", b.uwork])
            b.ref_helpers.remove(r["pid"])
    except Exception as e:  # noqa: BLE001
        row["error"] = str(e)
    rows.append(row)
    b.res["forward10"] = rows


def _g(x, d=2):
    return "—" if x is None else f"{x:.{d}f}"


def section(b, W) -> None:
    from bench_md import figure, table   # the report's helpers (rendering only)
    rows = figure(b, W, "10", "forward10", "10. Port forwarding: host → container (issue 12)",
        "iperf3 `-c 127.0.0.1 -p HOSTPORT -P 1|4` through a `portMappings` entry, MTU 65520 (helper and bridge), "
        "median of the runs; then 3000 sequential short request/response connections (HTTP/1.0-like: connect, "
        "request, response, close; `--quick`: 500); then the RSS of the forwarding process (our forwarder; "
        "slirp4netns for `add_hostfwd`; pasta for `-t`) idle and with 1000 open idle connections. "
        "Ours: the forwarder in the shared namespace (epoll, splice) to the container over the bridge; "
        "`add_hostfwd`: `portForwarder: \"slirp4netns\"` (slirp's TCP stack, then portmap DNAT); "
        "pasta -t: pasta started by hand into a netns (no plugin, no bridge) with `-t 127.0.0.1/PORT:GUEST`. "
        "All in one run, clients on the host's loopback.")
    if not rows:
        return
    table(W, ("variant", "1 stream (Gbit/s)", "4 streams (Gbit/s)", "connections/s", "RSS idle (KiB)",
              "RSS 1000 conns (KiB)"),
          [(r["variant"], f"error: {r['error'][:120]}", "", "", "", "") if "error" in r else
           (r["variant"], _g(r.get("gbps1")), _g(r.get("gbps4")), _g(r.get("connPerSec"), 0),
            r.get("rss0KB") or "—", r.get("rss1000KB") or "—") for r in rows])
    W("")
