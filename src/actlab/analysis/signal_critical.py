"""The edge of chaos: the critical line, the critical σ_w² for a given σ_b², and one initialisation's summary.

On the edge of chaos χ₁ = σ_w² E[φ′(√q* z)²] = 1 at the length map's fixed point q*; solving both
equations for (σ_w², σ_b²) parameterises the **critical line** by q*:

    σ_w² = 1 / E[φ′(√q* z)²],    σ_b² = q* − E[φ(√q* z)²] / E[φ′(√q* z)²].

:func:`critical_weight_variance` solves σ_b²(q*) = σ_b² for q*; only points where q* attracts the
length map (its slope 1 + σ_w² E[φφ″] < 1) count, since a net reaches only those (GELU and SiLU have
critical points with small σ_b² where q* repels: there a net drifts away from the edge).  Where
σ_b² = 0 and φ(0) = 0 the line starts at q* = 0 (tanh: σ_w² = 1); ReLU's line is σ_w² = 2 at
σ_b² = 0 for every q*.

>>> round(critical_weight_variance("relu", 0.0), 9)
2.0
>>> round(critical_weight_variance("tanh", 0.0), 9)
1.0
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from actlab.analysis.signal import (
    Phi,
    check_variances,
    chi_c,
    fixed_correlation,
    fixed_length,
    phi_of,
    second_moments,
)

__all__ = [
    "SignalPoint",
    "signal_point",
    "critical_line",
    "critical_weight_variance",
    "critical_init",
    "CRITICAL_BIAS_VARIANCES",
]

# the σ_b² tried in turn by --init critical when none is given: the first with an attracting critical point wins
CRITICAL_BIAS_VARIANCES = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


# ------------------------------------------------------------------ one point of the phase diagram
@dataclass(frozen=True)
class SignalPoint:
    """Mean-field quantities at one initialisation (σ_w², σ_b²)."""

    activation: str
    weight_variance: float
    bias_variance: float
    q_star: float | None  # None: the length map runs away
    chi1: float | None
    c_star: float | None
    chi_c: float | None  # σ_w² E[φ′(u₁)φ′(u₂)] at c*
    xi_q: float | None  # inf on the edge of chaos / when the length map is marginal
    xi_c: float | None
    phase: str  # "ordered", "chaotic", "critical", or "unbounded" (no q*)
    critical_weight_variance: float | None  # at this σ_b²

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _depth_scale(slope: float | None) -> float | None:
    if slope is None or not math.isfinite(slope):
        return None
    if slope <= 0:
        return 0.0
    if abs(slope - 1.0) <= 1e-12:
        return math.inf
    return -1.0 / math.log(slope)  # negative beyond 1: the map's departure rate (the signal grows)


def signal_point(activation: Any, weight_variance: float, bias_variance: float = 0.0, *, q0: float = 1.0,
                 critical: bool = True) -> SignalPoint:
    """q*, χ₁, c*, ξ_q, ξ_c and the phase at (σ_w², σ_b²); ``critical``: also the critical σ_w² at this σ_b²."""
    phi = phi_of(activation)
    check_variances(weight_variance, bias_variance)
    crit = critical_weight_variance(phi, bias_variance) if critical else None
    q = fixed_length(phi, weight_variance, bias_variance, q0)
    if q is None:
        return SignalPoint(phi.name, weight_variance, bias_variance, None, None, None, None, None, None,
                           "unbounded", crit)
    e2, d2, de2 = second_moments(phi, q)
    x1 = weight_variance * d2
    c = fixed_correlation(phi, q, weight_variance, bias_variance)
    xc = x1 if c >= 1.0 else chi_c(phi, c, q, weight_variance)
    slope_q = weight_variance * de2 if q > 0 else x1
    phase = "critical" if abs(x1 - 1.0) <= 1e-9 else ("ordered" if x1 < 1.0 else "chaotic")
    return SignalPoint(phi.name, weight_variance, bias_variance, q, x1, c, xc, _depth_scale(slope_q),
                       _depth_scale(xc), phase, crit)


# ------------------------------------------------------------------ the edge of chaos
def critical_line(activation: Any, q_values: Any = None) -> dict[str, np.ndarray]:
    """The edge of chaos parameterised by q*: σ_w² = 1/E φ′², σ_b² = q* − E φ²/E φ′², and whether q* attracts.

    Returns arrays ``q``, ``weight_variance``, ``bias_variance``, ``attracting`` (the length map's slope
    at q* below 1); points with σ_b² < 0 are not initialisations (kept, flagged by their sign).
    """
    phi = phi_of(activation)
    qs = np.geomspace(1e-4, 1e3, 71) if q_values is None else np.asarray(q_values, dtype=np.float64)
    w, b, attract = np.empty_like(qs), np.empty_like(qs), np.zeros(len(qs), dtype=bool)
    for i, q in enumerate(qs):
        e2, d2, de2 = second_moments(phi, float(q))
        if d2 <= 0:  # φ′ = 0 almost everywhere at this length (a flat zone): no critical point
            w[i], b[i] = math.inf, math.nan
            continue
        w[i] = 1.0 / d2
        b[i] = q - e2 * w[i]
        attract[i] = w[i] * de2 < 1.0 - 1e-9
    return {"q": qs, "weight_variance": w, "bias_variance": b, "attracting": attract}


_CRITICAL: dict[Any, tuple[float | None, float | None]] = {}


def _critical_cached(key: Any, phi: Phi, bias_variance: float) -> tuple[float | None, float | None]:
    if (key, bias_variance) not in _CRITICAL:
        _CRITICAL[key, bias_variance] = _critical(phi, bias_variance)
    return _CRITICAL[key, bias_variance]


_LINES: dict[Any, dict[str, np.ndarray]] = {}


def _line_cached(phi: Phi) -> dict[str, np.ndarray]:
    key = _key(phi)
    if key not in _LINES:
        _LINES[key] = critical_line(phi)
    return _LINES[key]


def _critical(phi: Phi, bias_variance: float) -> tuple[float | None, float | None]:
    from scipy.optimize import brentq

    f0, d2 = phi.at_zero()
    if bias_variance == 0 and f0 == 0 and d2 > 0:
        # q* = 0 (the q → 0 end of the line); it attracts when the length map lies below the diagonal near 0
        w = 1.0 / d2
        q_small = 1e-3
        if w * second_moments(phi, q_small)[0] - q_small < -1e-9 * q_small:
            return w, 0.0
    line = _line_cached(phi)
    qs, ws, bs, ok = line["q"], line["weight_variance"], line["bias_variance"], line["attracting"]
    if bias_variance == 0 and np.all(np.abs(bs) <= 1e-9 * np.maximum(qs, 1.0)):
        return float(np.median(ws)), 1.0  # σ_b² ≡ 0 along the line (ReLU): every q* is critical
    residual = bs - bias_variance
    for i in range(len(qs) - 1):
        if not (np.isfinite(ws[i]) and np.isfinite(ws[i + 1]) and np.isfinite(bs[i]) and np.isfinite(bs[i + 1])):
            continue  # E φ′² = 0 there (a flat zone around 0): no critical point in this segment
        if residual[i] == 0 and ok[i]:
            return float(ws[i]), float(qs[i])
        if (residual[i] > 0) != (residual[i + 1] > 0) and (ok[i] or ok[i + 1]):

            def g(q: float) -> float:
                e2, d2, _ = second_moments(phi, q)
                return q - e2 / d2 - bias_variance if d2 > 0 else -math.inf

            q = float(brentq(g, float(qs[i]), float(qs[i + 1]), xtol=1e-15, rtol=1e-15))
            e2, d2, de2 = second_moments(phi, q)
            if d2 > 0 and de2 / d2 < 1.0 + 1e-9:
                return 1.0 / d2, q
    return None, None


def _key(phi: Phi) -> Any:
    return (phi.name, tuple(sorted((k, float(v)) for k, v in phi.values.items())), str(phi.spec.formula))


def critical_weight_variance(activation: Any, bias_variance: float = 0.0, *, with_q: bool = False) -> Any:
    """The σ_w² on the edge of chaos (χ₁ = 1 at an attracting q*) for ``bias_variance`` σ_b²; None if none exists.

    ``with_q``: (σ_w², q*) instead.  Where several q* qualify, the smallest.
    """
    phi = phi_of(activation)
    check_variances(1.0, bias_variance)
    w, q = _critical_cached(_key(phi), phi, float(bias_variance))
    return (w, q) if with_q else w


def critical_init(activation: Any, bias_variance: float | None = None) -> tuple[float, float] | None:
    """(σ_w², σ_b²) of ``--init critical``: the given σ_b², else the first of :data:`CRITICAL_BIAS_VARIANCES`
    with a critical σ_w²; None when none has one."""
    phi = phi_of(activation)
    for b in (CRITICAL_BIAS_VARIANCES if bias_variance is None else (float(bias_variance),)):
        w = critical_weight_variance(phi, b)
        if w is not None:
            return float(w), float(b)
    return None
