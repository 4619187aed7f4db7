"""scripts/bench report, figures 1-8: how each is measured and its tables, rendered from the
raw results (run.res) and the analysis (bench_analysis.Analysis). Figures 9 and 10 render
themselves (bench_netns.section, bench_forward.section)."""

from __future__ import annotations

from bench_analysis import GO_PLUGINS, gbps, gbps_cell
from bench_md import f, figure, fr, med, mm, pct, ratio, table, verdict


def render(run, an, W) -> None:
    for fig in (fig1, fig2, fig3, fig4, fig5, fig6, fig7, fig8):
        fig(run, an, W)


def fig1(run, an, W) -> None:
    v = figure(run, W, "1", "version", "1. Startup: VERSION",
        f"Each binary fork/exec'd with `CNI_COMMAND=VERSION`, stdin from a file, stdout to /dev/null, "
        f"round-robin over the binaries ({run.p['version_n']} timed runs each after 3 warm-up rounds), timed in "
        f"Python around `posix_spawn` + `waitpid` (hyperfine 1.15 cannot feed stdin from a file).")
    if not v:
        return
    refm = med(v["bridge"] + v["host-local"] + v["portmap"])
    rows = [(b, mm(v[b], 2), fr(ratio(med(v[b]), refm))) for b in ("rootless-netns", "netstat-inspect") + GO_PLUGINS]
    if "true" in v:
        rows.append(("(`/bin/true`: the fork/exec floor)", mm(v["true"], 2), ""))
    table(W, ("binary", "VERSION exec (ms)", "ratio to the Go plugins (pooled median)"), rows)
    W("")


def fig2(run, an, W) -> None:
    p = run.p
    w = figure(run, W, "2", "warm", "2. Warm ADD and DEL",
        f"Shared namespace up with one container attached; then ADD and DEL of a second container, "
        f"{p['warm_n']} × {p['warm_blocks']} blocks (blocks alternate ours / reference), after one "
        "untimed round. Ours: the `rootless-netns` conflist (delegates bridge+host-local and portmap, "
        "MTU 65520) run by the bench user inside the rootless session. Reference: the same bridge+host-local "
        "+portmap chain as root in a plain netns (`nsenter --net=/run/netns/rcnib-host`, the equivalent of "
        "`cnitool --host-netns`, so the real host is untouched). Both sides are run by the same in-process "
        "libcni implementation (cnitool's `scripts/lib/cnilib`), so the interval is one libcni ADD/DEL: "
        "config building, plugin exec(s), result cache write -- no Python start-up.")
    if not (w and "ref" in w):
        return
    ref = w["ref"]
    ours = [b for b in ("slirp4netns", "pasta") if b in w]
    rows = [("reference: bridge+host-local+portmap as root in a plain netns", mm(ref["add"]), mm(ref["del"]),
             mm(ref["firstAdd"]), mm(ref["lastDel"]))]
    rows += [(f"rootless-netns ({b}) → same chain, in the session", mm(w[b]["add"]), mm(w[b]["del"]),
              f"{mm(w[b]['firstAdd'])} (cold)", f"{mm(w[b]['lastDel'])} (teardown)") for b in ours]
    table(W, ("chain", "warm ADD (ms)", "warm DEL (ms)", "first ADD (ms)", "last DEL (ms)"), rows)
    W("")
    rows = []
    for b in ours:
        o = w[b]
        rows.append((b, fr(ratio(med(o["add"]), med(ref["add"]))), f"{med(o['add']) - med(ref['add']):+.1f}",
                     fr(ratio(med(o["del"]), med(ref["del"]))), f"{med(o['del']) - med(ref['del']):+.1f}"))
    table(W, ("backend", "ADD ratio", "ADD added ms", "DEL ratio", "DEL added ms"), rows)
    W("")


