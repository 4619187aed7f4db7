#!/usr/bin/env python3
"""Measurement driver of scripts/bench (not meant to be run by hand).

Runs where the measured thing runs -- inside the bench user's rootless
session (`cnitool session exec`), or as root inside the bench's stand-in host
namespace (`nsenter --net=...`) -- so that no interpreter, nsenter or sudo
start-up is part of a timed interval. Each subcommand prints one JSON object
on stdout; times are milliseconds.

Plugin chains are run with cnitool's own libcni implementation
(scripts/lib/cnilib, in-process), the same way for our plugin and for the
reference chain: every timed interval is one libcni-style ADD or DEL (config
building, plugin execs, result cache write).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from cnilib import libcni  # noqa: E402
from cnilib import netns as cnetns  # noqa: E402
from cnilib.errors import ToolError  # noqa: E402

NOW = time.perf_counter_ns


def ms(ns: int) -> float:
    return ns / 1e6


def log(*a) -> None:
    print("bench-driver:", *a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# chains


class Chain:
    """A conflist run through cnitool's libcni, timed per operation."""

    def __init__(self, conf_path: str, cni_path: str, cache_dir: str):
        self.clist = libcni.load_conflist_file(conf_path)
        self.runner = libcni.Runner([d for d in cni_path.split(":") if d], cache_dir, 120)

    def rt(self, ns: str, cid: str, cap: dict | None = None) -> libcni.RuntimeConf:
        return libcni.RuntimeConf(cid, ns, "eth0", [], cap or {})

    def add(self, ns: str, cid: str, cap: dict | None = None) -> float:
        rt = self.rt(ns, cid, cap)
        t0 = NOW()
        self.runner.add(self.clist, rt)
        return ms(NOW() - t0)

    def delete(self, ns: str, cid: str) -> float:
        rt = self.rt(ns, cid)
        rt.cap_args_given = False
        self.runner.reuse_cached_args(self.clist, rt)
        t0 = NOW()
        self.runner.delete(self.clist, rt)
        return ms(NOW() - t0)


class Namespaces:
    """Container namespaces made for the bench (cnitool's netns module: `ip netns add`
    as root, `unshare --net=FILE` in the rootless session)."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.made: list[str] = []

    def add(self, name: str) -> str:
        full = f"{self.prefix}-{name}"
        try:
            cnetns.delete(full)
        except ToolError:
            pass
        path = cnetns.add(full)
        self.made.append(full)
        return path

    def remove(self, path: str) -> None:
        name = os.path.basename(path)
        cnetns.delete(name)
        if name in self.made:
            self.made.remove(name)

    def remove_all(self) -> None:
        for n in list(self.made):
            try:
                cnetns.delete(n)
            except ToolError as e:
                log(f"netns del {n}: {e}")
        self.made.clear()


def rss_of(argv: list[str], env: dict, stdin: bytes) -> tuple[int, bytes]:
    """(peak RSS in KiB, stdout) of one run; GNU time's %M: the process and the children it reaped."""
    fd, out = tempfile.mkstemp(prefix="rcnib-rss-")
    os.close(fd)
    try:
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out, *argv], input=stdin, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        if p.returncode != 0:
            raise ToolError(f"{argv[0]} exited with {p.returncode}: {p.stdout[:300]!r}")
        with open(out) as f:
            return int(f.read().split()[-1]), p.stdout
    finally:
        os.unlink(out)


def chain_rss(chain: Chain, ns: str, cid: str) -> dict:
    """Peak RSS (KiB) of each plugin invocation of one ADD and one DEL of the chain, run as
    libcni runs it, each plugin under /usr/bin/time."""
    clist, runner = chain.clist, chain.runner
    rt = chain.rt(ns, cid)
    out: dict = {}
    result = None
    for plugin in clist.plugins:
        conf = runner.build_one_config(clist, plugin, result, rt)
        path = libcni.find_in_path(plugin["type"], runner.cni_path)
        kib, stdout = rss_of([path], runner._env("ADD", rt), json.dumps(conf).encode())
        result = json.loads(stdout)
        out.setdefault(plugin["type"], {})["ADD"] = kib
    runner.cache_add(clist, rt, result)
    cached = runner.cached_result(clist, rt)
    for plugin in reversed(clist.plugins):
        conf = runner.build_one_config(clist, plugin, cached, rt)
        path = libcni.find_in_path(plugin["type"], runner.cni_path)
        kib, _ = rss_of([path], runner._env("DEL", rt), json.dumps(conf).encode())
        out[plugin["type"]]["DEL"] = kib
    runner.cache_del(clist.name, rt)
    return out


