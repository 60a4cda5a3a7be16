"""Statistics for the report: t intervals, Holm's correction, finite means and deviations."""

import math
from collections.abc import Sequence

import numpy as np
from scipy import special  # not scipy.stats: its import alone took 0.6 s of a 6 s `compare` of the digits

ALPHA = 0.05
# ------------------------------------------------------------ statistics
def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """Two-sided t confidence interval of the mean; None with fewer than 2 values."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if len(x) < 2:
        return None
    mean, sem = float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))
    half = t_ppf(0.5 + confidence / 2, len(x) - 1) * sem
    return mean - half, mean + half


def t_ppf(q: float, df: float) -> float:
    """Quantile of Student's t with ``df`` degrees of freedom (``scipy.stats.t.ppf``)."""
    return float(special.stdtrit(df, q))


def nct_cdf(x: float, df: float, nc: float) -> float:
    """CDF of the noncentral t (``scipy.stats.nct.cdf``)."""
    return float(special.nctdtr(df, nc, x))


def paired_t_pvalue(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of the paired t-test of ``a`` against ``b`` (``scipy.stats.ttest_rel``)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = len(d)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = float(d.mean() / (d.std(ddof=1) / math.sqrt(n)))
    return float(2 * special.stdtr(n - 1, -abs(t))) if not math.isnan(t) else math.nan


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


# ------------------------------------------------- bounded intervals, effect sizes, power
# An accuracy equal to 0 or 1 has no logit; it is pulled in by this much before transforming.
_EDGE = 1e-4


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EDGE, 1 - _EDGE)
    return np.log(p / (1 - p))


def _expit(z: float) -> float:
    return float(1.0 / (1.0 + math.exp(-z)))


def bounded_interval(values: Sequence[float], kind: str, confidence: float = 0.95) -> tuple[float, float] | None:
    """A t interval computed where the metric is unbounded, mapped back, so it never leaves the metric's range.

    ``kind`` "accuracy": the t interval of the logits, back through the logistic function (inside [0, 1]);
    "loss": the t interval of log(loss), exponentiated (positive; a geometric-mean interval);
    anything else: the plain t interval. None with fewer than 2 finite values.
    """
    x = np.asarray(_finite(values), dtype=float)
    if len(x) < 2:
        return None
    if kind == "accuracy":
        low, high = t_interval(_logit(x).tolist(), confidence)  # type: ignore[misc]
        return max(0.0, _expit(low)), min(1.0, _expit(high))
    if kind == "loss" and (x > 0).all():
        low, high = t_interval(np.log(x).tolist(), confidence)  # type: ignore[misc]
        return math.exp(low), math.exp(high)
    return t_interval(x.tolist(), confidence)


def paired_interval(differences: Sequence[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """t interval of the mean paired difference (a constant difference gives a zero-width interval)."""
    d = np.asarray(_finite(differences), dtype=float)
    if len(d) < 2:
        return None
    if np.allclose(d, d[0]):
        return float(d[0]), float(d[0])
    return t_interval(d.tolist(), confidence)


def equivalent(differences: Sequence[float], margin: float, alpha: float = ALPHA) -> bool | None:
    """TOST at level α, as the (1 − 2α) CI of the paired difference lying inside [−margin, margin]."""
    interval = paired_interval(differences, 1 - 2 * alpha)
    if interval is None:
        return None
    return -margin < interval[0] and interval[1] < margin


def seeds_needed(differences: Sequence[float], alpha: float = ALPHA, power: float = 0.8,
                 limit: int = 1000) -> int | None:
    """Paired seeds a two-sided paired t-test needs to detect a difference of the observed size with ``power``.

    Uses the observed mean and standard deviation of the differences (noncentral t); None without a spread
    or a difference, ``limit`` + 1 when it would take more than ``limit``.
    """
    d = np.asarray(_finite(differences), dtype=float)
    if len(d) < 2:
        return None
    sd, mean = float(d.std(ddof=1)), abs(float(d.mean()))
    if sd == 0 or mean == 0:
        return None
    effect = mean / sd
    for n in range(2, limit + 1):
        df = n - 1
        critical = t_ppf(1 - alpha / 2, df)
        nc = effect * math.sqrt(n)
        lower = nct_cdf(-critical, df, nc)  # scipy answers nan far in the tail: that is 0
        achieved = 1 - nct_cdf(critical, df, nc) + (0.0 if math.isnan(lower) else lower)
        if achieved >= power:
            return n
    return limit + 1