def fig3(run, an, W) -> None:
    c = figure(run, W, "3", "cold", "3. Cold ADD and last DEL",
        f"{run.p['cold_n']} × (ADD of the only container: netns + helper start + ready + resolv.conf + chain; "
        "DEL of it: chain DEL + helper stop + netns and state removal). Helper alone: the same binary and "
        "arguments the plugin uses (slirp4netns `--configure --mtu=65520 --cidr=10.0.2.0/24 "
        "--enable-sandbox --enable-seccomp -r FD --netns-type=path NS tap0`, timed to the ready byte, "
        "without the plugin's `--api-socket`; pasta `--config-net ... --quiet`, timed until the foreground "
        f"process exits after daemonizing) into a netns made beforehand, {run.p['helper_n']} runs. The netns "
        "creation and the helper's `--help` probe are shown apart: the helper-alone runs probe before every "
        "start, the plugin only when the binary is not in its feature cache (see the context notes).")
    if not c:
        return
    rows = []
    for b, d in c.items():
        co, h = d["cold"], d["helper"]
        left = f"{co['leftHelpers']} helper processes; state dir: {', '.join(co['leftStateFiles']) or 'empty'}"
        rows.append((b, mm(co["add"]), mm(co["del"]), mm(h["ready"]), mm(h["netnsCreate"]), mm(h["helpExec"]), left))
    table(W, ("backend", "cold ADD (ms)", "last DEL / teardown (ms)", "helper alone: start → ready (ms)",
              "netns create (ms, `unshare --net=FILE true`)", "helper `--help` exec (ms)", "leftovers after last DEL"),
          rows)
    W("")
    for b, k in an.cold.items():
        W(f"- {b}: cold ADD {f(k.add)} ms vs budget helper ready {f(k.ready)} + warm ADD {f(k.warm_add)} + 10 = "
          f"{f(k.budget)} ms → {verdict(k.met)} ({k.add - k.budget:+.1f} ms); teardown adds "
          f"{k.teardown_added:+.1f} ms to a warm DEL.")
    W("")


def fig4(run, an, W) -> None:
    s = figure(run, W, "4", "scale", "4. Scale: attached containers",
        f"Containers are attached up to each level; at each level one more container is ADDed and DELeted "
        f"{run.p['scale_reps']} times (after an untimed round). Reference: the same chain as root in the "
        "stand-in host netns, same levels.")
    if not s:
        return
    lv = [str(x) for x in run.p["levels"]]
    rows = []
    for x in lv:
        o, rf = s["ours"]["levels"][x], s["ref"]["levels"][x]
        rows.append((x, mm(o["add"]), mm(o["del"]), mm(rf["add"]), mm(rf["del"]),
                     fr(ratio(med(o["add"]), med(rf["add"]))), fr(ratio(med(o["del"]), med(rf["del"])))))
    table(W, ("attached", "ours: ADD (ms)", "ours: DEL (ms)", "reference: ADD (ms)", "reference: DEL (ms)",
              "ADD ratio", "DEL ratio"), rows)
    fa, dd = s["ours"]["fillAdd"], s["ours"]["drainDel"]
    rfa, rdd = s["ref"]["fillAdd"], s["ref"]["drainDel"]
    W("")
    W(f"Filling to {lv[-1]}: ours ADD #1–10 {mm(fa[:10])}, last 10 {mm(fa[-10:])}; reference #1–10 "
      f"{mm(rfa[:10])}, last 10 {mm(rfa[-10:])}. Draining: ours DEL first 10 {mm(dd[:10])}, last 10 "
      f"(incl. the teardown) {mm(dd[-10:])}; reference {mm(rdd[:10])} / {mm(rdd[-10:])}.")
    W("")


def fig5(run, an, W) -> None:
    pr = figure(run, W, "5", "parallel", "5. Parallel ADDs",
        f"One container attached; then {run.p['parallel']} threads, released together by a barrier, each ADD "
        "its own container (a fresh netns each); then the same for DEL. Wall = barrier release to the last "
        "thread done; per-ADD = each thread's own interval. Nearest-rank percentiles.")
    if not pr:
        return
    rows = []
    for k, label in (("ours", "rootless-netns (slirp4netns)"), ("ref", "reference chain as root")):
        d = pr[k]
        rows.append((label, f(d["addWall"]), f(pct(d["add"], 50)), f(pct(d["add"], 99)), f(d["delWall"]),
                     f(pct(d["del"], 50)), f(pct(d["del"], 99)), len(d["addErrors"]) + len(d["delErrors"])))
    table(W, ("", "wall, all ADDs (ms)", "per-ADD p50", "per-ADD p99", "wall, all DELs (ms)", "per-DEL p50",
              "per-DEL p99", "errors"), rows)
    errs = [e for k in ("ours", "ref") for e in pr[k]["addErrors"] + pr[k]["delErrors"]]
    if errs:
        W("")
        W("Errors: " + "; ".join(errs[:5]))
    W("")


