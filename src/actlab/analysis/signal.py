"""Mean-field signal propagation at initialisation, for any element-wise activation.

A wide random net (Poole et al. 2016; Schoenholz et al. 2017) has weights
W_ij ~ N(0, σ_w²/N) and biases b_i ~ N(0, σ_b²).  Over the random weights each
pre-activation of layer l is normal with variance q^l, and two inputs' pre-activations
have correlation c^l:

* the **length map**  q^l = σ_w² E[φ(√q^{l−1} z)²] + σ_b²  (z ~ N(0, 1)), fixed point q*;
* the **correlation map**  c^l = (σ_w² E[φ(u₁)φ(u₂)] + σ_b²) / q^l, with
  u₁ = √q^{l−1} z₁, u₂ = √q^{l−1} (c z₁ + √(1 − c²) z₂), fixed point c* (at q*);
* its slope at c = 1,  χ₁ = σ_w² E[φ′(√q* z)²]: χ₁ < 1 ordered (c* = 1, inputs merge),
  χ₁ > 1 chaotic (c* < 1, nearby inputs separate), χ₁ = 1 the **edge of chaos**;
* the depth scales  ξ_q⁻¹ = −log(χ₁ + σ_w² E[φ″(√q* z) φ(√q* z)])  (the length map's slope at q*) and
  ξ_c⁻¹ = −log(σ_w² E[φ′(u₁)φ′(u₂)]) at c* (= −log χ₁ in the ordered phase), Schoenholz et al. eqs. 5, 9.

The edge of chaos, parameterised by q*:  σ_w² = 1 / E[φ′(√q* z)²] and
σ_b² = q* − E[φ(√q* z)²] / E[φ′(√q* z)²] — the **critical line**; :mod:`actlab.analysis.signal_critical`
holds it, the critical σ_w² for a given σ_b², and one point's summary (:func:`signal_point`).

The derivative of E[φ(√q z)²] in q is E[φ(x)²(x² − q)]/(2q²) for x ~ N(0, q) (Gaussian
integration by parts), equal to the paper's E[φ′² + φφ″] without needing φ″, so kinks cost nothing.
One-dimensional expectations use :func:`actlab.analysis.gaussian.expectation` (adaptive
Gauss–Legendre, cut at the kinks); the two-dimensional ones integrate u₁ the same way and
u₂ | u₁ ~ N(c u₁, q(1 − c²)) by piecewise Gauss–Legendre cut at the kinks and ±2, 4, 8, 40 σ.

:mod:`actlab.analysis.signal_random` holds the random-net mean/variance map (the incoming mean
counted), the counterpart of the self-normalisation analysis' ω-map.

>>> round(fixed_length("tanh", 1.5), 5)
0.28689
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from actlab.analysis import gaussian
from actlab.errors import ActlabError
from actlab.resolve import get
from actlab.spec import ActivationSpec

__all__ = [
    "Phi",
    "check_variances",
    "phi_of",
    "second_moments",
    "length_map",
    "length_slope",
    "length_trajectory",
    "fixed_length",
    "length_fixed_points",
    "chi1",
    "pair_expectation",
    "correlation_map",
    "fixed_correlation",
    "chi_c",
    "predicted_lengths",
]

RTOL, ATOL = 1e-13, 1e-17  # atol on integrands scaled to order 1
MAX_Q = 1e12  # a length beyond this: the length map runs away (no fixed point)
ZERO_Q = 1e-13  # a length below this: the fixed point q* = 0
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(20)
_INNER_CUTS = np.array([-40.0, -8.0, -4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0, 8.0, 40.0])


class Phi:
    """φ and φ′ of an element-wise spec as float64 numpy functions, with the kinks (integration breakpoints)."""

    def __init__(self, spec: ActivationSpec):
        self.spec = spec
        self.name = spec.name
        self.values = spec.resolve()
        self.kinks = tuple(float(k) for k in spec.kink_points())

    def _apply(self, method: Any, x: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
        with torch.no_grad():
            return method(t, **self.values).to(torch.float64).numpy()

    def f(self, x: np.ndarray) -> np.ndarray:
        return self._apply(self.spec.forward, x)

    def df(self, x: np.ndarray) -> np.ndarray:
        return self._apply(self.spec.derivative, x)

    def at_zero(self) -> tuple[float, float]:
        """(φ(0), lim_{q→0} E φ′(√q z)²): the mean of the two one-sided φ′(0)² (a kink at 0 counts both sides)."""
        sides = self.df(np.array([-1e-300, 1e-300]))
        return float(self.f(np.zeros(1))[0]), float(0.5 * (sides[0] ** 2 + sides[1] ** 2))


def phi_of(activation: Any, params: Mapping[str, Any] | None = None) -> Phi:
    """The :class:`Phi` of a name, alias, formula or spec (``params`` bound), checked for this analysis."""
    if isinstance(activation, Phi):
        return activation
    spec = get(activation, **dict(params or {}))
    if spec.kind != "elementwise":
        raise ActlabError(f"{spec.name} is not element-wise (kind {spec.kind!r}): mean-field signal propagation "
                          "needs f applied to each unit on its own")
    low, high = spec.domain
    if math.isfinite(low) or math.isfinite(high):
        raise ActlabError(f"{spec.name} is defined only on ({low:g}, {high:g}): E f(z) over a normal z is undefined")
    return Phi(spec)


def check_variances(weight_variance: float, bias_variance: float) -> None:
    for label, value in (("weight variance σ_w²", weight_variance), ("bias variance σ_b²", bias_variance)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ActlabError(f"the {label} must be a finite number >= 0, got {value!r}")
    if weight_variance == 0:
        raise ActlabError("the weight variance σ_w² must be > 0")


# ------------------------------------------------------------------ one-dimensional
def second_moments(phi: Phi, q: float) -> tuple[float, float, float]:
    """(E φ(x)², E φ′(x)², d/dq E φ(x)²) for x ~ N(0, q); at q = 0 the limits φ(0)², φ′(0)², φ′(0)²."""
    if q <= 0:
        f0, d2 = phi.at_zero()
        return f0 * f0, d2, d2 + (math.nan if f0 != 0 else 0.0)

    def integrand(x: np.ndarray) -> np.ndarray:  # each scaled to order 1 for a linear φ, so one atol fits all
        f, d = phi.f(x), phi.df(x)
        f2 = f * f / q
        out = np.stack([f2, d * d, f2 * (x * x - q) / (2 * q)])
        if not np.all(np.isfinite(out)):  # φ overflows (exp at a large q): stop, do not subdivide forever
            raise ActlabError(f"f(x)² or f′(x)² overflows for {phi.name} at x ~ N(0, {q:g})")
        return out

    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported by the check above
        e = gaussian.expectation(integrand, 0.0, math.sqrt(q), phi.kinks, rtol=RTOL, atol=ATOL)
    if not np.all(np.isfinite(e)):
        raise ActlabError(f"E f(x)² or E f′(x)² is not finite for {phi.name} at x ~ N(0, {q:g})")
    return float(e[0]) * q, float(e[1]), float(e[2])


def length_map(activation: Any, q: float, weight_variance: float, bias_variance: float = 0.0) -> float:
    """q ↦ σ_w² E[φ(√q z)²] + σ_b²."""
    phi = phi_of(activation)
    return weight_variance * second_moments(phi, q)[0] + bias_variance


def length_slope(activation: Any, q: float, weight_variance: float) -> float:
    """dq^l/dq^{l−1} at q: χ₁ + σ_w² E[φ″φ] (Schoenholz et al. eq. 5's argument)."""
    return weight_variance * second_moments(phi_of(activation), q)[2]


def length_trajectory(activation: Any, q0: float, weight_variance: float, bias_variance: float = 0.0,
                      layers: int = 10) -> list[float]:
    """[q¹, …, q^layers] from the input's q⁰ (its mean squared value)."""
    phi = phi_of(activation)
    out, q = [], float(q0)
    for _ in range(layers):
        q = weight_variance * second_moments(phi, q)[0] + bias_variance
        out.append(q)
    return out


def fixed_length(activation: Any, weight_variance: float, bias_variance: float = 0.0, q0: float = 1.0) -> float | None:
    """The fixed point q* the length map reaches from ``q0`` (0.0 when it decays to 0; None when it runs away).

    The map is increasing in q, so iterating moves monotonically to the nearest attracting root of
    L(q) − q; that root is bracketed by doubling (or halving) from ``q0`` and polished by Brent's method.
    """
    from scipy.optimize import brentq

    phi = phi_of(activation)
    check_variances(weight_variance, bias_variance)

    def h(q: float) -> float:
        return weight_variance * second_moments(phi, q)[0] + bias_variance - q

    q = float(q0)
    value = h(q)
    if abs(value) <= 1e-14 * max(q, 1.0):
        return q  # every q is a fixed point (ReLU at σ_w² = 2, σ_b² = 0): the input's own length stays
    step = 2.0 if value > 0 else 0.5
    previous = q
    while True:
        q = previous * step
        if q > MAX_Q:
            return None
        if q < ZERO_Q:
            return 0.0
        try:
            now = h(q)
        except ActlabError:
            if step > 1:
                return None  # φ² overflows on the way up: the length runs away
            raise
        if (now > 0) != (value > 0) or now == 0:
            break
        previous = q
    low, high = sorted((previous, q))
    return float(brentq(h, low, high, xtol=1e-15, rtol=1e-15, maxiter=200))


def length_fixed_points(activation: Any, weight_variance: float, bias_variance: float = 0.0) -> list[tuple[float, float]]:
    """Every fixed point q* of the length map in [0, 1e6] as (q*, slope there): slope < 1 attracts, > 1 repels.

    Roots of L(q) − q bracketed on a log grid of q and polished by Brent's method (q* = 0 when σ_b² = 0 and
    φ(0) = 0, its slope σ_w² lim E φ′²).
    """
    from scipy.optimize import brentq

    phi = phi_of(activation)
    check_variances(weight_variance, bias_variance)
    out: list[tuple[float, float]] = []
    f0, d2 = phi.at_zero()
    if bias_variance == 0 and f0 == 0:
        out.append((0.0, weight_variance * d2))

    def h(q: float) -> float:
        return weight_variance * second_moments(phi, q)[0] + bias_variance - q

    qs = np.geomspace(1e-6, 1e6, 97)
    values = [h(float(q)) for q in qs]
    for i in range(len(qs) - 1):
        if values[i] == 0 or (values[i] > 0) != (values[i + 1] > 0):
            q = float(qs[i]) if values[i] == 0 else float(brentq(h, qs[i], qs[i + 1], xtol=1e-15, rtol=1e-15))
            out.append((q, weight_variance * second_moments(phi, q)[2]))
    return out


def chi1(activation: Any, q: float, weight_variance: float) -> float:
    """χ₁ = σ_w² E[φ′(√q z)²], the correlation map's slope at c = 1."""
    return weight_variance * second_moments(phi_of(activation), q)[1]


# ------------------------------------------------------------------ two-dimensional
def pair_expectation(g: Any, phi: Phi, q: float, c: float, *, atol: float = 1e-15) -> np.ndarray | float:
    """E[g(u₁, u₂)] for (u₁, u₂) ~ N(0, q [[1, c], [c, 1]]); ``g(u1, u2)`` returns an array (or an (m, n) stack).

    u₁ by adaptive quadrature; u₂ | u₁ ~ N(c u₁, q(1 − c²)) by 20-point Gauss–Legendre on pieces cut at
    ±1, 2, 4, 8, 40 conditional σ and at φ's kinks.  c = ±1: the one-dimensional E[g(u, ±u)].  ``atol``:
    the absolute tolerance, to scale with g's size.
    """
    if not (-1.0 <= c <= 1.0):
        raise ActlabError(f"a correlation must lie in [-1, 1], got {c!r}")
    std = math.sqrt(q)
    if abs(c) >= 1.0 - 1e-14:
        sign = 1.0 if c > 0 else -1.0
        return gaussian.expectation(lambda u: g(u, sign * u), 0.0, std, phi.kinks, rtol=1e-12, atol=atol)
    s = std * math.sqrt(1.0 - c * c)
    kinks = np.array(phi.kinks, dtype=np.float64)

    def outer(u1: np.ndarray) -> np.ndarray:
        centre = c * u1  # (n,)
        cuts = centre[:, None] + s * _INNER_CUTS[None, :]
        if len(kinks):
            inside = np.clip(kinks[None, :], cuts[:, :1], cuts[:, -1:])
            cuts = np.sort(np.concatenate([cuts, inside], axis=1), axis=1)
        a, b = cuts[:, :-1], cuts[:, 1:]
        half, mid = (b - a) / 2, (a + b) / 2
        u2 = mid[:, :, None] + half[:, :, None] * _GL_NODES[None, None, :]  # (n, pieces, nodes)
        weight = half[:, :, None] * _GL_WEIGHTS[None, None, :] * np.exp(
            -0.5 * ((u2 - centre[:, None, None]) / s) ** 2) / (s * math.sqrt(2 * math.pi))
        values = np.asarray(g(np.broadcast_to(u1[:, None, None], u2.shape).ravel(), u2.ravel()), dtype=np.float64)
        m = 1 if values.ndim == 1 else values.shape[0]
        values = values.reshape(m, *u2.shape)
        return (values * weight[None]).sum(axis=(2, 3)) if m > 1 else (values[0] * weight).sum(axis=(1, 2))

    return gaussian.expectation(outer, 0.0, std, phi.kinks, rtol=1e-11, atol=atol)


def correlation_map(activation: Any, c: float, q: float, weight_variance: float, bias_variance: float = 0.0) -> float:
    """c ↦ (σ_w² E[φ(u₁)φ(u₂)] + σ_b²) / q′ for two inputs of length q, q′ = σ_w² E[φ(√q z)²] + σ_b² their next
    length (on the fixed point q′ = q = q*)."""
    phi = phi_of(activation)
    if q <= 0:
        return 1.0
    e = float(pair_expectation(lambda a, b: phi.f(a) * phi.f(b), phi, q, c, atol=1e-15 * q))
    return (weight_variance * e + bias_variance) / (weight_variance * second_moments(phi, q)[0] + bias_variance)


def chi_c(phi: Phi, c: float, q: float, weight_variance: float) -> float:
    if q <= 0:
        return weight_variance * phi.at_zero()[1]
    return weight_variance * float(pair_expectation(lambda a, b: phi.df(a) * phi.df(b), phi, q, c))


def fixed_correlation(activation: Any, q: float, weight_variance: float, bias_variance: float = 0.0) -> float:
    """The attracting fixed point c* of the correlation map at length q (= q*): 1 in the ordered phase."""
    from scipy.optimize import brentq

    phi = phi_of(activation)
    if q <= 0 or chi1(phi, q, weight_variance) <= 1.0:
        return 1.0

    def h(c: float) -> float:
        return correlation_map(phi, c, q, weight_variance, bias_variance) - c

    # chaotic: c = 1 repels; the map lies below the diagonal just under 1 and above it at the lowest c ≥ -1 it maps to
    high = 1.0 - 1e-6
    if h(high) >= 0:
        return 1.0
    low = 0.0
    while h(low) < 0:
        low -= 0.25
        if low < -1.0:
            return -1.0
    return float(brentq(h, low, high, xtol=1e-13, maxiter=200))


def predicted_lengths(activation: Any, first_lengths: Any, weight_variances: Any, bias_variances: Any) -> list[float]:
    """The mean-field q^l of a real net's hidden layers, averaged over its inputs.

    ``first_lengths``: q¹ of each input (σ_w¹² times its mean squared feature plus σ_b¹²; up to a few dozen
    representative values, e.g. quantiles); ``weight_variances`` / ``bias_variances``: each hidden layer's
    fan_in · E W² and E b² (measured from the drawn weights).  Layer l > 1 maps each input's length on
    with its own σ_w², σ_b² and the results are averaged: the prediction for the layer's mean squared
    pre-activation.
    """
    phi = phi_of(activation)
    lengths = np.asarray(first_lengths, dtype=np.float64).ravel()
    out = [float(lengths.mean())]
    for w, b in zip(list(weight_variances)[1:], list(bias_variances)[1:]):
        lengths = np.array([w * second_moments(phi, float(q))[0] + b for q in lengths])
        out.append(float(lengths.mean()))
    return out
