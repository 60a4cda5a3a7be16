"""The mean/variance map of a random net, the incoming mean counted.

The self-normalisation analysis (:mod:`actlab.analysis.selfnorm`) follows Klambauer et al.:
each unit's incoming weights sum to ω and their squares to τ, and SELU's constants come from
the map at **ω = 0** — weights that sum to zero.  A randomly initialised net's weights do not:
with W_ij ~ N(0, τ/N) a unit's ω is itself random, N(0, τ), so across the units of a layer the
pre-activation z_i = Σ_j W_ij x_j + b_i has mean 0 and variance

    q = τ (ν + μ²) + σ_b²        (μ, ν: the incoming activations' mean and variance),

the incoming mean adding τμ² (the ω-map instead centres z at μω with variance ντ).  Then

    (μ̃, ν̃) = (E φ(√q z), Var φ(√q z)).

This is the mean-field length map (:mod:`actlab.analysis.signal`) in the coordinates of the
SELU paper: q is τ times the incoming second moment plus σ_b².  For activations with E φ = 0 at
the fixed point (SELU, tanh) the two maps agree; for GELU they do not: at τ = 3 the random-net
map's fixed point is (μ, ν) = (0.0883, 0.0746) (q* = 0.247, repelling: nets above it grow, nets
below it decay), where the ω = 0 map's is (0.196, 0.209).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from actlab.analysis import gaussian
from actlab.analysis.signal import fixed_length, length_fixed_points, phi_of
from actlab.errors import ActlabError

__all__ = ["RandomNetPoint", "random_net_map", "random_net_trajectory", "random_net_fixed_point", "random_net_fixed_points",
           "OMEGA_ZERO_NOTE"]

OMEGA_ZERO_NOTE = ("the ω-map of Klambauer et al. (each unit's incoming weights sum to ω; SELU's constants use "
                   "ω = 0); a random net's weights do not sum to zero: the random-net map of actlab signal "
                   "(random_net_fixed_points) counts the incoming mean")


@dataclass(frozen=True)
class RandomNetPoint:
    """The activations' (mean, variance) of one layer and the pre-activation variance q feeding it."""

    mean: float
    variance: float
    q: float


def _moments(phi: Any, q: float) -> tuple[float, float]:
    if q <= 0:
        f0 = phi.at_zero()[0]
        return f0, 0.0
    def integrand(x: np.ndarray) -> np.ndarray:
        f = phi.f(x) / math.sqrt(q)  # order 1 for a linear φ, so one atol fits
        if not np.all(np.isfinite(f * f)):
            raise ActlabError(f"f(x)² overflows for {phi.name} at x ~ N(0, {q:g})")
        return np.stack([f, f * f])

    with np.errstate(over="ignore", invalid="ignore"):
        e = gaussian.expectation(integrand, 0.0, math.sqrt(q), phi.kinks, rtol=1e-13, atol=1e-17)
    e1, e2 = float(e[0]) * math.sqrt(q), float(e[1]) * q
    return e1, e2 - e1 * e1


def random_net_map(activation: Any, mean: float, variance: float, tau: float = 1.0,
                   bias_variance: float = 0.0) -> RandomNetPoint:
    """(μ, ν) ↦ (E φ(√q z), Var φ(√q z)) with q = τ(ν + μ²) + σ_b² (weights N(0, τ/N), biases N(0, σ_b²))."""
    for label, value in (("mean", mean), ("variance", variance), ("tau", tau), ("bias variance", bias_variance)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ActlabError(f"{label} must be a finite number, got {value!r}")
    if variance < 0 or tau <= 0 or bias_variance < 0:
        raise ActlabError(f"need variance >= 0, tau > 0, bias variance >= 0; got {variance!r}, {tau!r}, "
                          f"{bias_variance!r}")
    phi = phi_of(activation)
    q = tau * (variance + mean * mean) + bias_variance
    mu, nu = _moments(phi, q)
    return RandomNetPoint(mu, nu, q)


def random_net_trajectory(activation: Any, mean: float = 0.0, variance: float = 1.0, tau: float = 1.0,
                          bias_variance: float = 0.0, layers: int = 10) -> list[RandomNetPoint]:
    """The activations' (mean, variance) after each of ``layers`` random layers, from the input's (μ⁰, ν⁰)."""
    phi = phi_of(activation)
    out = []
    for _ in range(layers):
        point = random_net_map(phi, mean, variance, tau, bias_variance)
        out.append(point)
        mean, variance = point.mean, point.variance
    return out


def random_net_fixed_points(activation: Any, tau: float = 1.0, bias_variance: float = 0.0) -> list[dict[str, Any]]:
    """Every fixed point (μ*, ν*) of the random-net map: one per fixed point q* of the length map, with
    ``q``, ``slope`` (of the length map there) and ``attracting`` (slope < 1)."""
    phi = phi_of(activation)
    out = []
    for q, slope in length_fixed_points(phi, tau, bias_variance):
        mu, nu = _moments(phi, q)
        out.append({"mean": mu, "variance": nu, "q": q, "slope": slope, "attracting": bool(slope < 1.0)})
    return out


def random_net_fixed_point(activation: Any, tau: float = 1.0, bias_variance: float = 0.0,
                           start: tuple[float, float] = (0.0, 1.0)) -> RandomNetPoint | None:
    """Where a random net started at (μ⁰, ν⁰) = ``start`` settles: (μ*, ν*) at the fixed point q* the length
    map reaches (q* = 0: the collapse to φ(0)); None when q runs away."""
    phi = phi_of(activation)
    q0 = tau * (start[1] + start[0] ** 2) + bias_variance
    q = fixed_length(phi, tau, bias_variance, q0)
    if q is None:
        return None
    mu, nu = _moments(phi, q)
    return RandomNetPoint(mu, nu, q)
