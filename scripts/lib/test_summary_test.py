#!/usr/bin/env python3
"""Tests of test_summary.py on recorded runs (test_summary_fixtures/). Run by scripts/test."""
import os
import unittest

import test_summary as ts

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_summary_fixtures")


def run(mode, status, edit=lambda text: text):
    with open(os.path.join(HERE, mode + ".log"), encoding="utf-8", errors="replace") as f:
        text = edit(f.read())
    return ts.summarize(text, ts.read_xunit(ts.xunit_path(os.path.join(HERE, mode + ".xml"))), status)


class Summary(unittest.TestCase):
    def test_green(self):
        # 5 Swift Testing tests (a parameterised one counted once, one with a known issue)
        # + 2 XCTest; the closing "Test run with 6 tests" line is not a test.
        self.assertEqual(run("green", 0), ("tests: 7 passed (1 with known issues), 0 failed, 1 skipped", 0))

    def test_red(self):
        # One Swift Testing and one XCTest failure; "✘ Test run with" is not a failure.
        self.assertEqual(run("red", 1), ("tests: 5 passed (1 with known issues), 2 failed, 1 skipped", 1))

    def test_crash(self):
        line, code = run("crash", 1)
        self.assertEqual(code, 2)
        self.assertTrue(line.startswith("INCOMPLETE tests: 3 passed, 0 failed, 1 skipped"), line)
        self.assertIn("exited 1 with nothing failed", line)
        self.assertIn("crash()", line)

    def test_nonzero_status_without_failures(self):
        line, code = run("green", 1)
        self.assertEqual(code, 2)
        self.assertTrue(line.startswith("INCOMPLETE"), line)

    def test_total_mismatch(self):
        line, code = run("green", 0, lambda t: t.replace("Test run with 6 tests", "Test run with 9 tests"))
        self.assertEqual(code, 2)
        self.assertIn('6 results for "Test run with 9 tests"', line)

    def test_missing_closing_line(self):
        line, code = run("green", 0, lambda t: "\n".join(l for l in t.splitlines() if "Test run with" not in l))
        self.assertEqual(code, 2)
        self.assertIn("no closing", line)

    def test_missing_xunit(self):
        line, code = ts.summarize("━ Test run with 0 tests in 0 suites passed after 0.001 seconds.\n", None, 0)
        self.assertEqual(code, 2)
        self.assertIn("no Swift Testing xUnit results", line)


if __name__ == "__main__":
    unittest.main()