def fig6(run, an, W) -> None:
    ns6 = figure(run, W, "6", "netstat", "6. netstat-inspect vs iproute2",
        "Root netns `rcnib-ifN` with `lo` + N-1 `ifb` devices (this kernel has no `dummy` module), each up "
        "with one /32 IPv4 address, made with `ip -batch`. Both tools enter the namespace themselves "
        f"(`--netns /run/netns/rcnib-ifN` / `ip -n rcnib-ifN`). {run.p['ni_n']} timed runs each, round-robin, "
        "stdout to /dev/null. The inspect reference is the two `ip` runs back to back (issue 7's "
        "definition; inspect also reads routes, which `ip -j addr show` does not).")
    if not ns6:
        return
    rows = []
    for d in ns6.values():
        t = d["times"]
        rows.append((d["interfaces"], mm(t["stats"], 2), mm(t["ip-stats"], 2),
                     fr(ratio(med(t["stats"]), med(t["ip-stats"]))), mm(t["inspect"], 2), mm(t["ip-inspect"], 2),
                     fr(ratio(med(t["inspect"]), med(t["ip-inspect"])))))
    table(W, ("interfaces", "`netstat-inspect stats`", "`ip -j -s link show`", "ratio", "`netstat-inspect inspect`",
              "`ip -j -s link show` + `ip -j addr show`", "ratio"), rows)
    W("")
    rows = []
    for d in ns6.values():
        rr, ob = d["rssKiB"], d["outputBytes"]
        rows.append((d["interfaces"], f"{rr['stats']} / {rr['ip-stats']}", f"{rr['inspect']} / {rr['ip-inspect']}",
                     f"{ob['stats']} / {ob['ip-stats']}", f"{ob['inspect']} / {ob['ip-inspect']}"))
    table(W, ("interfaces", "peak RSS stats / ip (KiB)", "peak RSS inspect / ip (KiB)", "output bytes stats / ip",
              "output bytes inspect / ip"), rows)
    W("")


def _h2c_path(run) -> str:
    """How figure 7's port mapping reaches the container, from the conflists the run used."""
    kinds: dict[str, str] = {}
    for name, conf in run.res.get("conflists", {}).items():
        if name.startswith("tp-"):
            plug = conf["plugins"][0]
            kinds[plug["backend"]] = plug.get("portForwarder", "builtin")
    ours = ("the plugin binds the host port and our forwarder, in the shared namespace, connects to the "
            "container over the bridge")
    if all(k == "builtin" for k in kinds.values()):
        return (f"on both backends {ours}: the conflists keep `portForwarder` at its default, `builtin`; "
                "slirp4netns's own `add_hostfwd` is a variant of figure 10")
    return "; ".join(f"{b}: `add_hostfwd` to the shared namespace, then portmap DNAT to the container" if k == "slirp4netns"
                     else f"{b}: {ours}" for b, k in kinds.items())


