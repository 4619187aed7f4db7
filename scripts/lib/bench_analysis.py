"""scripts/bench analysis: ratios, targets and verdicts of one run as data, computed once from
the raw results. The Summary table, the Targets list and the sections' verdict lines are
rendered from these rows (bench_report.py, bench_sections.py); the context notes are computed
here from the same numbers and from the plugin's current design (docs/guarantees.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

import bench_netns
from bench_md import f, fr, med, pct, ratio

GO_PLUGINS = ("bridge", "host-local", "portmap")


@dataclass
class Row:
    """One Summary row. `met`: True/False against `target`, None when only reported."""
    figure: str
    ours: str
    reference: str
    ratio: str
    target: str
    met: bool | None


@dataclass
class ColdBudget:
    """Figure 3's target: cold ADD ≤ helper ready + warm ADD + 10 ms (issue 7)."""
    add: float
    ready: float
    warm_add: float
    budget: float
    met: bool | None
    teardown_added: float   # last DEL minus a warm DEL


@dataclass
class Analysis:
    rows: list[Row] = field(default_factory=list)
    cold: dict[str, ColdBudget] = field(default_factory=dict)

    def add(self, *cells) -> None:
        self.rows.append(Row(*cells))

    def verdicts(self) -> list[str]:
        """The Targets list: every row with a target."""
        return [f"{r.figure}: {'met' if r.met else 'NOT met'} — ours {r.ours}, reference {r.reference}, "
                f"ratio {r.ratio}, target {r.target}" for r in self.rows if r.met is not None]


def analyse(run) -> Analysis:
    """`run`: bench_report.Run or the live Bench (both have .res and .p)."""
    a, r, p = Analysis(), run.res, run.p
    _version(a, r.get("version"))
    w = r.get("warm")
    _warm(a, w)
    _cold(a, r.get("cold"), w)
    _scale(a, r.get("scale"), [str(x) for x in p["levels"]])
    _parallel(a, r.get("parallel"), p["parallel"])
    _netstat(a, r.get("netstat"))
    _throughput(a, r.get("throughput"))
    _rss(a, r.get("rss"))
    for cells in bench_netns.summary_rows(run):   # issue 13's goals (figure 9, with 2 and 3)
        a.add(*cells)
    return a


def _version(a: Analysis, v) -> None:
    if not v:
        return
    refm = med(v["bridge"] + v["host-local"] + v["portmap"])
    for b in ("rootless-netns", "netstat-inspect"):
        rt = ratio(med(v[b]), refm)
        a.add(f"1. VERSION exec, {b}", f"{f(med(v[b]), 2)} ms", f"{f(refm, 2)} ms (bridge/host-local/portmap)",
              fr(rt), "≤ 1.0x", rt <= 1.0)


def _warm(a: Analysis, w) -> None:
    if not (w and "ref" in w):
        return
    ref = w["ref"]
    for b in ("slirp4netns", "pasta"):
        if b not in w:
            continue
        o = w[b]
        ra, rd = ratio(med(o["add"]), med(ref["add"])), ratio(med(o["del"]), med(ref["del"]))
        da, dd = med(o["add"]) - med(ref["add"]), med(o["del"]) - med(ref["del"])
        a.add(f"2. warm ADD ({b})", f"{f(med(o['add']))} ms", f"{f(med(ref['add']))} ms", fr(ra),
              f"≤ 1.3x (added {da:+.1f} ms)", ra <= 1.3)
        a.add(f"2. warm DEL ({b})", f"{f(med(o['del']))} ms", f"{f(med(ref['del']))} ms", fr(rd),
              f"≤ 1.3x (added {dd:+.1f} ms)", rd <= 1.3)


def _cold(a: Analysis, c, w) -> None:
    for b, d in (c or {}).items():
        co, h = d["cold"], d["helper"]
        warm_add = med(w[b]["add"]) if w and b in w else float("nan")
        warm_del = med(w[b]["del"]) if w and b in w else float("nan")
        budget = med(h["ready"]) + warm_add + 10
        ok = med(co["add"]) <= budget if budget == budget else None
        a.cold[b] = ColdBudget(med(co["add"]), med(h["ready"]), warm_add, budget, ok, med(co["del"]) - warm_del)
        a.add(f"3. cold ADD ({b})", f"{f(med(co['add']))} ms", f"{f(med(h['ready']))} ms helper alone",
              fr(ratio(med(co['add']), med(h['ready']))), f"≤ ready + warm ADD + 10 = {f(budget)} ms", ok)
        a.add(f"3. last DEL ({b})", f"{f(med(co['del']))} ms", f"{f(warm_del)} ms warm DEL",
              fr(ratio(med(co['del']), warm_del)), "(no target)", None)


