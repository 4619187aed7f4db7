"""Numbers and markdown pieces of docs/benchmarks.md, shared by every figure: medians and
percentiles, the number formats, a section head and a table."""

from __future__ import annotations

import statistics


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
# markdown


def row(cells) -> str:
    """One table line; an empty cell stays `| |`."""
    return "|" + "".join(f" {c} |" if str(c) else " |" for c in cells)


def table(W, header, rows) -> None:
    """A table: the header cells, then each row's cells (already formatted)."""
    W(row(header))
    W("|" + "---|" * len(header))
    for r in rows:
        W(row(r))


def section(W, title: str, method: str, failed: str | None = None) -> None:
    """`## title`, the paragraph saying how the figure is measured, and why it is missing
    when it was not produced."""
    W(f"## {title}")
    W("")
    W(method)
    W("")
    if failed:
        W(f"**Not produced:** `{failed}`")
        W("")


def figure(run, W, key: str, results: str, title: str, method: str):
    """The section head of figure `key`; returns its raw results (run.res[results]) or None."""
    section(W, title, method, run.failed.get(key))
    return run.res.get(results)
