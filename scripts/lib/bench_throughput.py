"""scripts/bench figure 7: iperf3 throughput container → host loopback and host → container
through a port mapping, ours and the helper alone, mixed into bench_main.Bench. No traffic
leaves the host's loopback and the bench's namespaces (the token check below)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading

from bench_md import med
from bench_run import log


class Throughput:
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

    @contextlib.contextmanager
    def container_iperf_server(self, fig: str, ns: str, port: int):
        """A one-shot `iperf3 -s` on `port` in the (session's) netns `ns`, listening when entered,
        reaped on exit (figures 7 and 10)."""
        argv = self.session_argv(["nsenter", f"--net={ns}", "iperf3", "-s", "-p", str(port), "-1"])
        self.note_cmd(fig, argv)
        srv = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.children.append(srv)
        try:
            self.wait_listen(srv.pid, port)
            yield srv
        finally:
            self.reap(srv)

    def h2c(self, ns: str, host_port: int, guest_port: int) -> dict:
        def one():
            with self.container_iperf_server("7", ns, guest_port):
                return self.iperf_client(["iperf3", "-c", "127.0.0.1", "-p", str(host_port),
                                          "-t", str(self.p["iperf_t"]), "-J"])
        return self.repeated(one)

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
