#!/usr/bin/env python3
"""Tests of the benchmark report (bench_analysis, bench_sections, bench_report) on a small
recorded run (bench_report_fixtures/run.json, round numbers). Run by scripts/test."""
import copy
import json
import os
import sys
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_analysis  # noqa: E402
import bench_report  # noqa: E402

with open(os.path.join(HERE, "bench_report_fixtures", "run.json")) as fh:
    FIXTURE = json.load(fh)


def render(edit=lambda record: None, notes=""):
    record = copy.deepcopy(FIXTURE)
    edit(record)
    return bench_report.render(bench_report.Run(record), notes)


def section(text, heading):
    start = text.index(f"\n## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else None]


class Report(unittest.TestCase):
    def test_summary_rows_and_verdicts(self):
        text, _ = render()
        summary = section(text, "Summary")
        self.assertIn("| 1. VERSION exec, rootless-netns | 2.00 ms | 4.00 ms (bridge/host-local/portmap) | 0.50x "
                      "| ≤ 1.0x | **met** |", summary)
        self.assertIn("| 2. warm ADD (pasta) | 60.0 ms | 40.0 ms | 1.50x | ≤ 1.3x (added +20.0 ms) | **not met** |",
                      summary)
        self.assertIn("| 3. cold ADD (slirp4netns) | 100 ms | 10.0 ms helper alone | 10.00x "
                      "| ≤ ready + warm ADD + 10 = 61.0 ms | **not met** |", summary)
        self.assertIn("| 4. ADD at 3 vs 1 attached | 65.0 ms vs 50.0 ms (1.30x) | 52.0 ms vs 50.0 ms (1.04x) | 1.25x "
                      "| flat: ≤ 1.2x at 3 | **not met** |", summary)
        self.assertIn("| 7. slirp4netns MTU 65520: host → container | 10.00 Gbit/s | 5.00 Gbit/s | 2.00x "
                      "| (reported) | — |", summary)
        self.assertIn("| 9. 16 parallel ADDs: wall (issue 13) | 600 ms | 400 ms bare chain | 1.50x | ≤ 1.15x "
                      "| **not met** |", summary)

    def test_targets_are_the_summary_rows_with_a_target(self):
        text, verdicts = render()
        rows = bench_analysis.analyse(bench_report.Run(copy.deepcopy(FIXTURE))).rows
        with_target = [r for r in rows if r.met is not None]
        self.assertEqual(len(verdicts), len(with_target))
        self.assertGreater(len(with_target), 10)
        targets = section(text, "Targets")
        for r, line in zip(with_target, verdicts):
            self.assertTrue(line.startswith(f"{r.figure}: {'met' if r.met else 'NOT met'} — ours {r.ours}"), line)
            self.assertIn(f"- {line}\n", targets)
        # Figure 3's verdict line and its Summary row come from the same budget.
        self.assertIn("- slirp4netns: cold ADD 100 ms vs budget helper ready 10.0 + warm ADD 41.0 + 10 = 61.0 ms → "
                      "**not met** (+39.0 ms)", section(text, "3. Cold ADD and last DEL"))

    def test_figure_not_produced(self):
        text, _ = render()
        self.assertIn("| figure 6 | not produced | | | | RuntimeError: no ifb module |", section(text, "Summary"))
        self.assertIn("**Not produced:** `RuntimeError: no ifb module`", section(text, "6. netstat-inspect vs iproute2"))
        # The tables of figures 7 and 10 show their failed cells.
        self.assertIn("| | | | oursError: attach failed | | | | | |", section(text, "7. Throughput (iperf3)"))
        self.assertIn("| pasta -t | error: pasta failed | | | | | | | |", section(text, "10. Port forwarding"))

    def test_figure7_says_which_forwarder_the_conflists_used(self):
        text, _ = render()
        fig7 = section(text, "7. Throughput (iperf3)")
        self.assertIn("our forwarder", fig7)
        self.assertNotIn("then portmap DNAT", fig7)

        def slirp_forwarder(record):
            record["results"]["conflists"]["tp-slirp-65520-65520"]["plugins"][0]["portForwarder"] = "slirp4netns"
        fig7 = section(render(slirp_forwarder)[0], "7. Throughput (iperf3)")
        self.assertIn("slirp4netns: `add_hostfwd` to the shared namespace, then portmap DNAT", fig7)

    def test_figure7_lists_each_runs_retransmits(self):
        def bimodal(record):
            record["results"]["throughput"][0]["oursC2H"]["retransmits"] = [5, 700, None]
        fig7 = section(render(bimodal)[0], "7. Throughput (iperf3)")
        self.assertIn("Sender retransmits per run", fig7)
        self.assertIn("| 5 / 700 / ? | 0 |", fig7)

    def test_context_notes_follow_the_design(self):
        notes = section(render()[0], "Targets")
        self.assertIn("Chains into one shared namespace run concurrently", notes)
        self.assertNotIn("one at a time", notes)
        self.assertIn("only when that binary is not in its feature cache", notes)
        self.assertNotIn("before every start", notes)

    def test_hand_written_notes_are_appended_verbatim(self):
        hand = "## Reading this run\n\nBy hand | with | pipes.\n"
        text, _ = render(notes=hand)
        self.assertTrue(text.endswith("</details>\n\n" + hand), text[-200:])
        self.assertTrue(render()[0].endswith("</details>\n"))

    def test_results_without_meta_render(self):
        # A results file of an older scripts/bench --json: no machine, commands or run time.
        text, verdicts = render(lambda record: record.pop("meta"))
        self.assertIn("# (this results file does not record the commands)", text)
        self.assertEqual(len(verdicts), len(render()[1]))


if __name__ == "__main__":
    unittest.main()