def fig7(run, an, W) -> None:
    p = run.p
    tp = figure(run, W, "7", "throughput", "7. Throughput (iperf3)",
        f"`iperf3 -t {p['iperf_t']}`, {p['iperf_reps']} run(s) per cell: median (min–max) of the receiver's "
        "rate, one TCP stream. Container → host: `iperf3 -s -B "
        "127.0.0.1` on the host, client in the container netns to the host-loopback mapping (slirp4netns: "
        "10.0.2.2 with `allowHostLoopback`; pasta: the namespace's default gateway, which pasta maps to the "
        "host's loopback -- checked with a token server on 127.0.0.1 before any traffic). Host → container: "
        f"`iperf3 -c 127.0.0.1 -p PORT` through a `portMappings` entry ({_h2c_path(run)}). The conflist "
        "`mtu` is the helper MTU; the bridge delegate gets the same `mtu` (its own default is 1500, shown in "
        "the extra row). Reference: a netns and the helper started by hand with the same MTU, no plugin, no "
        "bridge; client in that netns; forward by hand (slirp4netns `add_hostfwd` to 10.0.2.100, pasta "
        "`-t 127.0.0.1/PORT:5201`). Traffic stays on the host's loopback and in the bench's namespaces.")
    if not tp:
        return
    rows = []
    for row in tp:
        bm = f"{row['bridgeMtu']}{' (bridge default)' if row['bridgeMtuDefault'] else ''}"
        rows.append((row["backend"], row["mtu"], bm, gbps_cell(row, "oursC2H"), gbps_cell(row, "refC2H"),
                     fr(ratio(gbps(row, "oursC2H"), gbps(row, "refC2H"))), gbps_cell(row, "oursH2C"),
                     gbps_cell(row, "refH2C"), fr(ratio(gbps(row, "oursH2C"), gbps(row, "refH2C")))))
        rows += [("", "", "", f"{k}: {row[k][:200]}", "", "", "", "", "") for k in ("oursError", "refError") if k in row]
    table(W, ("backend", "helper MTU", "bridge/veth MTU", "container → host loopback: ours", "helper alone", "ratio",
              "host → container (port mapping): ours", "helper alone", "ratio"), rows)
    W("")
    # The sender's TCP retransmits of each run, in run order: a cell whose runs stall in retransmission
    # timeouts is bimodal (issue 13's pasta container → host), and its median is then one of two modes.
    def rtx(row, key):
        cell = row.get(key) or {}
        runs = cell.get("retransmits") or []
        return " / ".join("?" if r is None else str(r) for r in runs) if runs else "—"
    if any(isinstance(row.get(k), dict) and row[k].get("retransmits") for row in tp
           for k in ("oursC2H", "refC2H", "oursH2C", "refH2C")):
        W("Sender retransmits per run (same cells, in run order; Gbit/s per run in the JSON record):")
        W("")
        table(W, ("backend", "helper MTU", "bridge/veth MTU", "container → host: ours", "helper alone",
                  "host → container: ours", "helper alone"),
              [(row["backend"], row["mtu"], row["bridgeMtu"], rtx(row, "oursC2H"), rtx(row, "refC2H"),
                rtx(row, "oursH2C"), rtx(row, "refH2C")) for row in tp])
        W("")


def fig8(run, an, W) -> None:
    rs8 = figure(run, W, "8", "rss", "8. Peak RSS and binary sizes",
        "GNU `/usr/bin/time -f %M` (max of 3 runs for VERSION). Sizes of the release binaries (fully static: "
        "Swift runtime, glibc and jansson linked in; `scripts/build-release`) and of the Debian-packaged Go "
        "plugins; `strip -o` for the stripped size.")
    w = run.res.get("warm")
    if rs8:
        rows = [(b, f"{sz['bytes']:,}", f"{sz['stripped']:,}", f"{rs8['rssVersion'][b]:,}") for b, sz in rs8["size"].items()]
        rows.append(("(`/usr/bin/time` running `/bin/true`, the floor)", "", "", f"{rs8['rssBaseline']:,}"))
        table(W, ("binary", "size (bytes)", "stripped", "peak RSS, VERSION (KiB)"), rows)
        W("")
    rows = [("reference" if k == "ref" else f"ours ({k})", plugin, d.get("ADD", ""), d.get("DEL", ""))
            for k in ("ref", "slirp4netns", "pasta") if w and k in w and "rssKiB" in w[k]
            for plugin, d in w[k]["rssKiB"].items()]
    if rows:
        W("Peak RSS of each plugin invocation of a warm ADD and DEL (KiB, GNU time `%M`; a "
          "process's figure includes the children it waited for, so rootless-netns's covers its "
          "delegates, bridge's covers host-local):")
        W("")
        table(W, ("chain", "plugin", "ADD", "DEL"), rows)
        W("")
