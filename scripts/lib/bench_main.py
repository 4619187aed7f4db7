#!/usr/bin/env python3
"""scripts/bench, the part that measures (as root, after scripts/bench set the machine up).

Runs every figure of issue 7, each side by side with its reference, and writes
docs/benchmarks.md. Timed work happens in scripts/lib/bench_driver.py, run inside
the bench user's rootless session (our plugins) or as root inside a stand-in host
netns (the reference chain), so no interpreter start-up is measured.
A figure that fails is reported as "not produced" with the reason; the others go on.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import traceback

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DRIVER = os.path.join(HERE, "bench_driver.py")
CNITOOL = os.path.join(ROOT, "scripts", "cnitool")
sys.path.insert(0, HERE)
import bench_netns  # noqa: E402  (figure 9, issue 13)
import bench_forward  # noqa: E402  (figure 10, issue 12)
REF_DIR = "/usr/lib/cni"
HOST_NS = "rcnib-host"          # stand-in "host" netns for the reference chain (root)
T_START = time.monotonic()


def log(msg: str) -> None:
    print(f"[bench {time.monotonic() - T_START:6.1f}s] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# statistics and formatting


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def pct(xs, p):
    """Nearest-rank percentile."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def f(x, d=1):
    if x is None or x != x:
        return "n/a"
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.{d}f}"


def mm(xs, d=1):
    """'median (min–max, n)'."""
    if not xs:
        return "n/a"
    return f"{f(med(xs), d)} ({f(min(xs), d)}–{f(max(xs), d)}, n={len(xs)})"


def ratio(a, b):
    if a is None or b is None or a != a or b != b or b == 0:
        return float("nan")
    return a / b


def fr(r):
    return "n/a" if r != r else f"{r:.2f}x"


def verdict(ok):
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


# --------------------------------------------------------------------------
# the run


