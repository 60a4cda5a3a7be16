"""Statistics for the report: t intervals, Holm's correction, finite means and deviations."""

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

ALPHA = 0.05
# ------------------------------------------------------------ statistics
def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """Two-sided t confidence interval of the mean; None with fewer than 2 values."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if len(x) < 2:
        return None
    mean, sem = float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(x) - 1)) * sem
    return mean - half, mean + half


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as given)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def _mean(values: Sequence[float | None]) -> float | None:
    x = _finite(values)
    return float(np.mean(x)) if x else None


def _std(values: Sequence[float | None]) -> float | None:
    x = _finite(values)
    return float(np.std(x, ddof=1)) if len(x) >= 2 else None


