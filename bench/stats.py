"""Small helpers shared by the benchmarks."""
from __future__ import annotations


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (q from 0 to 1)."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def spread(values: list[float]) -> str:
    """min / median / max of a list of runs, as the reports print them."""
    return f"{min(values):.1f} / {percentile(values, .5):.1f} / {max(values):.1f}"


def machine_load() -> str:
    """The machine's load average (1, 5, 15 min) and cores, for the report:
    the machine may be shared, so figures are read beside it."""
    import os

    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} cores"