def _scale(a: Analysis, s, lv: list[str]) -> None:
    if not s:
        return
    lo, hi = lv[0], lv[-1]
    for op in ("add", "del"):
        o1, oN = med(s["ours"]["levels"][lo][op]), med(s["ours"]["levels"][hi][op])
        r1, rN = med(s["ref"]["levels"][lo][op]), med(s["ref"]["levels"][hi][op])
        growth = ratio(oN, o1)
        a.add(f"4. {op.upper()} at {hi} vs {lo} attached", f"{f(oN)} ms vs {f(o1)} ms ({fr(growth)})",
              f"{f(rN)} ms vs {f(r1)} ms ({fr(ratio(rN, r1))})", fr(ratio(oN, rN)), f"flat: ≤ 1.2x at {hi}",
              growth <= 1.2)


def _parallel(a: Analysis, pr, n: int) -> None:
    if not pr:
        return
    o, rf = pr["ours"], pr["ref"]
    a.add(f"5. {n} concurrent ADDs: wall", f"{f(o['addWall'])} ms (p50 {f(pct(o['add'], 50))}, p99 {f(pct(o['add'], 99))})",
          f"{f(rf['addWall'])} ms (p50 {f(pct(rf['add'], 50))}, p99 {f(pct(rf['add'], 99))})",
          fr(ratio(o["addWall"], rf["addWall"])), "(no target)",
          None if not (o["addErrors"] or o["delErrors"]) else False)


def _netstat(a: Analysis, ns6) -> None:
    for d in (ns6 or {}).values():
        t = d["times"]
        rs, ri = ratio(med(t["stats"]), med(t["ip-stats"])), ratio(med(t["inspect"]), med(t["ip-inspect"]))
        a.add(f"6. stats, {d['interfaces']} interfaces", f"{f(med(t['stats']), 2)} ms", f"{f(med(t['ip-stats']), 2)} ms",
              fr(rs), "≤ 0.5x", rs <= 0.5)
        a.add(f"6. inspect, {d['interfaces']} interfaces", f"{f(med(t['inspect']), 2)} ms",
              f"{f(med(t['ip-inspect']), 2)} ms", fr(ri), "≤ 0.5x", ri <= 0.5)


def gbps(row: dict, k: str) -> float:
    return row[k]["gbps"] if k in row else float("nan")


def gbps_cell(row: dict, k: str) -> str:
    """'median Gbit/s (min–max)' of one figure-7 cell."""
    if k not in row:
        return "—"
    xs = row[k]["samples"]
    return f"{f(med(xs), 2)} Gbit/s" + (f" ({f(min(xs), 2)}–{f(max(xs), 2)})" if len(xs) > 1 else "")


def _throughput(a: Analysis, tp) -> None:
    for row in tp or []:
        if row["bridgeMtuDefault"]:
            continue
        b, mtu = row["backend"], row["mtu"]
        a.add(f"7. {b} MTU {mtu}: container → host", gbps_cell(row, "oursC2H"), gbps_cell(row, "refC2H"),
              fr(ratio(gbps(row, "oursC2H"), gbps(row, "refC2H"))), "(reported)", None)
        a.add(f"7. {b} MTU {mtu}: host → container", gbps_cell(row, "oursH2C"), gbps_cell(row, "refH2C"),
              fr(ratio(gbps(row, "oursH2C"), gbps(row, "refH2C"))), "(reported)", None)


def _rss(a: Analysis, rs8) -> None:
    if not rs8:
        return
    go = max(rs8["rssVersion"][b] for b in GO_PLUGINS)
    for b in ("rootless-netns", "netstat-inspect"):
        a.add(f"8. peak RSS VERSION, {b}", f"{rs8['rssVersion'][b]:,} KiB", f"{go:,} KiB (largest Go plugin)",
              fr(ratio(rs8['rssVersion'][b], go)), "(reported)", None)
    gosz = max(rs8["size"][b]["bytes"] for b in GO_PLUGINS)
    for b in ("rootless-netns", "netstat-inspect"):
        sz = rs8["size"][b]
        a.add(f"8. binary size, {b}", f"{sz['bytes'] / 1e6:.1f} MB ({sz['stripped'] / 1e6:.1f} MB stripped)",
              f"{gosz / 1e6:.1f} MB (largest Go plugin)", fr(ratio(sz['bytes'], gosz)), "(reported)", None)