# --------------------------------------------------------------------------
# subcommands


def cmd_version(o) -> dict:
    """fork/exec of each binary with CNI_COMMAND=VERSION, stdin from a file; round-robin."""
    env = dict(os.environ)
    env.update({"CNI_COMMAND": "VERSION", "CNI_PATH": "/usr/lib/cni"})
    out = {b: [] for b in o.bins}
    devnull = os.open(os.devnull, os.O_WRONLY)
    for i in range(o.n + 3):
        for b in o.bins:
            fd = os.open(o.stdin, os.O_RDONLY)
            t0 = NOW()
            pid = os.posix_spawn(b, [b], env, file_actions=[
                (os.POSIX_SPAWN_DUP2, fd, 0), (os.POSIX_SPAWN_DUP2, devnull, 1)])
            _, status = os.waitpid(pid, 0)
            dt = ms(NOW() - t0)
            os.close(fd)
            if os.waitstatus_to_exitcode(status) != 0:
                raise ToolError(f"{b} VERSION exited with {os.waitstatus_to_exitcode(status)}")
            if i >= 3:  # warm-up: page cache, first-exec costs
                out[b].append(dt)
    return {"times": out}


def cmd_warm(o) -> dict:
    """Shared namespace up with one container attached; then n x (ADD, DEL) of a second one."""
    chain = Chain(o.conf, o.cni_path, o.cache_dir)
    nss = Namespaces(o.prefix)
    res = {"add": [], "del": []}
    try:
        base = nss.add("base")
        res["firstAdd"] = chain.add(base, f"{o.prefix}-base")
        w = nss.add("w")
        cid = f"{o.prefix}-w"
        # one untimed round: page cache, iptables chains, host-local dir, ...
        chain.add(w, cid)
        chain.delete(w, cid)
        for _ in range(o.n):
            res["add"].append(chain.add(w, cid))
            res["del"].append(chain.delete(w, cid))
        if o.rss:
            res["rssKiB"] = chain_rss(chain, w, cid)
        res["lastDel"] = chain.delete(base, f"{o.prefix}-base")
    finally:
        nss.remove_all()
    return res


