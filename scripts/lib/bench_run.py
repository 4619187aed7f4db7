"""scripts/bench's runner: the bench user's session, the driver, conflists, namespaces, ports and
cleanup, shared by every figure (bench_figures.py, bench_throughput.py, bench_netns.py,
bench_forward.py). Timed work happens in bench_driver.py, run inside the bench user's rootless
session (our plugins) or as root inside a stand-in host netns (the reference chain), so no
interpreter start-up is measured. A figure that fails is recorded with the reason; the others go on.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
import traceback

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DRIVER = os.path.join(HERE, "bench_driver.py")
CNITOOL = os.path.join(ROOT, "scripts", "cnitool")
REF_DIR = "/usr/lib/cni"
HOST_NS = "rcnib-host"          # stand-in "host" netns for the reference chain (root)
T_START = time.monotonic()


def log(msg: str) -> None:
    print(f"[bench {time.monotonic() - T_START:6.1f}s] {msg}", file=sys.stderr, flush=True)


class Runner:
    """The state of one measuring run; the figures are mixed in (bench_main.Bench)."""

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

    # -- what the report is rendered from -------------------------------------------

    def record(self, total_s: float) -> dict:
        """The results with what the report needs besides them (machine, commands, run time):
        what --json saves and --render-only reads back (bench_report.Run)."""
        return {"params": self.p, "results": self.res, "failed": self.failed,
                "meta": {"machine": self.machine(), "commands": [list(c) for c in self.commands],
                         "quick": self.quick, "user": self.user, "uid": self.uid, "totalSeconds": total_s}}

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
