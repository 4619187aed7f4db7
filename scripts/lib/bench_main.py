#!/usr/bin/env python3
"""scripts/bench, the part that measures (as root, after scripts/bench set the machine up) and
writes docs/benchmarks.md; or, with --render-only RESULTS.json, only renders a saved run.

Runs every figure of issue 7 (and of issues 12 and 13), each side by side with its reference:
figures 1-6 and 8 in bench_figures.py, 7 in bench_throughput.py, 9 in bench_netns.py, 10 in
bench_forward.py, on the runner of bench_run.py. Then bench_analysis.py computes the ratios and
verdicts once and bench_report.py renders the document, appending docs/benchmarks-notes.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import bench_forward  # noqa: E402  (figure 10, issue 12)
import bench_netns  # noqa: E402  (figure 9, issue 13)
import bench_report  # noqa: E402
from bench_figures import Figures  # noqa: E402
from bench_run import ROOT, T_START, Runner  # noqa: E402
from bench_throughput import Throughput  # noqa: E402

NOTES = os.path.join(ROOT, "docs", "benchmarks-notes.md")


class Bench(Runner, Figures, Throughput):
    """One measuring run: the runner with every figure's measuring code."""

    def figures(self):
        return [("1", self.fig1_version), ("2", self.fig2_warm), ("3", self.fig3_cold), ("4", self.fig4_scale),
                ("5", self.fig5_parallel), ("6", self.fig6_netstat), ("7", self.fig7_throughput),
                ("8", self.fig8_rss_size), ("9", lambda: bench_netns.run(self)), ("10", lambda: bench_forward.run(self))]


def measure(o) -> dict:
    b = Bench(o)
    only = set(o.only.split(",")) if o.only else None
    try:
        for key, fn in b.figures():
            if only is None or key in only:
                b.figure(key, fn)
    finally:
        b.cleanup()
    total = time.time() - (o.started or time.time() - (time.monotonic() - T_START))
    record = b.record(total)
    if o.json:
        with open(o.json, "w") as fh:
            json.dump(record, fh, indent=1)
    return record


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--render-only", metavar="RESULTS.json", default="",
                    help="render a run saved with --json; measure nothing (no root needed)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--user")
    ap.add_argument("--work")
    ap.add_argument("--bin")
    ap.add_argument("--out", required=True)
    ap.add_argument("--notes", default=NOTES, help="hand-written sections appended verbatim ('' for none)")
    ap.add_argument("--only", default="", help="comma list of figures (1-10) to run")
    ap.add_argument("--json", default="", help="also write the raw results here")
    ap.add_argument("--started", type=float, default=0, help="epoch seconds scripts/bench started")
    o = ap.parse_args()
    if o.render_only:
        run = bench_report.Run.load(o.render_only)
    else:
        missing = [a for a in ("user", "work", "bin") if not getattr(o, a)]
        if missing:
            ap.error("measuring needs " + ", ".join("--" + a for a in missing))
        run = bench_report.Run(measure(o))
    verdicts = bench_report.write(o.out, run, o.notes)
    print(f"\nwrote {o.out} ({run.total_s:.0f} s)")
    for v in verdicts:
        print("  " + v)
    for k, why in run.failed.items():
        print(f"  figure {k}: not produced: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