class Bench:
    def __init__(self, o):
        self.o = o
        self.quick = o.quick
        self.user = o.user
        self.uid = int(subprocess.check_output(["id", "-u", o.user]).strip())
        self.xdg = f"/run/user/{self.uid}"
        self.work = o.work
        self.bin = o.bin
        self.cni_path_ours = f"{self.bin}:{REF_DIR}"
        self.cache_user = f"{self.xdg}/rcnib-cache"
        # where the driver, as the bench user, may write (pid files, API sockets)
        self.uwork = f"{self.xdg}/bench-work"
        self.cache_root = os.path.join(self.work, "cache-root")
        self.commands: list[tuple[str, str]] = []
        self.res: dict = {}
        self.notes: dict[str, list[str]] = {}
        self.failed: dict[str, str] = {}
        self.children: list[subprocess.Popen] = []
        self.ref_helpers: list[int] = []
        self.root_netns: list[str] = []
        self.p = dict(
            version_n=20 if self.quick else 100,
            warm_n=8 if self.quick else 15,
            warm_blocks=2 if self.quick else 3,
            cold_n=4 if self.quick else 15,
            helper_n=5 if self.quick else 15,
            levels=[1, 20, 50] if self.quick else [1, 50, 200],
            scale_reps=4 if self.quick else 10,
            parallel=32,
            ni_n=8 if self.quick else 30,
            ni_sizes=[1, 100, 1000],
            iperf_t=1 if self.quick else 3,
            iperf_reps=1 if self.quick else 3,
        )

    # -- running things -------------------------------------------------------

    def note_cmd(self, fig: str, argv: list[str]) -> None:
        text = " ".join(a if a and all(c.isalnum() or c in "-_=./:,@+%" for c in a) else "'" + a + "'"
                        for a in argv)
        text = text.replace(self.uwork, "$XDG_RUNTIME_DIR/bench-work").replace(self.work, "$WORK")
        text = text.replace(ROOT + "/", "").replace(self.xdg, "$XDG_RUNTIME_DIR")
        if fig == "7":   # random free ports: one line per distinct command
            text = re.sub(r"--hostfwd 2\d{4}:", "--hostfwd $HOSTPORT:", text)
            text = re.sub(r"-p 2\d{4}\b", "-p $PORT", text)
        if (fig, text) not in self.commands:
            self.commands.append((fig, text))

    def session_argv(self, argv: list[str]) -> list[str]:
        return [CNITOOL, "--user", self.user, "session", "exec", "--"] + argv

    def driver(self, fig: str, where: str, args: list[str], timeout: float = 900) -> dict:
        """Run a driver subcommand in the rootless session ("user") or as root in the stand-in
        host netns ("host") or on the host ("root"); return its JSON."""
        inner = ["python3", DRIVER] + args
        if where == "user":
            argv = self.session_argv(inner)
        elif where == "host":
            argv = ["nsenter", f"--net=/run/netns/{HOST_NS}", "--"] + inner
        else:
            argv = inner
        self.note_cmd(fig, argv)
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
        lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
        if not lines:
            raise RuntimeError(f"driver {args[0]} ({where}) exit {p.returncode}: {p.stderr.strip()[-800:]}")
        out = json.loads(lines[-1])
        if "error" in out:
            raise RuntimeError(f"driver {args[0]} ({where}): {out['error']} {out.get('stdout') or ''} "
                               f"{p.stderr.strip()[-400:]}")
        return out

    def user_conf(self, name: str, backend: str, mtu: int, state: str, bridge_mtu: int | None = None) -> str:
        bridge = {"type": "bridge", "bridge": "rcnib0", "isGateway": True, "ipMasq": True, "hairpinMode": True,
                  "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.89.0.0/16", "gateway": "10.89.0.1"}]],
                           "routes": [{"dst": "0.0.0.0/0"}]}}
        if bridge_mtu:
            bridge["mtu"] = bridge_mtu
        conf = {"cniVersion": "1.0.0", "name": "rcni-bench", "plugins": [{
            "type": "rootless-netns", "backend": backend, "mtu": mtu, "cidr": "10.0.2.0/24",
            "allowHostLoopback": True, "stateDir": f"{self.xdg}/{state}",
            "capabilities": {"portMappings": True},
            "delegates": [bridge, {"type": "portmap", "capabilities": {"portMappings": True}}]}]}
        return self.write_conf(name, conf)

    def ref_conf(self) -> str:
        conf = {"cniVersion": "1.0.0", "name": "rcni-bench-ref", "plugins": [
            {"type": "bridge", "bridge": "rcnib0", "isGateway": True, "ipMasq": True, "hairpinMode": True,
             "ipam": {"type": "host-local", "dataDir": os.path.join(self.work, "ipam"),
                      "ranges": [[{"subnet": "10.89.0.0/16", "gateway": "10.89.0.1"}]],
                      "routes": [{"dst": "0.0.0.0/0"}]}},
            {"type": "portmap", "capabilities": {"portMappings": True}}]}
        return self.write_conf("ref", conf)

    def write_conf(self, name: str, conf: dict) -> str:
        path = os.path.join(self.work, f"{name}.conflist")
        with open(path, "w") as fh:
            json.dump(conf, fh, indent=2)
        os.chmod(path, 0o644)
        self.res.setdefault("conflists", {})[name] = conf
        return path

    def user_args(self, conf: str, prefix: str) -> list[str]:
        return ["--conf", conf, "--cni-path", self.cni_path_ours, "--cache-dir", self.cache_user,
                "--prefix", prefix, "--work", self.uwork]

    def ref_args(self, prefix: str = "rcnib-ref") -> list[str]:
        return ["--conf", self.ref_conf(), "--cni-path", REF_DIR, "--cache-dir", self.cache_root,
                "--prefix", prefix, "--work", self.work]

    def ensure_host_ns(self) -> None:
        if not os.path.exists(f"/run/netns/{HOST_NS}"):
            subprocess.run(["ip", "netns", "add", HOST_NS], check=True)
            self.root_netns.append(HOST_NS)
            subprocess.run(["ip", "-n", HOST_NS, "link", "set", "lo", "up"], check=True)

    def figure(self, key: str, fn) -> None:
        log(f"figure {key} ...")
        t0 = time.monotonic()
        try:
            fn()
        except Exception as e:  # noqa: BLE001 -- reported in the doc
            self.failed[key] = f"{type(e).__name__}: {e}"
            log(f"figure {key} FAILED: {e}")
            traceback.print_exc(file=sys.stderr)
        self.res.setdefault("figureSeconds", {})[key] = time.monotonic() - t0
        log(f"figure {key} done in {time.monotonic() - t0:.1f}s")

    # -- figures ----------------------------------------------------------------

    def fig1_version(self) -> None:
        stdin = os.path.join(self.work, "version-stdin.json")
        with open(stdin, "w") as fh:
            fh.write('{"cniVersion":"1.0.0"}\n')
        ours = [os.path.join(self.bin, b) for b in ("rootless-netns", "netstat-inspect")]
        refs = [os.path.join(REF_DIR, b) for b in ("bridge", "host-local", "portmap")]
        out = self.driver("1", "root", ["version", "--n", str(self.p["version_n"]), "--stdin", stdin] + ours + refs
                          + ["/bin/true"])
        self.res["version"] = {os.path.basename(k): v for k, v in out["times"].items()}

    def fig2_warm(self) -> None:
        self.ensure_host_ns()
        confs = {"slirp4netns": self.user_conf("warm-slirp4netns", "slirp4netns", 65520, "rcnib-warm-slirp"),
                 "pasta": self.user_conf("warm-pasta", "pasta", 65520, "rcnib-warm-pasta")}
        acc: dict = {}
        n = str(self.p["warm_n"])
        # Blocks alternate between the sides so drift hits both alike.
        for block in range(self.p["warm_blocks"]):
            last = block == self.p["warm_blocks"] - 1
            runs = [("ref", "host", ["warm", "--n", n] + self.ref_args() + (["--rss"] if last else []))]
            for b, conf in confs.items():
                runs.append((b, "user", ["warm", "--n", n] + self.user_args(conf, "rcnib-w") +
                             (["--rss"] if last else [])))
            for key, where, args in runs:
                out = self.driver("2", where, args)
                a = acc.setdefault(key, {"add": [], "del": [], "firstAdd": [], "lastDel": []})
                a["add"] += out["add"]
                a["del"] += out["del"]
                a["firstAdd"].append(out["firstAdd"])
                a["lastDel"].append(out["lastDel"])
                if "rssKiB" in out:
                    a["rssKiB"] = out["rssKiB"]
        self.res["warm"] = acc

    def fig3_cold(self) -> None:
        acc = {}
        for b, state in (("slirp4netns", "rcnib-cold-slirp"), ("pasta", "rcnib-cold-pasta")):
            conf = self.user_conf(f"cold-{b}", b, 65520, state)
            out = self.driver("3", "user", ["cold", "--n", str(self.p["cold_n"]), "--helper",
                                            "slirp4netns" if b == "slirp4netns" else "pasta,passt,pasta.avx2,passt.avx2",
                                            "--state-dir", f"{self.xdg}/{state}"] + self.user_args(conf, "rcnib-c"))
            helper = self.driver("3", "user", ["helper", "--backend", b, "--n", str(self.p["helper_n"]),
                                               "--mtu", "65520", "--prefix", "rcnib-h", "--work", self.uwork])
            acc[b] = {"cold": out, "helper": helper}
        self.res["cold"] = acc

    def fig4_scale(self) -> None:
        self.ensure_host_ns()
        levels = ",".join(str(x) for x in self.p["levels"])
        reps = str(self.p["scale_reps"])
        conf = self.user_conf("scale-slirp4netns", "slirp4netns", 65520, "rcnib-scale")
        ours = self.driver("4", "user", ["scale", "--levels", levels, "--reps", reps] + self.user_args(conf, "rcnib-s"))
        ref = self.driver("4", "host", ["scale", "--levels", levels, "--reps", reps] + self.ref_args("rcnib-rs"))
        self.res["scale"] = {"ours": ours, "ref": ref}

    def fig5_parallel(self) -> None:
        self.ensure_host_ns()
        n = str(self.p["parallel"])
        conf = self.user_conf("parallel-slirp4netns", "slirp4netns", 65520, "rcnib-par")
        ours = self.driver("5", "user", ["parallel", "--n", n] + self.user_args(conf, "rcnib-p"))
        ref = self.driver("5", "host", ["parallel", "--n", n] + self.ref_args("rcnib-rp"))
        self.res["parallel"] = {"ours": ours, "ref": ref}

    def fig6_netstat(self) -> None:
        ni = os.path.join(self.bin, "netstat-inspect")
        out = {}
        for size in self.p["ni_sizes"]:
            name = f"rcnib-if{size}"
            if os.path.exists(f"/run/netns/{name}"):
                subprocess.run(["ip", "netns", "del", name], check=True)
            subprocess.run(["ip", "netns", "add", name], check=True)
            self.root_netns.append(name)
            batch = os.path.join(self.work, f"if{size}.batch")
            with open(batch, "w") as fh:
                fh.write("link set lo up\n")
                for i in range(size - 1):
                    fh.write(f"link add rb{i} type ifb\n")
                for i in range(size - 1):
                    fh.write(f"link set rb{i} up\n")
                for i in range(size - 1):
                    fh.write(f"addr add 10.{200 + i // 65536}.{(i // 256) % 256}.{i % 256}/32 dev rb{i}\n")
            self.note_cmd("6", ["ip", "-n", name, "-batch", batch])
            t0 = time.monotonic()
            subprocess.run(["ip", "-n", name, "-batch", batch], check=True)
            setup_s = time.monotonic() - t0
            count = len(json.loads(subprocess.check_output(["ip", "-n", name, "-j", "link", "show"])))
            path = f"/run/netns/{name}"
            cmds = {
                "stats": [[ni, "stats", "--netns", path]],
                "ip-stats": [["/usr/bin/ip" if os.path.exists("/usr/bin/ip") else "/sbin/ip",
                              "-n", name, "-j", "-s", "link", "show"]],
                "inspect": [[ni, "inspect", "--netns", path]],
            }
            ipbin = cmds["ip-stats"][0][0]
            cmds["ip-inspect"] = [[ipbin, "-n", name, "-j", "-s", "link", "show"],
                                  [ipbin, "-n", name, "-j", "addr", "show"]]
            t = self.driver("6", "root", ["spawn", "--n", str(self.p["ni_n"]), "--cmds", json.dumps(cmds)])
            rss = {k: self.rss(v) for k, v in cmds.items()}
            sizes = {k: sum(len(subprocess.run(a, capture_output=True).stdout) for a in v) for k, v in cmds.items()}
            out[str(size)] = {"interfaces": count, "times": t["times"], "rssKiB": rss, "outputBytes": sizes,
                              "setupSeconds": setup_s}
            subprocess.run(["ip", "netns", "del", name], check=True)
            self.root_netns.remove(name)
        self.res["netstat"] = out

    def rss(self, argvs: list[list[str]], env: dict | None = None, stdin: bytes = b"") -> int:
        peak = 0
        for argv in argvs:
            outf = os.path.join(self.work, "rss.out")
            subprocess.run(["/usr/bin/time", "-f", "%M", "-o", outf] + argv, input=stdin, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with open(outf) as fh:
                peak = max(peak, int(fh.read().split()[-1]))
        return peak

    # -- figure 7: throughput --------------------------------------------------------

    def free_port(self) -> int:
        while True:
            port = 20000 + int.from_bytes(os.urandom(2), "big") % 9000
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
            finally:
                s.close()

    def wait_listen(self, pid: int, port: int, timeout: float = 10) -> None:
        """Until `pid`'s netns has a TCP listener on `port` (via /proc/PID/net/tcp)."""
        want = f":{port:04X}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for table in ("tcp", "tcp6"):   # iperf3 -s listens on a dual-stack socket
                try:
                    with open(f"/proc/{pid}/net/{table}") as fh:
                        for line in fh.readlines()[1:]:
                            parts = line.split()
                            if parts[1].endswith(want) and parts[3] == "0A":
                                return
                except OSError:
                    pass
            time.sleep(0.02)
        raise RuntimeError(f"nothing listens on port {port} (pid {pid})")

    def host_iperf_server(self, port: int) -> subprocess.Popen:
        argv = ["iperf3", "-s", "-B", "127.0.0.1", "-p", str(port), "-1"]
        self.note_cmd("7", argv)
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.children.append(p)
        self.wait_listen(p.pid, port)
        return p

    def token_check(self, ns: str, gw: str) -> None:
        """The container must reach *host loopback* at gw (a server only on 127.0.0.1 answers
        with a token); otherwise no traffic is sent (it could leave the machine)."""
        port = self.free_port()
        token = os.urandom(8).hex()
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv.listen(1)
        srv.settimeout(10)

        def serve():
            try:
                c, _ = srv.accept()
                c.sendall(token.encode())
                c.close()
            except OSError:
                pass
        th = threading.Thread(target=serve, daemon=True)
        th.start()
        code = (f"import socket;s=socket.create_connection(('{gw}',{port}),timeout=5);"
                f"print(s.recv(64).decode())")
        got = subprocess.run(self.session_argv(["nsenter", f"--net={ns}", "python3", "-c", code]),
                             capture_output=True, text=True, timeout=20).stdout.strip()
        srv.close()
        if got != token:
            raise RuntimeError(f"{gw}:{port} from {ns} is not the host's loopback (got {got!r})")

    def iperf_client(self, argv: list[str]) -> dict:
        self.note_cmd("7", argv)
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        try:
            d = json.loads(p.stdout)
        except ValueError:
            raise RuntimeError(f"iperf3: {p.stdout[-300:]} {p.stderr[-300:]}")
        if d.get("error"):
            raise RuntimeError(f"iperf3: {d['error']}")
        end = d["end"]
        return {"gbps": end["sum_received"]["bits_per_second"] / 1e9,
                "retransmits": end.get("sum_sent", {}).get("retransmits")}

    def repeated(self, one) -> dict:
        runs = [one() for _ in range(self.p["iperf_reps"])]
        g = [x["gbps"] for x in runs]
        return {"gbps": med(g), "samples": g, "retransmits": [x["retransmits"] for x in runs]}

    def c2h(self, ns: str, gw: str) -> dict:
        self.token_check(ns, gw)

        def one():
            port = self.free_port()
            srv = self.host_iperf_server(port)
            try:
                return self.iperf_client(self.session_argv(
                    ["nsenter", f"--net={ns}", "iperf3", "-c", gw, "-p", str(port), "-t", str(self.p["iperf_t"]), "-J"]))
            finally:
                self.reap(srv)
        return self.repeated(one)

    def h2c(self, ns: str, host_port: int, guest_port: int) -> dict:
        def one():
            argv = self.session_argv(["nsenter", f"--net={ns}", "iperf3", "-s", "-p", str(guest_port), "-1"])
            self.note_cmd("7", argv)
            srv = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.children.append(srv)
            try:
                self.wait_listen(srv.pid, guest_port)
                return self.iperf_client(["iperf3", "-c", "127.0.0.1", "-p", str(host_port),
                                          "-t", str(self.p["iperf_t"]), "-J"])
            finally:
                self.reap(srv)
        return self.repeated(one)

    def reap(self, p: subprocess.Popen) -> None:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.children:
            self.children.remove(p)

    def shared_gateway(self, state: str) -> str:
        out = subprocess.run(self.session_argv([os.path.join(self.bin, "rootless-netns"), "enter", "--state-dir",
                                                f"{self.xdg}/{state}", "--", "ip", "-j", "-4", "route", "show",
                                                "default"]), capture_output=True, text=True).stdout
        routes = json.loads(out or "[]")
        if not routes:
            raise RuntimeError("no default route in the shared namespace")
        return routes[0]["gateway"]

    def fig7_throughput(self) -> None:
        rows = []
        variants = [("slirp4netns", 1500, 1500), ("slirp4netns", 65520, 65520)]
        if not self.quick:
            variants.append(("slirp4netns", 65520, None))
        variants += [("pasta", 1500, 1500), ("pasta", 65520, 65520)]
        for backend, mtu, bmtu in variants:
            row = {"backend": backend, "mtu": mtu, "bridgeMtu": bmtu or 1500, "bridgeMtuDefault": bmtu is None}
            tag = f"{backend[:5]}-{mtu}-{bmtu or 'd'}"
            state = f"rcnib-tp-{tag}"
            conf = self.user_conf(f"tp-{tag}", backend, mtu, state, bmtu)
            guest = 5201
            hp = self.free_port()
            # ours
            try:
                a = self.driver("7", "user", ["attach", "--name", "tp"] + (["--hostfwd", f"{hp}:{guest}"] if hp else [])
                                + self.user_args(conf, "rcnib-t"))
                try:
                    gw = "10.0.2.2" if backend == "slirp4netns" else self.shared_gateway(state)
                    row["oursC2H"] = self.c2h(a["netns"], gw)
                    if hp:
                        row["oursH2C"] = self.h2c(a["netns"], hp, guest)
                finally:
                    self.driver("7", "user", ["detach", "--name", "tp"] + self.user_args(conf, "rcnib-t"))
            except Exception as e:  # noqa: BLE001
                row["oursError"] = str(e)
                log(f"throughput ours {tag}: {e}")
            # reference: the helper alone, started by hand into a fresh netns
            if bmtu is not None:
                hp2 = self.free_port()
                try:
                    r = self.driver("7", "user", ["ref-start", "--backend", backend, "--mtu", str(mtu),
                                                  "--prefix", "rcnib-t", "--work", self.uwork] +
                                    (["--hostfwd", f"{hp2}:{guest}"] if hp2 else []))
                    self.ref_helpers.append(r["pid"])
                    try:
                        row["refC2H"] = self.c2h(r["netns"], r["gateway"])
                        if hp2:
                            row["refH2C"] = self.h2c(r["netns"], hp2, guest)
                    finally:
                        self.driver("7", "user", ["ref-stop", "--pid", str(r["pid"]), "--prefix", "rcnib-t",
                                                  "--work", self.uwork])
                        self.ref_helpers.remove(r["pid"])
                except Exception as e:  # noqa: BLE001
                    row["refError"] = str(e)
                    log(f"throughput ref {tag}: {e}")
            rows.append(row)
            log(f"throughput {tag}: {json.dumps({k: v for k, v in row.items() if k not in ('backend',)})}")
        self.res["throughput"] = rows

    # -- figure 8 ---------------------------------------------------------------

    def fig8_rss_size(self) -> None:
        out = {"size": {}, "rssVersion": {}}
        stdin = b'{"cniVersion":"1.0.0"}\n'
        env = {"CNI_COMMAND": "VERSION", "PATH": "/usr/bin:/bin"}
        paths = {"rootless-netns": os.path.join(self.bin, "rootless-netns"),
                 "netstat-inspect": os.path.join(self.bin, "netstat-inspect")}
        for b in ("bridge", "host-local", "portmap"):
            paths[b] = os.path.join(REF_DIR, b)
        for name, path in paths.items():
            stripped = os.path.join(self.work, f"{name}.stripped")
            subprocess.run(["strip", "-o", stripped, path], check=True, capture_output=True)
            out["size"][name] = {"bytes": os.path.getsize(path), "stripped": os.path.getsize(stripped)}
            os.unlink(stripped)
            self.note_cmd("8", ["/usr/bin/time", "-f", "%M", path, "<", "version-stdin.json", "(CNI_COMMAND=VERSION)"])
            out["rssVersion"][name] = max(self.rss([[path]], env, stdin) for _ in range(3))
        out["rssBaseline"] = self.rss([["/bin/true"]])
        self.res["rss"] = out

    # -- document -----------------------------------------------------------------

    def machine(self) -> dict:
        def sh(cmd):
            try:
                return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip()
            except OSError:
                return ""
        model = sh("lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1")
        return {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "nproc": sh("nproc"), "cpu": model, "kernel": platform.release(),
            "mem": sh("free -m | awk '/^Mem:/ {print $2\" MiB\"}'"),
            "os": sh(". /etc/os-release && echo \"$PRETTY_NAME\""),
            "virt": sh("lscpu | sed -n 's/^Hypervisor vendor:[[:space:]]*//p'"),
            "swift": sh("swift --version 2>&1 | head -1"),
            "pkgs": sh("dpkg-query -W -f='${Package} ${Version}, ' containernetworking-plugins slirp4netns passt "
                       "iperf3 iproute2 2>/dev/null").rstrip(", "),
            "python": platform.python_version(),
            "commit": sh(f"git -C {ROOT} rev-parse --short HEAD") +
            (" (+ uncommitted changes)" if sh(f"git -C {ROOT} status --porcelain -- Sources Package.swift") else ""),
        }

    def write_doc(self, path: str, total_s: float) -> list[str]:
        r, m = self.res, self.machine()
        L: list[str] = []
        summary: list[tuple] = []   # (figure, ours, reference, ratio, target, met)
        verdicts: list[str] = []
        W = L.append
        W("# Benchmarks")
        W("")
        W(f"Generated by `scripts/bench{' --quick' if self.quick else ''}` on {m['date']} "
          f"(run time {total_s / 60:.1f} min, {'quick' if self.quick else 'default'} mode). "
          "Re-run it as root on any Debian/Ubuntu machine; it installs what it needs, builds the release "
          "binaries, creates the unprivileged user `" + self.user + "` with a rootless session, and removes "
          "everything again. All times are wall-clock milliseconds: **median (min–max, n)**; ratios are "
          "ours ÷ reference, medians. Numbers on a 2-vCPU VM are noisy: expect ±10–20% between runs.")
        W("")
        W("## Machine")
        W("")
        W("| | |")
        W("|---|---|")
        W(f"| CPU | {m['cpu']} ({m['virt'] or 'bare metal'} guest), `nproc` = {m['nproc']} |")
        W(f"| memory | {m['mem']} |")
        W(f"| kernel | {m['kernel']} |")
        W(f"| OS | {m['os']} |")
        W(f"| toolchain | {m['swift']}; plugins built by `scripts/build-release` (rootless-netns and netstat-inspect fully static); commit {m['commit']} |")
        W(f"| reference | {m['pkgs']}; Python {m['python']} |")
        W("")

        # figure 1
        sec1: list[str] = []
        v = r.get("version")
        if v:
            ref_all = v["bridge"] + v["host-local"] + v["portmap"]
            refm = med(ref_all)
            sec1 += ["| binary | VERSION exec (ms) | ratio to the Go plugins (pooled median) |", "|---|---|---|"]
            for b in ("rootless-netns", "netstat-inspect", "bridge", "host-local", "portmap"):
                sec1.append(f"| {b} | {mm(v[b], 2)} | {fr(ratio(med(v[b]), refm))} |")
            if "true" in v:
                sec1.append(f"| (`/bin/true`: the fork/exec floor) | {mm(v['true'], 2)} | |")
            for b in ("rootless-netns", "netstat-inspect"):
                rt = ratio(med(v[b]), refm)
                ok = rt <= 1.0
                summary.append((f"1. VERSION exec, {b}", f"{f(med(v[b]), 2)} ms", f"{f(refm, 2)} ms (bridge/host-local/portmap)",
                                fr(rt), "≤ 1.0x", ok))
        # figure 2
        sec2: list[str] = []
        w = r.get("warm")
        if w and "ref" in w:
            ref = w["ref"]
            sec2 += ["| chain | warm ADD (ms) | warm DEL (ms) | first ADD (ms) | last DEL (ms) |", "|---|---|---|---|---|"]
            sec2.append(f"| reference: bridge+host-local+portmap as root in a plain netns | {mm(ref['add'])} | {mm(ref['del'])} | "
                        f"{mm(ref['firstAdd'])} | {mm(ref['lastDel'])} |")
            for b in ("slirp4netns", "pasta"):
                if b not in w:
                    continue
                o = w[b]
                sec2.append(f"| rootless-netns ({b}) → same chain, in the session | {mm(o['add'])} | {mm(o['del'])} | "
                            f"{mm(o['firstAdd'])} (cold) | {mm(o['lastDel'])} (teardown) |")
            sec2.append("")
            sec2 += ["| backend | ADD ratio | ADD added ms | DEL ratio | DEL added ms |", "|---|---|---|---|---|"]
            for b in ("slirp4netns", "pasta"):
                if b not in w:
                    continue
                o = w[b]
                ra, rd = ratio(med(o["add"]), med(ref["add"])), ratio(med(o["del"]), med(ref["del"]))
                da, dd = med(o["add"]) - med(ref["add"]), med(o["del"]) - med(ref["del"])
                sec2.append(f"| {b} | {fr(ra)} | {da:+.1f} | {fr(rd)} | {dd:+.1f} |")
                summary.append((f"2. warm ADD ({b})", f"{f(med(o['add']))} ms", f"{f(med(ref['add']))} ms", fr(ra),
                                f"≤ 1.3x (added {da:+.1f} ms)", ra <= 1.3))
                summary.append((f"2. warm DEL ({b})", f"{f(med(o['del']))} ms", f"{f(med(ref['del']))} ms", fr(rd),
                                f"≤ 1.3x (added {dd:+.1f} ms)", rd <= 1.3))
        # figure 3
        sec3: list[str] = []
        c = r.get("cold")
        if c:
            sec3 += ["| backend | cold ADD (ms) | last DEL / teardown (ms) | helper alone: start → ready (ms) | "
                     "netns create (ms, `unshare --net=FILE true`) | helper `--help` exec (ms) | leftovers after last DEL |",
                     "|---|---|---|---|---|---|---|"]
            for b, d in c.items():
                co, h = d["cold"], d["helper"]
                left = f"{co['leftHelpers']} helper processes; state dir: {', '.join(co['leftStateFiles']) or 'empty'}"
                sec3.append(f"| {b} | {mm(co['add'])} | {mm(co['del'])} | {mm(h['ready'])} | {mm(h['netnsCreate'])} | "
                            f"{mm(h['helpExec'])} | {left} |")
            sec3.append("")
            for b, d in c.items():
                co, h = d["cold"], d["helper"]
                warm_add = med(w[b]["add"]) if w and b in w else float("nan")
                warm_del = med(w[b]["del"]) if w and b in w else float("nan")
                budget = med(h["ready"]) + warm_add + 10
                ok = med(co["add"]) <= budget if budget == budget else None
                sec3.append(f"- {b}: cold ADD {f(med(co['add']))} ms vs budget helper ready {f(med(h['ready']))} + warm ADD "
                            f"{f(warm_add)} + 10 = {f(budget)} ms → {verdict(ok)} "
                            f"({med(co['add']) - budget:+.1f} ms); teardown adds {med(co['del']) - warm_del:+.1f} ms "
                            f"to a warm DEL.")
                summary.append((f"3. cold ADD ({b})", f"{f(med(co['add']))} ms",
                                f"{f(med(h['ready']))} ms helper alone", fr(ratio(med(co['add']), med(h['ready']))),
                                f"≤ ready + warm ADD + 10 = {f(budget)} ms", ok))
                summary.append((f"3. last DEL ({b})", f"{f(med(co['del']))} ms", f"{f(warm_del)} ms warm DEL",
                                fr(ratio(med(co['del']), warm_del)), "(no target)", None))
        # figure 4
        sec4: list[str] = []
        s = r.get("scale")
        if s:
            lv = [str(x) for x in self.p["levels"]]
            sec4 += ["| attached | ours: ADD (ms) | ours: DEL (ms) | reference: ADD (ms) | reference: DEL (ms) | ADD ratio | DEL ratio |",
                     "|---|---|---|---|---|---|---|"]
            for x in lv:
                o, rf = s["ours"]["levels"][x], s["ref"]["levels"][x]
                sec4.append(f"| {x} | {mm(o['add'])} | {mm(o['del'])} | {mm(rf['add'])} | {mm(rf['del'])} | "
                            f"{fr(ratio(med(o['add']), med(rf['add'])))} | {fr(ratio(med(o['del']), med(rf['del'])))} |")
            lo, hi = lv[0], lv[-1]
            for op in ("add", "del"):
                o1, oN = med(s["ours"]["levels"][lo][op]), med(s["ours"]["levels"][hi][op])
                r1, rN = med(s["ref"]["levels"][lo][op]), med(s["ref"]["levels"][hi][op])
                growth = ratio(oN, o1)
                summary.append((f"4. {op.upper()} at {hi} vs {lo} attached", f"{f(oN)} ms vs {f(o1)} ms ({fr(growth)})",
                                f"{f(rN)} ms vs {f(r1)} ms ({fr(ratio(rN, r1))})", fr(ratio(oN, rN)),
                                f"flat: ≤ 1.2x at {hi}", growth <= 1.2))
            fa, dd = s["ours"]["fillAdd"], s["ours"]["drainDel"]
            rfa, rdd = s["ref"]["fillAdd"], s["ref"]["drainDel"]
            sec4.append("")
            sec4.append(f"Filling to {hi}: ours ADD #1–10 {mm(fa[:10])}, last 10 {mm(fa[-10:])}; reference #1–10 "
                        f"{mm(rfa[:10])}, last 10 {mm(rfa[-10:])}. Draining: ours DEL first 10 {mm(dd[:10])}, last 10 "
                        f"(incl. the teardown) {mm(dd[-10:])}; reference {mm(rdd[:10])} / {mm(rdd[-10:])}.")
        # figure 5
        sec5: list[str] = []
        pr = r.get("parallel")
        if pr:
            sec5 += ["| | wall, all ADDs (ms) | per-ADD p50 | per-ADD p99 | wall, all DELs (ms) | per-DEL p50 | per-DEL p99 | errors |",
                     "|---|---|---|---|---|---|---|---|"]
            for k, label in (("ours", "rootless-netns (slirp4netns)"), ("ref", "reference chain as root")):
                d = pr[k]
                sec5.append(f"| {label} | {f(d['addWall'])} | {f(pct(d['add'], 50))} | {f(pct(d['add'], 99))} | "
                            f"{f(d['delWall'])} | {f(pct(d['del'], 50))} | {f(pct(d['del'], 99))} | "
                            f"{len(d['addErrors']) + len(d['delErrors'])} |")
            o, rf = pr["ours"], pr["ref"]
            summary.append((f"5. {self.p['parallel']} concurrent ADDs: wall", f"{f(o['addWall'])} ms "
                            f"(p50 {f(pct(o['add'], 50))}, p99 {f(pct(o['add'], 99))})",
                            f"{f(rf['addWall'])} ms (p50 {f(pct(rf['add'], 50))}, p99 {f(pct(rf['add'], 99))})",
                            fr(ratio(o["addWall"], rf["addWall"])), "(no target)",
                            None if not (o["addErrors"] or o["delErrors"]) else False))
            errs = o["addErrors"] + o["delErrors"] + rf["addErrors"] + rf["delErrors"]
            if errs:
                sec5.append("")
                sec5.append("Errors: " + "; ".join(errs[:5]))
        # figure 6
        sec6: list[str] = []
        ns6 = r.get("netstat")
        if ns6:
            sec6 += ["| interfaces | `netstat-inspect stats` | `ip -j -s link show` | ratio | `netstat-inspect inspect` | "
                     "`ip -j -s link show` + `ip -j addr show` | ratio |", "|---|---|---|---|---|---|---|"]
            for size, d in ns6.items():
                t = d["times"]
                rs, ri = ratio(med(t["stats"]), med(t["ip-stats"])), ratio(med(t["inspect"]), med(t["ip-inspect"]))
                sec6.append(f"| {d['interfaces']} | {mm(t['stats'], 2)} | {mm(t['ip-stats'], 2)} | {fr(rs)} | "
                            f"{mm(t['inspect'], 2)} | {mm(t['ip-inspect'], 2)} | {fr(ri)} |")
                summary.append((f"6. stats, {d['interfaces']} interfaces", f"{f(med(t['stats']), 2)} ms",
                                f"{f(med(t['ip-stats']), 2)} ms", fr(rs), "≤ 0.5x", rs <= 0.5))
                summary.append((f"6. inspect, {d['interfaces']} interfaces", f"{f(med(t['inspect']), 2)} ms",
                                f"{f(med(t['ip-inspect']), 2)} ms", fr(ri), "≤ 0.5x", ri <= 0.5))
            sec6.append("")
            sec6 += ["| interfaces | peak RSS stats / ip (KiB) | peak RSS inspect / ip (KiB) | output bytes stats / ip | output bytes inspect / ip |",
                     "|---|---|---|---|---|"]
            for size, d in ns6.items():
                rr, ob = d["rssKiB"], d["outputBytes"]
                sec6.append(f"| {d['interfaces']} | {rr['stats']} / {rr['ip-stats']} | {rr['inspect']} / {rr['ip-inspect']} | "
                            f"{ob['stats']} / {ob['ip-stats']} | {ob['inspect']} / {ob['ip-inspect']} |")
        # figure 7
        sec7: list[str] = []
        tp = r.get("throughput")
        if tp:
            sec7 += ["| backend | helper MTU | bridge/veth MTU | container → host loopback: ours | helper alone | ratio | "
                     "host → container (port mapping): ours | helper alone | ratio |",
                     "|---|---|---|---|---|---|---|---|---|"]

            def g(row, k):
                return row[k]["gbps"] if k in row else float("nan")

            def gs(row, k):
                if k not in row:
                    return "—"
                xs = row[k]["samples"]
                return f"{f(med(xs), 2)} Gbit/s" + (f" ({f(min(xs), 2)}–{f(max(xs), 2)})" if len(xs) > 1 else "")

            for row in tp:
                b = row["backend"]
                oc, rc, oh, rh = g(row, "oursC2H"), g(row, "refC2H"), g(row, "oursH2C"), g(row, "refH2C")
                bm = f"{row['bridgeMtu']}{' (bridge default)' if row['bridgeMtuDefault'] else ''}"
                h2c_o, h2c_r = gs(row, "oursH2C"), gs(row, "refH2C")
                h2c_ratio = fr(ratio(oh, rh))
                rc_s = gs(row, "refC2H")
                sec7.append(f"| {b} | {row['mtu']} | {bm} | {gs(row, 'oursC2H')} | {rc_s} | {fr(ratio(oc, rc))} | "
                            f"{h2c_o} | {h2c_r} | {h2c_ratio} |")
                for k in ("oursError", "refError"):
                    if k in row:
                        sec7.append(f"| | | | {k}: {row[k][:200]} | | | | | |")
                if not row["bridgeMtuDefault"]:
                    summary.append((f"7. {b} MTU {row['mtu']}: container → host", gs(row, "oursC2H"), rc_s, fr(ratio(oc, rc)),
                                    "(reported)", None))
                    summary.append((f"7. {b} MTU {row['mtu']}: host → container", h2c_o, h2c_r, h2c_ratio, "(reported)", None))
        # figure 8
        sec8: list[str] = []
        rs8 = r.get("rss")
        if rs8:
            sec8 += ["| binary | size (bytes) | stripped | peak RSS, VERSION (KiB) |", "|---|---|---|---|"]
            for b, sz in rs8["size"].items():
                sec8.append(f"| {b} | {sz['bytes']:,} | {sz['stripped']:,} | {rs8['rssVersion'][b]:,} |")
            sec8.append(f"| (`/usr/bin/time` running `/bin/true`, the floor) | | | {rs8['rssBaseline']:,} |")
            go = max(rs8["rssVersion"][b] for b in ("bridge", "host-local", "portmap"))
            for b in ("rootless-netns", "netstat-inspect"):
                summary.append((f"8. peak RSS VERSION, {b}", f"{rs8['rssVersion'][b]:,} KiB", f"{go:,} KiB (largest Go plugin)",
                                fr(ratio(rs8['rssVersion'][b], go)), "(reported)", None))
            gosz = max(rs8["size"][b]["bytes"] for b in ("bridge", "host-local", "portmap"))
            for b in ("rootless-netns", "netstat-inspect"):
                summary.append((f"8. binary size, {b}", f"{rs8['size'][b]['bytes'] / 1e6:.1f} MB "
                                f"({rs8['size'][b]['stripped'] / 1e6:.1f} MB stripped)",
                                f"{gosz / 1e6:.1f} MB (largest Go plugin)", fr(ratio(rs8['size'][b]['bytes'], gosz)),
                                "(reported)", None))
        if w:
            rows = []
            for k in ("ref", "slirp4netns", "pasta"):
                if k in w and "rssKiB" in w[k]:
                    for plugin, d in w[k]["rssKiB"].items():
                        rows.append(f"| {'reference' if k == 'ref' else 'ours (' + k + ')'} | {plugin} | {d.get('ADD', '')} | {d.get('DEL', '')} |")
            if rows:
                sec8 += ["", "Peak RSS of each plugin invocation of a warm ADD and DEL (KiB, GNU time `%M`; a "
                         "process's figure includes the children it waited for, so rootless-netns's covers its "
                         "delegates, bridge's covers host-local):", "",
                         "| chain | plugin | ADD | DEL |", "|---|---|---|---|"] + rows

        summary += bench_netns.summary_rows(self)   # issue 13's goals (figure 9, with 2 and 3)
        # summary first
        W("## Summary")
        W("")
        W("| figure | ours | reference | ratio | target | met? |")
        W("|---|---|---|---|---|---|")
        for fig, ours, ref, rt, target, ok in summary:
            W(f"| {fig} | {ours} | {ref} | {rt} | {target} | {verdict(ok) if ok is not None else '—'} |")
            if ok is not None:
                verdicts.append(f"{fig}: {'met' if ok else 'NOT met'} — ours {ours}, reference {ref}, ratio {rt}, target {target}")
        for k, why in self.failed.items():
            W(f"| figure {k} | not produced | | | | {why[:300]} |")
        W("")

        def section(title, body, key, method):
            W(f"## {title}")
            W("")
            W(method)
            W("")
            if key in self.failed:
                W(f"**Not produced:** `{self.failed[key]}`")
                W("")
            if body:
                L.extend(body)
                W("")

        p = self.p
        section("1. Startup: VERSION", sec1, "1",
                f"Each binary fork/exec'd with `CNI_COMMAND=VERSION`, stdin from a file, stdout to /dev/null, "
                f"round-robin over the binaries ({p['version_n']} timed runs each after 3 warm-up rounds), timed in "
                f"Python around `posix_spawn` + `waitpid` (hyperfine 1.15 cannot feed stdin from a file).")
        section("2. Warm ADD and DEL", sec2, "2",
                f"Shared namespace up with one container attached; then ADD and DEL of a second container, "
                f"{p['warm_n']} × {p['warm_blocks']} blocks (blocks alternate ours / reference), after one "
                "untimed round. Ours: the `rootless-netns` conflist (delegates bridge+host-local and portmap, "
                "MTU 65520) run by the bench user inside the rootless session. Reference: the same bridge+host-local "
                "+portmap chain as root in a plain netns (`nsenter --net=/run/netns/rcnib-host`, the equivalent of "
                "`cnitool --host-netns`, so the real host is untouched). Both sides are run by the same in-process "
                "libcni implementation (cnitool's `scripts/lib/cnilib`), so the interval is one libcni ADD/DEL: "
                "config building, plugin exec(s), result cache write -- no Python start-up.")
        section("3. Cold ADD and last DEL", sec3, "3",
                f"{p['cold_n']} × (ADD of the only container: netns + helper start + ready + resolv.conf + chain; "
                "DEL of it: chain DEL + helper stop + netns and state removal). Helper alone: the same binary and "
                "arguments the plugin uses (slirp4netns `--configure --mtu=65520 --cidr=10.0.2.0/24 "
                "--enable-sandbox --enable-seccomp -r FD --netns-type=path NS tap0`, timed to the ready byte; "
                "pasta `--config-net ... --quiet`, timed until the foreground process exits after daemonizing) "
                f"into a netns made beforehand, {p['helper_n']} runs. The netns creation and the `--help` probe the "
                "plugin runs before each start are shown apart.")
        section("4. Scale: attached containers", sec4, "4",
                f"Containers are attached up to each level; at each level one more container is ADDed and DELeted "
                f"{p['scale_reps']} times (after an untimed round). Reference: the same chain as root in the "
                "stand-in host netns, same levels.")
        section("5. Parallel ADDs", sec5, "5",
                f"One container attached; then {p['parallel']} threads, released together by a barrier, each ADD "
                "its own container (a fresh netns each); then the same for DEL. Wall = barrier release to the last "
                "thread done; per-ADD = each thread's own interval. Nearest-rank percentiles.")
        section("6. netstat-inspect vs iproute2", sec6, "6",
                "Root netns `rcnib-ifN` with `lo` + N-1 `ifb` devices (this kernel has no `dummy` module), each up "
                "with one /32 IPv4 address, made with `ip -batch`. Both tools enter the namespace themselves "
                f"(`--netns /run/netns/rcnib-ifN` / `ip -n rcnib-ifN`). {p['ni_n']} timed runs each, round-robin, "
                "stdout to /dev/null. The inspect reference is the two `ip` runs back to back (issue 7's "
                "definition; inspect also reads routes, which `ip -j addr show` does not).")
        section("7. Throughput (iperf3)", sec7, "7",
                f"`iperf3 -t {p['iperf_t']}`, {p['iperf_reps']} run(s) per cell: median (min–max) of the receiver's "
                "rate, one TCP stream. Container → host: `iperf3 -s -B "
                "127.0.0.1` on the host, client in the container netns to the host-loopback mapping (slirp4netns: "
                "10.0.2.2 with `allowHostLoopback`; pasta: the namespace's default gateway, which pasta maps to the "
                "host's loopback -- checked with a token server on 127.0.0.1 before any traffic). Host → container: "
                "`iperf3 -c 127.0.0.1 -p PORT` through a `portMappings` entry (slirp4netns: `add_hostfwd` to the shared "
                "namespace, then portmap DNAT to the container; pasta: the plugin's forwarder inside the shared "
                "namespace, which this pasta release needs because it cannot add forwards at run time). The conflist "
                "`mtu` is the helper MTU; the bridge delegate gets the same `mtu` (its own default is 1500, shown in "
                "the extra row). Reference: a netns and the helper started by hand with the same MTU, no plugin, no "
                "bridge; client in that netns; forward by hand (slirp4netns `add_hostfwd` to 10.0.2.100, pasta "
                "`-t 127.0.0.1/PORT:5201`). Traffic stays on the host's loopback and in the bench's namespaces.")
        section("8. Peak RSS and binary sizes", sec8, "8",
                "GNU `/usr/bin/time -f %M` (max of 3 runs for VERSION). Sizes of the release binaries (Swift "
                "stdlib linked statically) and of the Debian-packaged Go plugins; `strip -o` for the stripped size.")

        bench_netns.section(self, W)
        bench_forward.section(self, W)

        W("## Targets")
        W("")
        for line in verdicts:
            W(f"- {line}")
        W("")
        notes = self.notes_from_numbers()
        if notes:
            W("Context for the targets, from this run's numbers:")
            W("")
            for line in notes:
                W(f"- {line}")
            W("")
        W("## Commands")
        W("")
        W("`$WORK` is the bench's temporary directory; `cnitool --user rcni-bench session exec --` enters the bench "
          "user's rootless session (user + mount namespace, uid 0 inside), where `$XDG_RUNTIME_DIR` is "
          f"/run/user/{self.uid}. Driver subcommands are in `scripts/lib/bench_driver.py`.")
        W("")
        W("```sh")
        W(f"scripts/bench{' --quick' if self.quick else ''}      # as root: WITH_BENCH=1 scripts/setup; scripts/build-release "
          "(both fully static); useradd rcni-bench; cnitool --user "
          "rcni-bench session start; then:")
        last = None
        for fig, cmd in self.commands:
            if fig != last:
                W(f"# figure {fig}")
                last = fig
            W(cmd)
        W("```")
        W("")
        W("<details><summary>Conflists used</summary>")
        W("")
        for name, conf in r.get("conflists", {}).items():
            W(f"`{name}.conflist`")
            W("")
            W("```json")
            W(json.dumps(conf, indent=2))
            W("```")
            W("")
        W("</details>")
        W("")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write("\n".join(L).rstrip() + "\n")
        return verdicts

    def notes_from_numbers(self) -> list[str]:
        r, out = self.res, []
        v = r.get("version")
        if v and "true" in v:
            floor = med(v["true"])
            go = med(v["bridge"] + v["host-local"] + v["portmap"])
            out.append(f"VERSION: the fork/exec floor (`/bin/true`) is {f(floor, 2)} ms; above it rootless-netns "
                       f"takes {f(med(v['rootless-netns']) - floor, 2)} ms and the Go plugins "
                       f"{f(go - floor, 2)} ms (pooled).")
        ns6 = r.get("netstat")
        if v and ns6:
            one = ns6.get("1")
            if one:
                out.append(f"netstat-inspect: starting the process alone (VERSION) takes {f(med(v['netstat-inspect']), 2)} "
                           f"ms, while `ip -j -s link show` on 1 interface takes {f(med(one['times']['ip-stats']), 2)} ms "
                           "in all, so ≤ 0.5x cannot be reached on small namespaces by a separate process; at 1000 "
                           "interfaces the per-interface work decides.")
        pr, w = r.get("parallel"), r.get("warm")
        if pr and w and "slirp4netns" in w:
            o = pr["ours"]
            serial = self.p["parallel"] * med(w["slirp4netns"]["add"])
            out.append(f"Parallel: {self.p['parallel']} × the warm ADD = {f(serial)} ms vs the measured wall "
                       f"{f(o['addWall'])} ms: ADDs into one shared namespace run one at a time (the state-dir lock "
                       "is held across the whole delegate chain), so p99 ≈ wall.")
        s = r.get("scale")
        if s:
            lv = [str(x) for x in self.p["levels"]]
            o1, oN = med(s["ours"]["levels"][lv[0]]["add"]), med(s["ours"]["levels"][lv[-1]]["add"])
            r1, rN = med(s["ref"]["levels"][lv[0]]["add"]), med(s["ref"]["levels"][lv[-1]]["add"])
            out.append(f"Scale: the reference chain alone grows by {rN - r1:+.1f} ms from {lv[0]} to {lv[-1]} containers "
                       f"(host-local's directory, iptables chains per container); rootless-netns grows by "
                       f"{oN - o1:+.1f} ms.")
        c = r.get("cold")
        if c:
            for b, d in c.items():
                h = d["helper"]
                out.append(f"Cold ADD ({b}): besides the helper's own start-up the plugin creates the netns "
                           f"(`unshare --net=FILE true` takes {f(med(h['netnsCreate']))} ms as a process) and runs "
                           f"`{b} --help` to probe features ({f(med(h['helpExec']))} ms) before every start.")
        return out

    # -- cleanup ------------------------------------------------------------------

    def cleanup(self) -> None:
        for p in list(self.children):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
        for pid in self.ref_helpers:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for n in self.root_netns:
            subprocess.run(["ip", "netns", "del", n], capture_output=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--user", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="", help="comma list of figures (1-8) to run")
    ap.add_argument("--json", default="", help="also write the raw results here")
    ap.add_argument("--started", type=float, default=0, help="epoch seconds scripts/bench started")
    o = ap.parse_args()
    b = Bench(o)
    only = set(o.only.split(",")) if o.only else None
    figs = [("1", b.fig1_version), ("2", b.fig2_warm), ("3", b.fig3_cold), ("4", b.fig4_scale),
            ("5", b.fig5_parallel), ("6", b.fig6_netstat), ("7", b.fig7_throughput), ("8", b.fig8_rss_size),
            ("9", lambda: bench_netns.run(b)), ("10", lambda: bench_forward.run(b))]
    try:
        for key, fn in figs:
            if only is None or key in only:
                b.figure(key, fn)
    finally:
        b.cleanup()
    total = time.time() - (o.started or time.time() - (time.monotonic() - T_START))
    if o.json:
        with open(o.json, "w") as fh:
            json.dump({"params": b.p, "results": b.res, "failed": b.failed}, fh, indent=1)
    verdicts = b.write_doc(o.out, total)
    print(f"\nwrote {o.out} ({total:.0f} s)")
    for v in verdicts:
        print("  " + v)
    for k, why in b.failed.items():
        print(f"  figure {k}: not produced: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
