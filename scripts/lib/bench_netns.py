#!/usr/bin/env python3
"""scripts/bench figure 9 (issue 13): 16- and 32-way parallel ADD and DEL walls, ours and the
bare chain, and a cold-ADD breakdown from a syscall trace of the plugin.

Hooked into bench_main.py as figure "9"; the `cold-trace` subcommand runs inside the bench
user's rootless session (python3 bench_netns.py cold-trace ...), like bench_driver.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)

PARALLEL = (16, 32)
TRACED = "execve,exit_group,rename,renameat,renameat2,mount,unshare,setns,openat"


# -- inside the session -------------------------------------------------------------

def cold_trace(argv: list[str]) -> dict:
    """n x (cold ADD under strace, DEL); returns the phases of each ADD (ms from the plugin's
    execve) and the untraced-equivalent total."""
    import argparse
    import bench_driver as d
    ap = argparse.ArgumentParser()
    for a in ("--conf", "--cni-path", "--cache-dir", "--prefix", "--work", "--plugin"):
        ap.add_argument(a, required=True)
    ap.add_argument("--n", type=int, default=3)
    o = ap.parse_args(argv)
    os.makedirs(o.work, exist_ok=True)
    wrap_dir = os.path.join(o.work, "trace-bin")
    os.makedirs(wrap_dir, exist_ok=True)
    trace = os.path.join(o.work, "cold.strace")
    wrapper = os.path.join(wrap_dir, "rootless-netns")
    strace = shutil.which("strace") or "/usr/bin/strace"
    with open(wrapper, "w") as fh:
        # Only ADD is traced (DEL runs the plain binary through the same wrapper).
        fh.write("#!/bin/sh\n"
                 f'[ "$CNI_COMMAND" = ADD ] || exec {o.plugin} "$@"\n'
                 f'exec {strace} -D -f -ttt -qq --seccomp-bpf -s 200 -e trace={TRACED} -o {trace} {o.plugin} "$@"\n')
    # -D: strace is a detached grandchild, so the plugin's exit is not held up by the traced
    # helper, which lives on (traced) until the DEL stops it.
    os.chmod(wrapper, 0o755)
    rest = ":".join(p for p in o.cni_path.split(":") if p and os.path.realpath(p) != os.path.dirname(os.path.realpath(o.plugin)))
    chain = d.Chain(o.conf, wrap_dir + ":" + rest, o.cache_dir)
    nss = d.Namespaces(o.prefix)
    runs = []
    try:
        ns = nss.add("ct")
        cid = f"{o.prefix}-ct"
        chain.add(ns, cid)   # untimed: page cache, feature cache
        chain.delete(ns, cid)
        for _ in range(o.n):
            if os.path.exists(trace):
                os.remove(trace)
            total = chain.add(ns, cid)
            time.sleep(0.2)   # strace writes the plugin's exit after it happened
            with open(trace) as fh:
                phases = parse_trace(fh.read())
            phases["libcniAdd"] = total
            runs.append(phases)
            chain.delete(ns, cid)
    finally:
        nss.remove_all()
    return {"runs": runs}


LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(.*)$")


def parse_trace(text: str) -> dict:
    """Phase boundaries from `strace -f -ttt` of one cold ADD (ms since the plugin's execve)."""
    ev = []
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            ev.append((int(m.group(1)), float(m.group(2)) * 1000, m.group(3)))   # -ttt: seconds
    if not ev:
        return {"error": "empty trace"}
    t0 = ev[0][1]
    plugin = ev[0][0]

    def at(pred, pid=None, last=False):
        hits = [t for p, t, s in ev if (pid is None or p == pid) and pred(s)]
        return (hits[-1] if last else hits[0]) - t0 if hits else None

    def exec_span(pred, last=False):
        """(start, end) of the first (last) execve matching pred: execve to that pid's exit."""
        for p, t, s in (reversed(ev) if last else ev):
            if s.startswith("execve(") and pred(s):
                ends = [t2 for p2, t2, s2 in ev if p2 == p and t2 >= t and
                        (s2.startswith("+++ exited") or s2.startswith("+++ killed") or s2.startswith("exit_group("))]
                return t - t0, (ends[-1] - t0) if ends else None
        return None, None

    out: dict = {}
    out["netnsStart"] = at(lambda s: s.startswith("unshare(CLONE_NEWNET"))
    out["netnsEnd"] = at(lambda s: s.startswith('mount("/proc/self/ns/net"'))
    out["helpStart"], out["helpEnd"] = exec_span(lambda s: '"--help"' in s)
    out["helperStart"], _ = exec_span(lambda s: ("slirp4netns" in s or "pasta" in s or "passt" in s) and '"--help"' not in s)
    # Files are replaced by rename(2), or renameat(2) through the state dir's fd.
    def renamed(s, what):
        return (s.startswith("rename(") or s.startswith("renameat(") or s.startswith("renameat2(")) and what(s)
    out["helperReady"] = at(lambda s: renamed(s, lambda x: '"helper.json"' in x or '/helper.json"' in x), plugin, last=True)
    out["resolvConf"] = at(lambda s: renamed(s, lambda x: 'resolv.conf"' in x), plugin)
    # The last exec of each delegate: its ADD (a VERSION probe may run first).
    out["bridgeStart"], out["bridgeEnd"] = exec_span(lambda s: re.search(r'execve\("[^"]*/bridge"', s) is not None, last=True)
    out["portmapStart"], out["portmapEnd"] = exec_span(lambda s: re.search(r'execve\("[^"]*/portmap"', s) is not None, last=True)
    out["recordSaved"] = at(lambda s: renamed(s, lambda x: "/attachments/" in x or
                                              re.search(r', "[^"/]*\+[^"/]*@[^"/]*\.json"\)', x) is not None), plugin)
    out["end"] = at(lambda s: s.startswith("+++ exited") or s.startswith("exit_group("), plugin, last=True)
    return out


# -- from bench_main ------------------------------------------------------------------

def run(b) -> None:
    """Figure 9: parallel walls at 16 and 32 (ours, then the bare chain, alternating), then
    the cold-ADD breakdown of both backends."""
    b.ensure_host_ns()
    conf = b.user_conf("parallel-slirp4netns", "slirp4netns", 65520, "rcnib-par")
    par = {}
    for n in PARALLEL:
        ours = b.driver("9", "user", ["parallel", "--n", str(n)] + b.user_args(conf, "rcnib-p"))
        ref = b.driver("9", "host", ["parallel", "--n", str(n)] + b.ref_args("rcnib-rp"))
        par[str(n)] = {"ours": ours, "ref": ref}
    cold: dict = {}
    fresh: list[float] = []
    b.res["netns9"] = {"parallel": par, "coldTrace": cold, "refFreshFirstAdd": fresh}
    fresh_first_adds(b, fresh, 3 if b.quick else 5)
    n = "2" if b.quick else "5"
    for backend, state in (("slirp4netns", "rcnib-cold-slirp"), ("pasta", "rcnib-cold-pasta")):
        c = b.user_conf(f"cold-{backend}", backend, 65520, state)
        args = ["python3", os.path.join(HERE, "bench_netns.py"), "cold-trace", "--n", n,
                "--plugin", os.path.join(b.bin, "rootless-netns")] + b.user_args(c, "rcnib-ct")
        argv = b.session_argv(args)
        b.note_cmd("9", argv)
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
        lines = [x for x in p.stdout.splitlines() if x.startswith("{")]
        if not lines:
            raise RuntimeError(f"cold-trace {backend}: exit {p.returncode}: {p.stderr[-600:]}")
        cold[backend] = json.loads(lines[-1])
        if "error" in cold[backend]:
            raise RuntimeError(f"cold-trace {backend}: {cold[backend]['error']}")


def fresh_first_adds(b, out: list[float], n: int) -> None:
    """The bare chain's own first ADD into a fresh namespace (its bridge and iptables chains
    created, as in our cold ADD): as root, a new netns each time (`ip netns add`), the driver's
    `warm --n 1` inside it, its first ADD kept. Part of issue 13's cold-ADD budget."""
    driver = os.path.join(HERE, "bench_driver.py")
    for k in range(n):
        name = f"rcnib-fresh{k}"
        if os.path.exists(f"/run/netns/{name}"):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        subprocess.run(["ip", "netns", "add", name], check=True)
        b.root_netns.append(name)
        try:
            subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
            argv = ["nsenter", f"--net=/run/netns/{name}", "--", "python3", driver, "warm", "--n", "1"] + b.ref_args("rcnib-rf")
            b.note_cmd("9", argv)
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
            lines = [x for x in p.stdout.splitlines() if x.startswith("{")]
            res = json.loads(lines[-1]) if lines else {"error": f"exit {p.returncode}: {p.stderr[-400:]}"}
            if "error" in res:
                raise RuntimeError(f"fresh first ADD: {res['error']}")
            out.append(res["firstAdd"])
        finally:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
            b.root_netns.remove(name)


def _ours_gaps(r: dict) -> float | None:
    """Of a traced cold ADD, the time that is neither the netns creation, the helper's start,
    nor a delegate's run: ours."""
    keys = ("netnsStart", "netnsEnd", "helperStart", "helperReady", "bridgeStart", "bridgeEnd",
            "portmapStart", "portmapEnd", "end")
    if any(r.get(k) is None for k in keys):
        return None
    return (r["end"] - (r["netnsEnd"] - r["netnsStart"]) - (r["helperReady"] - r["helperStart"])
            - (r["bridgeEnd"] - r["bridgeStart"]) - (r["portmapEnd"] - r["portmapStart"]))


def summary_rows(b) -> list[tuple]:
    """Issue 13's goals as Summary rows (figure, ours, reference, ratio, target, met), from
    figure 9 and, when they ran in the same run, figures 2 and 3."""
    rows: list[tuple] = []
    res, warm, cold3 = b.res.get("netns9"), b.res.get("warm"), b.res.get("cold")
    if res:
        for n, row in res["parallel"].items():
            o, r = row["ours"], row["ref"]
            errors = bool(o.get("addErrors") or o.get("delErrors"))
            ra = o["addWall"] / r["addWall"]
            rows.append((f"9. {n} parallel ADDs: wall (issue 13)", f"{_f(o['addWall'])} ms", f"{_f(r['addWall'])} ms bare chain",
                         f"{ra:.2f}x", "≤ 1.15x", False if errors else ra <= 1.15))
            rows.append((f"9. {n} parallel DELs: wall", f"{_f(o['delWall'])} ms", f"{_f(r['delWall'])} ms bare chain",
                         f"{o['delWall'] / r['delWall']:.2f}x", "(reported)", False if errors else None))
    if warm and "ref" in warm:
        ref = warm["ref"]
        for backend in ("slirp4netns", "pasta"):
            if backend not in warm:
                continue
            o = warm[backend]
            da, dd = _med(o["add"]) - _med(ref["add"]), _med(o["del"]) - _med(ref["del"])
            rows.append((f"2. warm ADD + DEL added over the bare chain ({backend}, issue 13)", f"{da:+.1f} + {dd:+.1f} = {da + dd:+.1f} ms",
                         f"{_f(_med(ref['add']))} + {_f(_med(ref['del']))} ms bare chain", "—", "≤ +2 ms total", da + dd <= 2))
    fresh = (res or {}).get("refFreshFirstAdd") or []
    if cold3:
        for backend, d in cold3.items():
            co, h = d["cold"], d["helper"]
            if not fresh:
                continue
            budget = _med(h["netnsCreate"]) + _med(h["ready"]) + _med(fresh) + 5
            ours = _med(co["add"])
            rows.append((f"3. cold ADD ({backend}) vs issue 13 budget", f"{_f(ours)} ms",
                         f"netns {_f(_med(h['netnsCreate']))} + ready {_f(_med(h['ready']))} + bare chain's first ADD "
                         f"{_f(_med(fresh))} ms", f"{ours / (budget - 5):.2f}x", f"≤ their sum + 5 = {_f(budget)} ms",
                         ours <= budget))
    for backend, v in ((res or {}).get("coldTrace") or {}).items():
        gaps = _med([_ours_gaps(r) for r in v.get("runs", [])])
        total = _med([r.get("end") for r in v.get("runs", [])])
        if gaps is not None and total:
            rows.append((f"9. cold ADD ({backend}), ours of the traced run", f"{_f(gaps)} ms of {_f(total)} ms",
                         "(netns create, helper start, delegates: the rest)", f"{gaps / total:.2f}", "(reported)", None))
    return rows


def _med(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


def _f(x):
    return "—" if x is None else (f"{x:.1f}" if x < 100 else f"{x:.0f}")


def breakdown_rows(runs: list[dict]) -> list[tuple[str, float | None]]:
    """(phase, median ms) in order; each phase is the gap between two boundaries."""
    steps = [
        ("plugin start → netns create begins (exec, config, state dir, lock)", None, "netnsStart"),
        ("netns create (unshare + nsfs bind mount, in a child)", "netnsStart", "netnsEnd"),
        ("→ helper exec (ours: the `--help` probe when not cached, orphan check, sysctls)", "netnsEnd", "helperStart"),
        ("helper exec → ready, record written", "helperStart", "helperReady"),
        ("→ resolv.conf written", "helperReady", "resolvConf"),
        ("→ first delegate's ADD exec (ours: namespace holder set up, the delegates' VERSION probes)", "resolvConf", "bridgeStart"),
        ("bridge (+ host-local) run", "bridgeStart", "bridgeEnd"),
        ("→ portmap exec (ours)", "bridgeEnd", "portmapStart"),
        ("portmap run", "portmapStart", "portmapEnd"),
        ("→ record saved, result out, exit (ours)", "portmapEnd", "end"),
    ]
    rows = []
    for label, a, z in steps:
        vals = []
        for r in runs:
            s = 0.0 if a is None else r.get(a)
            e = r.get(z)
            if s is not None and e is not None:
                vals.append(e - s)
        rows.append((label, _med(vals)))
    rows.append(("(of which the `--help` probe)", _med([(r["helpEnd"] - r["helpStart"]) if r.get("helpEnd") is not None
                                                    and r.get("helpStart") is not None else 0.0 for r in runs])))
    rows.append(("**total, plugin execve → exit (traced)**", _med([r.get("end") for r in runs])))
    rows.append(("libcni ADD around it (traced; strace slows execs)", _med([r.get("libcniAdd") for r in runs])))
    return rows


def section(b, W) -> None:
    from bench_md import figure, table   # the report's helpers (rendering only)
    res = figure(b, W, "9", "netns9", "9. Parallel ADD/DEL walls and the cold-ADD breakdown",
        "One container attached; then N threads released together by a barrier each ADD their own container "
        "(a fresh netns each), then the same for DEL (the driver's `parallel`), N = 16 and 32, ours (slirp4netns) "
        "and the bare chain as root, alternating in one run. Cold-ADD breakdown: the cold ADD of figure 3 with "
        "the plugin run under `strace -f -ttt --seccomp-bpf -e trace=" + TRACED + "` (only those syscalls stop "
        "the tracee); phase boundaries are the syscalls that end them (the nsfs bind mount, the helper's "
        "execve, the final `rename` of helper.json, of resolv.conf, each delegate's execve and exit). "
        "Medians of the traced runs; tracing inflates the execs, so compare the phases, and the "
        "untraced total is figure 3's.")
    if not res:
        return
    rows = []
    for n, row in res["parallel"].items():
        o, r = row["ours"], row["ref"]
        err = len(o.get("addErrors", [])) + len(o.get("delErrors", [])) + len(r.get("addErrors", [])) + len(r.get("delErrors", []))
        rows.append((n, _f(o["addWall"]), _f(r["addWall"]), f"{o['addWall'] / r['addWall']:.2f}x",
                     _f(o["delWall"]), _f(r["delWall"]), f"{o['delWall'] / r['delWall']:.2f}x", err))
    table(W, ("N", "ours: ADD wall (ms)", "bare chain: ADD wall", "ratio", "ours: DEL wall", "bare chain: DEL wall",
              "ratio", "errors"), rows)
    W("")
    fresh = res.get("refFreshFirstAdd") or []
    if fresh:
        W(f"The bare chain's own first ADD into a fresh namespace (as root, a new `ip netns add` each time, "
          f"its bridge and iptables chains created; issue 13's cold-ADD budget): {_f(_med(fresh))} ms "
          f"({_f(min(fresh))}–{_f(max(fresh))}, n={len(fresh)}).")
        W("")
    cold = {k: v for k, v in res.get("coldTrace", {}).items() if v.get("runs")}
    if cold:
        names = list(cold)
        tables = {k: breakdown_rows(v["runs"]) for k, v in cold.items()}
        table(W, ["cold ADD phase (ms, median)"] + names,
              [[label] + [_f(tables[k][i][1]) for k in names] for i, (label, _) in enumerate(tables[names[0]])])
        W("")
        W("n = " + ", ".join(f"{k}: {len(v['runs'])}" for k, v in cold.items()) + " traced runs.")
        W("")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "cold-trace":
        try:
            print(json.dumps(cold_trace(sys.argv[2:])))
        except Exception as e:  # noqa: BLE001
            print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        sys.exit(0)
    sys.exit(2)