def pids_of(names: set[str]) -> list[int]:
    """Live processes of ours (same uid) whose comm is one of `names`."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.stat(f"/proc/{d}").st_uid != os.getuid():
                continue
            with open(f"/proc/{d}/comm") as fh:
                if fh.read().strip() not in names:
                    continue
            with open(f"/proc/{d}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                    found.append(int(d))
        except OSError:
            pass
    return found


def cmd_cold(o) -> dict:
    """n x (cold ADD of the first container, DEL of the last one); checks the teardown."""
    chain = Chain(o.conf, o.cni_path, o.cache_dir)
    nss = Namespaces(o.prefix)
    helper = set(o.helper.split(","))
    res = {"add": [], "del": [], "leftHelpers": 0, "leftStateFiles": []}
    try:
        ns = nss.add("c")
        cid = f"{o.prefix}-c"
        before = set(pids_of(helper))
        chain.add(ns, cid)          # untimed warm-up of the page cache
        chain.delete(ns, cid)
        for _ in range(o.n):
            res["add"].append(chain.add(ns, cid))
            res["del"].append(chain.delete(ns, cid))
        time.sleep(0.1)
        res["leftHelpers"] = len(set(pids_of(helper)) - before)
        if os.path.isdir(o.state_dir):
            res["leftStateFiles"] = sorted(os.listdir(o.state_dir))
    finally:
        nss.remove_all()
    return res


def wait_gone(pid: int, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return
        except OSError:
            return
        time.sleep(0.002)


def slirp_features(binary: str) -> list[str]:
    text = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    return [f for f in ("--enable-sandbox", "--enable-seccomp") if f in text]


def start_slirp(binary: str, ns: str, mtu: int, api: str | None, features: list[str]) -> tuple[subprocess.Popen, float]:
    """slirp4netns as the plugin starts it; returns (process, ms until it wrote "1" on the ready fd)."""
    r, w = os.pipe()
    argv = [binary, "--configure", f"--mtu={mtu}", "--cidr=10.0.2.0/24", *features]
    if api:
        argv += ["--api-socket", api]
    argv += ["-r", str(w), "--netns-type=path", ns, "tap0"]
    t0 = NOW()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         pass_fds=(w,), start_new_session=True)
    os.close(w)
    data = os.read(r, 1)
    dt = ms(NOW() - t0)
    os.close(r)
    if data != b"1":
        p.kill()
        raise ToolError(f"slirp4netns did not get ready (read {data!r}, exit {p.poll()})")
    return p, dt


def pasta_args(ns: str, mtu: int, pidfile: str, tcp: str = "none") -> list[str]:
    return ["--config-net", "--netns", ns, "--pid", pidfile, "--quiet", "--mtu", str(mtu),
            "-t", tcp, "-u", "none", "-T", "none", "-U", "none", "-4", "--dns-forward", "169.254.1.1"]


def start_pasta(binary: str, ns: str, mtu: int, pidfile: str, tcp: str = "none") -> tuple[int, float]:
    """pasta as the plugin starts it; returns (daemon pid, ms until the foreground process exited).
    `tcp`: pasta's -t spec (e.g. 127.0.0.1/HOSTPORT:GUESTPORT for the reference's forward)."""
    try:
        os.unlink(pidfile)
    except FileNotFoundError:
        pass
    argv = [binary] + pasta_args(ns, mtu, pidfile, tcp)
    t0 = NOW()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       start_new_session=True)
    dt = ms(NOW() - t0)
    if p.returncode != 0:
        raise ToolError(f"pasta failed ({p.returncode}): {p.stderr.decode(errors='replace').strip()}")
    with open(pidfile) as f:
        return int(f.read().strip()), dt


def cmd_helper(o) -> dict:
    """The helper alone: n x (start into a fresh netns, wait for ready, stop). The netns
    is made beforehand (timed apart: `unshare --net=FILE true`)."""
    nss = Namespaces(o.prefix)
    res = {"ready": [], "netnsCreate": [], "helpExec": []}
    binary = shutil.which(o.backend)
    try:
        for i in range(o.n + 1):
            t0 = NOW()
            ns = nss.add("h")
            t_ns = ms(NOW() - t0)
            t0 = NOW()
            if o.backend == "slirp4netns":
                feats = slirp_features(binary)   # the plugin asks --help on every start
            else:
                subprocess.run([binary, "--help"], capture_output=True)
            t_help = ms(NOW() - t0)
            if o.backend == "slirp4netns":
                p, dt = start_slirp(binary, ns, o.mtu, None, feats)
                p.terminate()
                p.wait()
            else:
                pid, dt = start_pasta(binary, ns, o.mtu, os.path.join(o.work, "pasta-h.pid"))
                os.kill(pid, signal.SIGTERM)
                wait_gone(pid)
            nss.remove(ns)
            if i > 0:
                res["ready"].append(dt)
                res["netnsCreate"].append(t_ns)
                res["helpExec"].append(t_help)
    finally:
        nss.remove_all()
    return res


def cmd_scale(o) -> dict:
    """Per-ADD/DEL of one more container with L containers attached, for each level L."""
    chain = Chain(o.conf, o.cni_path, o.cache_dir)
    nss = Namespaces(o.prefix)
    levels = [int(x) for x in o.levels.split(",")]
    attached: list[tuple[str, str]] = []
    res = {"levels": {}, "fillAdd": [], "drainDel": []}
    try:
        probe = nss.add("probe")
        pcid = f"{o.prefix}-probe"
        for lv in levels:
            while len(attached) < lv:
                i = len(attached)
                ns = nss.add(f"s{i}")
                cid = f"{o.prefix}-s{i}"
                res["fillAdd"].append(chain.add(ns, cid))
                attached.append((ns, cid))
            adds, dels = [], []
            chain.add(probe, pcid)
            chain.delete(probe, pcid)
            for _ in range(o.reps):
                adds.append(chain.add(probe, pcid))
                dels.append(chain.delete(probe, pcid))
            res["levels"][str(lv)] = {"add": adds, "del": dels}
            log(f"scale {o.prefix}: level {lv} done")
        while attached:
            ns, cid = attached.pop()
            res["drainDel"].append(chain.delete(ns, cid))
    finally:
        for ns, cid in reversed(attached):
            try:
                chain.delete(ns, cid)
            except ToolError as e:
                log(f"scale cleanup DEL {cid}: {e}")
        nss.remove_all()
    return res


def cmd_parallel(o) -> dict:
    """One container attached; then n concurrent ADDs (one thread each, started together),
    then n concurrent DELs."""
    chain = Chain(o.conf, o.cni_path, o.cache_dir)
    nss = Namespaces(o.prefix)
    res = {}
    try:
        base = nss.add("base")
        chain.add(base, f"{o.prefix}-base")
        targets = [(nss.add(f"p{i}"), f"{o.prefix}-p{i}") for i in range(o.n)]

        def burst(fn) -> tuple[float, list[float], list[str]]:
            times = [0.0] * o.n
            errors: list[str] = []
            gate = threading.Barrier(o.n + 1)

            def one(i: int) -> None:
                ns, cid = targets[i]
                gate.wait()
                try:
                    times[i] = fn(ns, cid)
                except Exception as e:  # noqa: BLE001
                    errors.append(f"{cid}: {e}")
            threads = [threading.Thread(target=one, args=(i,)) for i in range(o.n)]
            for t in threads:
                t.start()
            gate.wait()
            t0 = NOW()
            for t in threads:
                t.join()
            return ms(NOW() - t0), times, errors

        res["addWall"], res["add"], res["addErrors"] = burst(chain.add)
        res["delWall"], res["del"], res["delErrors"] = burst(chain.delete)
        chain.delete(base, f"{o.prefix}-base")
    finally:
        nss.remove_all()
    return res


def slirp_api(sock: str, req: dict) -> dict:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sock)
    s.sendall(json.dumps(req).encode())
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return json.loads(data)


def cmd_ref_start(o) -> dict:
    """Reference for throughput: a netns and the helper started by hand (no plugin), with a host
    forward 127.0.0.1:hostport -> the netns's guestport (slirp4netns: `add_hostfwd` to 10.0.2.100
    on its API socket; pasta: `-t 127.0.0.1/hostport:guestport`)."""
    ns = Namespaces(o.prefix).add("ref")
    binary = shutil.which(o.backend)
    if o.backend == "slirp4netns":
        api = os.path.join(o.work, "ref-slirp.sock")
        try:
            os.unlink(api)
        except FileNotFoundError:
            pass
        p, _ = start_slirp(binary, ns, o.mtu, api, slirp_features(binary))
        if o.hostfwd:
            hp, gp = o.hostfwd.split(":")
            reply = slirp_api(api, {"execute": "add_hostfwd", "arguments": {
                "proto": "tcp", "host_addr": "127.0.0.1", "host_port": int(hp),
                "guest_addr": "10.0.2.100", "guest_port": int(gp)}})
            if "return" not in reply:
                raise ToolError(f"add_hostfwd: {reply}")
        return {"netns": ns, "pid": p.pid, "gateway": "10.0.2.2"}
    tcp = o.tcp or "none"
    if o.hostfwd:
        hp, gp = o.hostfwd.split(":")
        tcp = f"127.0.0.1/{hp}:{gp}"
    pid, _ = start_pasta(binary, ns, o.mtu, os.path.join(o.work, "pasta-ref.pid"), tcp)
    gw = default_gateway(ns)
    return {"netns": ns, "pid": pid, "gateway": gw}


def default_gateway(ns: str) -> str:
    out = subprocess.run(["nsenter", f"--net={ns}", "ip", "-j", "-4", "route", "show", "default"],
                         capture_output=True, text=True).stdout
    routes = json.loads(out or "[]")
    return routes[0]["gateway"] if routes else ""


def cmd_ref_stop(o) -> dict:
    try:
        os.kill(o.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    wait_gone(o.pid)
    Namespaces(o.prefix).remove(cnetns.path_of(f"{o.prefix}-ref"))
    return {}


def cmd_attach(o) -> dict:
    """ADD one container (kept), optionally with a port mapping; prints its netns."""
    chain = Chain(o.conf, o.cni_path, o.cache_dir)
    ns = Namespaces(o.prefix).add(o.name)
    cap = None
    if o.hostfwd:
        hp, gp = o.hostfwd.split(":")
        cap = {"portMappings": [{"hostPort": int(hp), "containerPort": int(gp), "protocol": "tcp",
                                 "hostIP": "127.0.0.1"}]}
    if o.caps:
        cap = json.loads(o.caps)
    chain.add(ns, f"{o.prefix}-{o.name}", cap)
    return {"netns": ns}


def cmd_detach(o) -> dict:
    chain = Chain(o.conf, o.cni_path, o.cache_dir)
    path = cnetns.path_of(f"{o.prefix}-{o.name}")
    chain.delete(path, f"{o.prefix}-{o.name}")
    Namespaces(o.prefix).remove(path)
    return {}


def cmd_spawn(o) -> dict:
    """fork/exec timing of named argv lists ({name: [argv, ...]}, the argvs of a name run in sequence and
    are timed together), round-robin, n each."""
    cmds = json.loads(o.cmds)
    out = {k: [] for k in cmds}
    devnull = os.open(os.devnull, os.O_WRONLY)
    for i in range(o.n + 2):
        for k, argvs in cmds.items():
            t0 = NOW()
            for argv in argvs:      # a key may be a sequence of commands (summed)
                pid = os.posix_spawn(argv[0], argv, os.environ,
                                     file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
                _, status = os.waitpid(pid, 0)
                if os.waitstatus_to_exitcode(status) != 0:
                    raise ToolError(f"{argv} exited with {os.waitstatus_to_exitcode(status)}")
            dt = ms(NOW() - t0)
            if i >= 2:
                out[k].append(dt)
    return {"times": out}


def main() -> int:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp, conf=True):
        sp.add_argument("--prefix", default="rcnib")
        sp.add_argument("--work", default="/tmp")
        if conf:
            sp.add_argument("--conf", required=True)
            sp.add_argument("--cni-path", required=True)
            sp.add_argument("--cache-dir", required=True)
        return sp

    sp = common(sub.add_parser("version"), False)
    sp.add_argument("--n", type=int, default=20)
    sp.add_argument("--stdin", required=True)
    sp.add_argument("bins", nargs="+")
    sp = common(sub.add_parser("warm"))
    sp.add_argument("--n", type=int, default=20)
    sp.add_argument("--rss", action="store_true")
    sp = common(sub.add_parser("cold"))
    sp.add_argument("--n", type=int, default=10)
    sp.add_argument("--helper", required=True)
    sp.add_argument("--state-dir", required=True)
    sp = common(sub.add_parser("helper"), False)
    sp.add_argument("--n", type=int, default=10)
    sp.add_argument("--backend", required=True)
    sp.add_argument("--mtu", type=int, default=65520)
    sp = common(sub.add_parser("scale"))
    sp.add_argument("--levels", default="1,50,200")
    sp.add_argument("--reps", type=int, default=5)
    sp = common(sub.add_parser("parallel"))
    sp.add_argument("--n", type=int, default=32)
    sp = common(sub.add_parser("ref-start"), False)
    sp.add_argument("--backend", required=True)
    sp.add_argument("--mtu", type=int, required=True)
    sp.add_argument("--hostfwd", default="")
    sp.add_argument("--tcp", default="", help="pasta only: its whole -t spec (bench_forward)")
    sp = common(sub.add_parser("ref-stop"), False)
    sp.add_argument("--pid", type=int, required=True)
    sp = common(sub.add_parser("attach"))
    sp.add_argument("--name", required=True)
    sp.add_argument("--hostfwd", default="")
    sp.add_argument("--caps", default="", help="CAP_ARGS JSON instead of --hostfwd (bench_forward)")
    sp = common(sub.add_parser("detach"))
    sp.add_argument("--name", required=True)
    sp = common(sub.add_parser("spawn"), False)
    sp.add_argument("--n", type=int, default=20)
    sp.add_argument("--cmds", required=True)
    o = p.parse_args()
    os.makedirs(o.work, mode=0o700, exist_ok=True)
    fn = globals()["cmd_" + o.cmd.replace("-", "_")]
    try:
        res = fn(o)
    except ToolError as e:
        print(json.dumps({"error": str(e), "stdout": e.stdout}))
        return 1
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
