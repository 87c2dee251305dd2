"""Small helpers shared by the benchmarks."""
from __future__ import annotations


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (q from 0 to 1)."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def spread(values: list, fmt: str = "{:.0f}") -> str:
    """min / median / max of a list of runs, as the reports print them; runs
    without a figure (None) left out, "–" when none has one."""
    known = [v for v in values if v is not None]
    if not known:
        return "–"
    return " / ".join(fmt.format(v) for v in (min(known), percentile(known, .5), max(known)))


def machine_load() -> str:
    """The machine's load average (1, 5, 15 min) and cores, for the report:
    the machine may be shared, so figures are read beside it."""
    import os

    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} cores"