# --------------------------------------------------------------------------
# context for the targets: from this run's numbers and the plugin's current design


def notes(run) -> list[str]:
    r, p, out = run.res, run.p, []
    v = r.get("version")
    if v and "true" in v:
        floor = med(v["true"])
        go = med(v["bridge"] + v["host-local"] + v["portmap"])
        out.append(f"VERSION: the fork/exec floor (`/bin/true`) is {f(floor, 2)} ms; above it rootless-netns "
                   f"takes {f(med(v['rootless-netns']) - floor, 2)} ms and the Go plugins "
                   f"{f(go - floor, 2)} ms (pooled).")
    ns6 = r.get("netstat")
    if v and ns6 and ns6.get("1"):
        start, ip1 = med(v["netstat-inspect"]), med(ns6["1"]["times"]["ip-stats"])
        reach = ("so ≤ 0.5x cannot be reached on small namespaces by a separate process" if start > 0.5 * ip1 else
                 "so the start leaves room for ≤ 0.5x even on small namespaces")
        out.append(f"netstat-inspect: starting the process alone (VERSION) takes {f(start, 2)} ms, while "
                   f"`ip -j -s link show` on 1 interface takes {f(ip1, 2)} ms in all ({start / ip1:.2f}x), {reach}; "
                   "at 1000 interfaces the per-interface work decides.")
    out += _parallel_note(r.get("parallel"), r.get("warm"), p["parallel"])
    s = r.get("scale")
    if s:
        lv = [str(x) for x in p["levels"]]
        o1, oN = med(s["ours"]["levels"][lv[0]]["add"]), med(s["ours"]["levels"][lv[-1]]["add"])
        r1, rN = med(s["ref"]["levels"][lv[0]]["add"]), med(s["ref"]["levels"][lv[-1]]["add"])
        out.append(f"Scale: the reference chain alone grows by {rN - r1:+.1f} ms from {lv[0]} to {lv[-1]} containers "
                   f"(host-local's directory, iptables chains per container); rootless-netns grows by "
                   f"{oN - o1:+.1f} ms: the same delegates in the shared namespace, plus one small attachment "
                   "summary read per attached container on each ADD.")
    traced = (r.get("netns9") or {}).get("coldTrace") or {}
    for b, d in (r.get("cold") or {}).items():
        h = d["helper"]
        probe = _traced_probe(traced.get(b, {}).get("runs"))
        seen = ("" if probe is None else
                f"; figure 9's traced cold ADDs ran {'no probe' if probe == 0 else f'the probe ({f(probe)} ms median)'}")
        out.append(f"Cold ADD ({b}): besides the helper's own start-up ({f(med(h['ready']))} ms alone) the plugin "
                   f"creates the netns (`unshare --net=FILE true` takes {f(med(h['netnsCreate']))} ms as a process; "
                   f"the plugin does it in a C child) and probes `{b} --help` ({f(med(h['helpExec']))} ms as a "
                   "process) only when that binary is not in its feature cache (keyed by path, device, inode, size, "
                   f"mtime and ctime): once per helper binary, not per start{seen}.")
    return out


def _parallel_note(pr, w, n: int) -> list[str]:
    if not (pr and w and "slirp4netns" in w and "ref" in w):
        return []
    o, rf = pr["ours"], pr["ref"]
    serial, rserial = n * med(w["slirp4netns"]["add"]), n * med(w["ref"]["add"])
    share, rshare = ratio(o["addWall"], serial), ratio(rf["addWall"], rserial)
    how = ("so they overlap about as much as the bare chain's" if share <= rshare * 1.25 else
           "yet they overlap less than the bare chain's (figure 9 has 16 and 32)")
    return [f"Parallel: {n} × the warm ADD = {f(serial)} ms vs the measured wall {f(o['addWall'])} ms "
            f"({share:.2f} of it; the bare chain: {f(rserial)} vs {f(rf['addWall'])} ms, {rshare:.2f}). Chains into "
            "one shared namespace run concurrently: the state lock is held before and after a chain, never during "
            "one, and the network-setup lock that serialises a network's first chains is not in the way once a "
            f"container is attached (Sources/RootlessNetns/Locking.swift), {how}."]


def _traced_probe(runs) -> float | None:
    if not runs:
        return None
    return med([(x["helpEnd"] - x["helpStart"]) if x.get("helpEnd") is not None and x.get("helpStart") is not None
                else 0.0 for x in runs])
