#!/usr/bin/env python3
"""One honest closing line for `swift test`.

usage: test_summary.py LOG XUNIT STATUS

LOG     the console output of `swift test` (for XCTest's results, known issues, the
        "Test run with N tests" total and what was running when the binary died)
XUNIT   the path given to `swift test --xunit-output`; Swift Testing writes its results to
        XUNIT's stem + "-swift-testing" + suffix (XCTest writes XUNIT only with --parallel)
STATUS  the exit status of `swift test`

Swift Testing results come from its xUnit file (one <testcase> per test, parameterised
tests counted once, as in "Test run with N tests"); the total is checked against that line.
Prints "tests: P passed (K with known issues), F failed, S skipped" and exits 0 when the run
is green and complete, 1 when tests failed, 2 with "INCOMPLETE" when the run cannot be
trusted: the binary died (non-zero status, nothing failed), no closing line, or counts that
do not add up.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

# Swift Testing's console symbols: ✔ pass, ✘ fail, ➜ skip, ━ pass with a known issue, ◇ start.
RUN_LINE = re.compile(r"^[✔✘━] Test run with (\d+) tests? ")
STARTED = re.compile(r"^◇ Test (.+) started\.$")
FINISHED = re.compile(r"^[✔✘━] Test (.+?) (?:with \d+ test cases? )?(?:passed|failed) after ")
SKIPPED = re.compile(r"^➜ Test (.+?) skipped")
KNOWN = re.compile(r"^[━✘] Test (.+?) (?:with \d+ test cases? )?(?:passed|failed) after .* known issues?")
XC_CASE = re.compile(r"^Test Case '(.+)' (passed|failed) \(")
XC_STARTED = re.compile(r"^Test Case '(.+)' started")


def xunit_path(base):
    stem, ext = os.path.splitext(base)
    return stem + "-swift-testing" + (ext or ".xml")


def read_xunit(path):
    """(passed, failed, skipped) from Swift Testing's xUnit file, or None if absent/truncated."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    passed = failed = skipped = 0
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def summarize(log_text, xunit, status):
    """Returns (line, exit code)."""
    lines = log_text.splitlines()
    total = None
    started, finished = [], set()
    console = {"passed": 0, "failed": 0, "skipped": 0}  # per-test result lines, if xUnit is missing
    known = 0
    xc_passed = xc_failed = 0
    xc_started, xc_done = [], set()
    for line in lines:
        m = RUN_LINE.match(line)
        if m:
            total = int(m.group(1))
            continue
        if line.startswith("◇ Test case ") or line.startswith("✔ Test case ") or line.startswith("✘ Test case "):
            continue  # one argument of a parameterised test, not a test
        m = STARTED.match(line)
        if m and line != "◇ Test run started.":
            started.append(m.group(1))
            continue
        if line.startswith(("✔ Test ", "✘ Test ", "━ Test ")) and not line.startswith("━ Test run"):
            m = FINISHED.match(line)
            if m:
                finished.add(m.group(1))
                console["failed" if line.startswith("✘") else "passed"] += 1
                if KNOWN.match(line):
                    known += 1
            continue
        m = SKIPPED.match(line)
        if m:
            finished.add(m.group(1))
            console["skipped"] += 1
            continue
        m = XC_CASE.match(line)
        if m:
            xc_done.add(m.group(1))
            if m.group(2) == "passed":
                xc_passed += 1
            else:
                xc_failed += 1
            continue
        m = XC_STARTED.match(line)
        if m:
            xc_started.append(m.group(1))

    problems = []
    counts = xunit
    if counts is None:
        problems.append("no Swift Testing xUnit results, counted from the console")
        counts = (console["passed"], console["failed"], console["skipped"])
    st_passed, st_failed, st_skipped = counts
    if total is None:
        problems.append("no closing \"Test run with N tests\" line")
    elif xunit is not None and st_passed + st_failed + st_skipped != total:
        problems.append("%d results for \"Test run with %d tests\"" % (st_passed + st_failed + st_skipped, total))
    passed, failed = st_passed + xc_passed, st_failed + xc_failed
    running = [t for t in started if t not in finished] + [t for t in xc_started if t not in xc_done]
    if status != 0 and failed == 0:
        problems.append("swift test exited %d with nothing failed" % status)
    if problems and running:
        problems.append("running: " + ", ".join(running[:5]))

    line = "tests: %d passed" % passed
    if known:
        line += " (%d with known issues)" % known
    line += ", %d failed, %d skipped" % (failed, st_skipped)
    if problems:
        return "INCOMPLETE " + line + " (" + "; ".join(problems) + ")", 2
    return line, (1 if failed or status != 0 else 0)


def main(argv):
    if len(argv) != 4 or argv[1] in ("-h", "--help"):
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1], encoding="utf-8", errors="replace") as f:
        text = f.read()
    line, code = summarize(text, read_xunit(xunit_path(argv[2])), int(argv[3]))
    print(line)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
