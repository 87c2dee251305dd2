"""Small helpers shared by the benchmarks."""
from __future__ import annotations


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (q from 0 to 1)."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
