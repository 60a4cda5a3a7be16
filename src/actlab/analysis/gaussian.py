"""Expectations under a normal distribution, computed by adaptive quadrature.

``expectation(g, mean, std, breakpoints)`` is E[g(X)] for X ~ N(mean, std²),
where ``g`` maps a float64 numpy array to an array of the same length (or a
``(m, n)`` stack of m integrands, integrated together).  The real line is cut at
``mean``, at ``mean ± 4, 8 std`` and at every breakpoint (kinks and jumps of g),
then each piece is integrated by vectorised adaptive Gauss–Legendre quadrature
(each interval bisected until the two halves agree with the whole to
``rtol``/``atol``).  Beyond ``mean ± 40 std`` the normal density is below
1e-347 (zero in float64), so the tails are dropped; that loses nothing for any g
that grows slower than exp(x²/2).

:func:`moments` applies this to an activation: E f, E f², Var f and E f' — the
property table uses it at N(0, 1), the self-normalisation analysis at any
N(μ, σ²).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from actlab.errors import ActlabError

__all__ = ["expectation", "moments", "GaussianMoments", "normal_probability", "TRUNCATE_STD"]

TRUNCATE_STD = 40.0  # |x - mean| beyond this many std has zero density in float64
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(24)
_MAX_LEVELS = 40


def _pieces(mean: float, std: float, breakpoints: Iterable[float]) -> np.ndarray:
    low, high = mean - TRUNCATE_STD * std, mean + TRUNCATE_STD * std
    cuts = {low, high, mean}
    cuts.update(mean + s * std for s in (-8.0, -4.0, -2.0, 2.0, 4.0, 8.0))
    cuts.update(float(b) for b in breakpoints if low < b < high and math.isfinite(b))
    return np.array(sorted(cuts))


def _gauss_legendre(g: Callable[[np.ndarray], np.ndarray], a: np.ndarray, b: np.ndarray, m: int) -> np.ndarray:
    """∫_a^b g for each interval (vectorised): returns (m, len(a))."""
    half = (b - a) / 2
    centre = (a + b) / 2
    x = (centre[:, None] + half[:, None] * _NODES[None, :]).ravel()
    values = np.asarray(g(x), dtype=np.float64).reshape(m, len(a), len(_NODES))
    return (values * _WEIGHTS[None, None, :]).sum(axis=-1) * half[None, :]


def _integrate(g: Callable[[np.ndarray], np.ndarray], cuts: np.ndarray, m: int, rtol: float, atol: float) -> np.ndarray:
    """Adaptive vectorised Gauss–Legendre over consecutive intervals of ``cuts``."""
    a, b = cuts[:-1].copy(), cuts[1:].copy()
    estimate = _gauss_legendre(g, a, b, m)
    total = np.zeros(m)
    for _ in range(_MAX_LEVELS):
        mid = (a + b) / 2
        left = _gauss_legendre(g, a, mid, m)
        right = _gauss_legendre(g, mid, b, m)
        refined = left + right
        error = np.abs(refined - estimate).max(axis=0)
        done = error <= np.maximum(atol, rtol * np.abs(refined).max(axis=0))
        done |= (b - a) < 1e-12
        total += refined[:, done].sum(axis=1)
        keep = ~done
        if not keep.any():
            return total
        a, mid_k, b = a[keep], mid[keep], b[keep]
        a, b = np.concatenate([a, mid_k]), np.concatenate([mid_k, b])
        estimate = np.concatenate([left[:, keep], right[:, keep]], axis=1)
    return total + estimate.sum(axis=1)


def expectation(
    g: Callable[[np.ndarray], np.ndarray],
    mean: float = 0.0,
    std: float = 1.0,
    breakpoints: Iterable[float] = (),
    *,
    rtol: float = 1e-12,
    atol: float = 1e-14,
) -> np.ndarray | float:
    """E[g(X)] for X ~ N(mean, std²).

    ``g`` takes a 1-D float64 array and returns an array of the same length (a
    float comes back) or of shape ``(m, n)`` (an array of m expectations comes
    back).  Put every kink or jump of ``g`` in ``breakpoints``.

    >>> round(float(expectation(lambda x: x * x)), 12)
    1.0
    """
    if not (std > 0 and math.isfinite(std) and math.isfinite(mean)):
        raise ActlabError(f"a normal distribution needs a finite mean and std > 0, got mean={mean}, std={std}")
    probe = np.asarray(g(np.array([mean])), dtype=np.float64)
    m = 1 if probe.ndim <= 1 else probe.shape[0]
    norm = 1.0 / (std * math.sqrt(2.0 * math.pi))

    def weighted(x: np.ndarray) -> np.ndarray:
        z = (x - mean) / std
        values = np.asarray(g(x), dtype=np.float64).reshape(m, -1)
        with np.errstate(invalid="ignore", over="ignore"):
            out = values * (norm * np.exp(-0.5 * z * z))[None, :]
        # 0·inf where the density underflows: the product is 0
        out[:, np.exp(-0.5 * z * z) == 0.0] = 0.0
        return out

    result = _integrate(weighted, _pieces(mean, std, breakpoints), m, rtol, atol)
    return float(result[0]) if probe.ndim <= 1 else result


def normal_probability(intervals: Iterable[tuple[float, float]], mean: float = 0.0, std: float = 1.0) -> float:
    """P[X in the union of disjoint ``intervals``] for X ~ N(mean, std²) (exact, via erfc)."""
    total = 0.0
    for low, high in intervals:
        total += _cdf((high - mean) / std) - _cdf((low - mean) / std)
    return total


def _cdf(z: float) -> float:
    if z == math.inf:
        return 1.0
    if z == -math.inf:
        return 0.0
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


@dataclass(frozen=True)
class GaussianMoments:
    """Moments of f(X) for X ~ N(mean, std²)."""

    mean: float  # E f(X)
    second_moment: float  # E f(X)²
    variance: float  # E f(X)² − (E f(X))²
    mean_derivative: float  # E f'(X)
    mean_squared_derivative: float  # E f'(X)² (the gradient's variance factor)


def moments(spec: Any, mean: float = 0.0, std: float = 1.0, *, breakpoints: Iterable[float] = (), **params: Any) -> GaussianMoments:
    """E f, E f², Var f, E f', E f'² for X ~ N(mean, std²), for an element-wise activation.

    ``spec`` is an :class:`~actlab.spec.ActivationSpec` (or a name for
    :func:`actlab.get`); ``params`` override its parameters.  Its kinks are added
    to ``breakpoints``.
    """
    from actlab.resolve import get

    spec = get(spec, **params)
    if spec.kind != "elementwise":
        raise ActlabError(f"{spec.name} is not element-wise (kind {spec.kind!r}): no scalar Gaussian moments")
    low, high = spec.domain
    if math.isfinite(low) or math.isfinite(high):
        raise ActlabError(f"{spec.name} is defined only on {spec.domain}: E f(X) over a normal X is undefined")
    values = spec.resolve()
    cuts = [*spec.kink_points(), *breakpoints]

    def stacked(x: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
        with torch.no_grad():
            f = spec.forward(t, **values).to(torch.float64).numpy()
            d = spec.derivative(t, **values).to(torch.float64).numpy()
        return np.stack([f, f * f, d, d * d])

    e_f, e_f2, e_d, e_d2 = expectation(stacked, mean, std, cuts)
    return GaussianMoments(
        mean=float(e_f),
        second_moment=float(e_f2),
        variance=float(e_f2 - e_f * e_f),
        mean_derivative=float(e_d),
        mean_squared_derivative=float(e_d2),
    )
