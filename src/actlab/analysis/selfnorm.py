"""Self-normalisation: the mean/variance map of a layer, its fixed points, and solving for constants.

Klambauer et al. (2017) follow one layer of a wide network: the incoming
activations have mean μ and variance ν, the weights of a unit sum to
ω = Σ wᵢ with squares τ = Σ wᵢ², so the pre-activation is z ~ N(μω, ντ) and
the layer maps

    g(μ, ν) = (μ̃, ν̃) = (E f(z), Var f(z)).

An activation is self-normalising for (ω, τ) when g has a fixed point whose
Jacobian has largest singular value < 1 (an attracting fixed point); SELU's
α and λ were *derived* so that (0, 1) is one for ω = 0, τ = 1 (lecun_normal).

Every expectation is computed by :func:`actlab.gaussian.expectation` (adaptive
Gauss–Legendre, the real line cut at the mean, ±2/4/8 σ and at every kink of
f) with tight tolerances (rtol 1e-14).  The Jacobian needs no f′ or f″: for
X ~ N(m, v), ∂/∂m E h(X) = E[h(X)(X − m)]/v and ∂/∂v E h(X) =
E[h(X)((X − m)² − v)]/(2v²) (Gaussian integration by parts), so kinks and
jumps cost nothing.

>>> fp = fixed_point("selu")
>>> round(fp.mean, 12) + 0.0, round(fp.variance, 12)
(0.0, 1.0)
>>> fp.verdict
'attracting'
>>> sol = solve("lam*where(x > 0, x, alpha*(exp(x) - 1))", ["alpha", "lam"], params={"alpha": 1, "lam": 1})
>>> round(sol.params["alpha"], 9), round(sol.params["lam"], 9)
(1.673263242, 1.050700987)
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from actlab.analysis import gaussian
from actlab.errors import ActlabError
from actlab.resolve import get
from actlab.spec import ActivationSpec

__all__ = [
    "RTOL",
    "ATOL",
    "FIXED_POINT_TOL",
    "SOLVE_TOL",
    "MapValue",
    "FixedPoint",
    "Basin",
    "activation_of",
    "layer_map",
    "map_with_jacobian",
    "fixed_point",
    "basin",
    "vector_field",
    "alpha_dropout_constants",
]

RTOL = 1e-14  # relative tolerance of each Gaussian expectation
ATOL = 1e-16
FIXED_POINT_TOL = 1e-12  # |g(μ, ν) − (μ, ν)| at a reported fixed point
SOLVE_TOL = 1e-12  # |residual| of each solved equation
MIN_VARIANCE = 1e-6  # a "fixed point" with a smaller variance is the collapse to a constant, not reported


# ------------------------------------------------------------------ activation
def activation_of(activation: Any, params: Mapping[str, Any] | None = None) -> ActivationSpec:
    """The spec (name, alias, formula or spec) with ``params`` bound, checked for this analysis."""
    spec = get(activation, **dict(params or {}))
    if spec.kind != "elementwise":
        raise ActlabError(f"{spec.name} is not element-wise (kind {spec.kind!r}): the mean/variance map "
                          "needs f applied to each unit on its own")
    low, high = spec.domain
    if math.isfinite(low) or math.isfinite(high):
        raise ActlabError(f"{spec.name} is defined only on ({low:g}, {high:g}): E f(z) over a normal z is undefined")
    return spec


class _F:
    """f as a float64 numpy function, with its kinks (integration breakpoints)."""

    def __init__(self, spec: ActivationSpec):
        self.spec = spec
        self.values = spec.resolve()
        self.kinks = tuple(spec.kink_points())

    def __call__(self, x: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
        with torch.no_grad():
            y = self.spec.forward(t, **self.values)
        return y.to(torch.float64).numpy()


def _pre_activation(mean: float, variance: float, omega: float, tau: float) -> tuple[float, float]:
    for label, value in (("mean", mean), ("variance", variance), ("omega", omega), ("tau", tau)):
        if not math.isfinite(value):
            raise ActlabError(f"{label} must be a finite number, got {value!r}")
    if variance <= 0:
        raise ActlabError(f"the variance of the incoming activations must be > 0, got {variance!r}")
    if tau <= 0:
        raise ActlabError(f"tau (the sum of squared weights) must be > 0, got {tau!r}")
    return mean * omega, variance * tau


# ------------------------------------------------------------------ the map
@dataclass(frozen=True)
class MapValue:
    """g(μ, ν) and its Jacobian [[∂μ̃/∂μ, ∂μ̃/∂ν], [∂ν̃/∂μ, ∂ν̃/∂ν]]."""

    mean: float  # μ̃ = E f(z)
    variance: float  # ν̃ = Var f(z)
    jacobian: tuple[tuple[float, float], tuple[float, float]]


def map_with_jacobian(f: Any, mean: float = 0.0, variance: float = 1.0, omega: float = 0.0, tau: float = 1.0,
                      *, jacobian: bool = True, rtol: float = RTOL, atol: float = ATOL) -> MapValue:
    """(μ̃, ν̃) = (E f(z), Var f(z)) for z ~ N(μω, ντ), and the Jacobian of (μ, ν) ↦ (μ̃, ν̃)."""
    f = f if isinstance(f, _F) else _F(activation_of(f))
    m, v = _pre_activation(mean, variance, omega, tau)

    def integrand(x: np.ndarray) -> np.ndarray:
        y = f(x)
        y2 = y * y
        if not jacobian:
            return np.stack([y, y2])
        d = x - m
        s = d * d - v
        return np.stack([y, y2, y * d, y2 * d, y * s, y2 * s])

    e = gaussian.expectation(integrand, m, math.sqrt(v), f.kinks, rtol=rtol, atol=atol)
    if not np.all(np.isfinite(e)):
        raise ActlabError(f"E f(z) or E f(z)² is not finite for {f.spec.name} at z ~ N({m:g}, {v:g})")
    e1, e2 = float(e[0]), float(e[1])
    mu, nu = e1, e2 - e1 * e1
    if not jacobian:
        return MapValue(mu, nu, ((math.nan, math.nan), (math.nan, math.nan)))
    d1_dm, d2_dm = float(e[2]) / v, float(e[3]) / v
    d1_dv, d2_dv = float(e[4]) / (2 * v * v), float(e[5]) / (2 * v * v)
    # chain rule: m = μω, v = ντ
    j = ((omega * d1_dm, tau * d1_dv),
         (omega * (d2_dm - 2 * e1 * d1_dm), tau * (d2_dv - 2 * e1 * d1_dv)))
    return MapValue(mu, nu, j)


def layer_map(activation: Any, mean: float = 0.0, variance: float = 1.0, omega: float = 0.0, tau: float = 1.0,
              params: Mapping[str, Any] | None = None) -> tuple[float, float]:
    """(μ̃, ν̃) = (E f(z), Var f(z)) for z ~ N(μω, ντ)."""
    value = map_with_jacobian(_F(activation_of(activation, params)), mean, variance, omega, tau, jacobian=False)
    return value.mean, value.variance


# ------------------------------------------------------------------ fixed points
@dataclass(frozen=True)
class FixedPoint:
    """A fixed point (μ*, ν*) of the map for (ω, τ); ``found`` False when none with ν > 0 was found."""

    activation: str
    params: dict[str, float]
    omega: float
    tau: float
    found: bool
    mean: float | None
    variance: float | None
    jacobian: tuple[tuple[float, float], tuple[float, float]] | None
    max_singular_value: float | None
    verdict: str  # "attracting", "not attracting" or "no fixed point"
    residuals: dict[str, float]  # g(0, 1) − (0, 1): how far (0, 1) is from being a fixed point
    note: str = ""


def _singular_value(j) -> float:
    return float(np.linalg.svd(np.array(j, dtype=np.float64), compute_uv=False)[0])


def fixed_point(activation: Any, omega: float = 0.0, tau: float = 1.0, params: Mapping[str, Any] | None = None,
                *, start: tuple[float, float] = (0.0, 1.0), max_iterations: int = 200) -> FixedPoint:
    """The fixed point of (μ, ν) ↦ (μ̃, ν̃) nearest ``start``, its Jacobian and verdict.

    Iterates the map from ``start`` (an attracting fixed point is reached this
    way), then polishes with Newton's method (J − I from the exact Jacobian);
    if iterating runs away, Newton is tried from a few starting points.  The
    fixed point is reported only where |g(p) − p| ≤ 1e-12 and ν > 0.
    """
    spec = activation_of(activation, params)
    f = _F(spec)
    at_start = map_with_jacobian(f, 0.0, 1.0, omega, tau, jacobian=False)
    residuals = {"mean": at_start.mean - 0.0, "variance": at_start.variance - 1.0}
    candidates: list[tuple[float, float]] = []
    point = _iterate(f, start, omega, tau, max_iterations)
    if point is not None:
        candidates.append(point)
    candidates += [start, (0.0, 1.0), (0.0, 0.5), (0.0, 2.0), (0.5, 1.0), (-0.5, 1.0), (0.0, 5.0)]
    best = None
    for guess in candidates:
        found = _newton(f, guess, omega, tau)
        if found is None:
            continue
        distance = math.hypot(found[0] - start[0], found[1] - start[1])
        if best is None or distance < best[0] - 1e-9:
            best = (distance, found)
        if point is not None:
            break  # the iteration's own limit, polished
    values = {k: float(v) for k, v in f.values.items()}
    if best is None:
        return FixedPoint(spec.name, values, omega, tau, False, None, None, None, None, "no fixed point", residuals,
                          f"no fixed point with variance >= {MIN_VARIANCE:g} found: iterating the map from "
                          f"{start} runs away or collapses towards variance 0, and Newton's method from "
                          "several starting points found none")
    mu, nu = best[1]
    value = map_with_jacobian(f, mu, nu, omega, tau)
    sigma = _singular_value(value.jacobian)
    verdict = "attracting" if sigma < 1.0 else "not attracting"
    return FixedPoint(spec.name, values, omega, tau, True, mu, nu, value.jacobian, sigma, verdict, residuals)


def _iterate(f: _F, start: tuple[float, float], omega: float, tau: float, steps: int) -> tuple[float, float] | None:
    mu, nu = start
    for _ in range(steps):
        try:
            value = map_with_jacobian(f, mu, nu, omega, tau, jacobian=False, rtol=1e-12, atol=1e-15)
        except ActlabError:
            return None
        step = math.hypot(value.mean - mu, value.variance - nu)
        mu, nu = value.mean, value.variance
        if not (nu > 1e-12 and nu < 1e12 and math.isfinite(mu)):
            return None
        if step <= 1e-11 * (1.0 + abs(nu)):
            return (mu, nu) if nu >= MIN_VARIANCE else None
    return None


def _newton(f: _F, guess: tuple[float, float], omega: float, tau: float, steps: int = 60) -> tuple[float, float] | None:
    mu, nu = guess
    for _ in range(steps):
        try:
            value = map_with_jacobian(f, mu, nu, omega, tau)
        except ActlabError:
            return None
        r = np.array([value.mean - mu, value.variance - nu])
        if np.max(np.abs(r)) <= FIXED_POINT_TOL * 0.1:
            return (float(mu), float(nu)) if nu >= MIN_VARIANCE else None
        a = np.array(value.jacobian) - np.eye(2)
        try:
            delta = np.linalg.lstsq(a, -r, rcond=None)[0]
        except np.linalg.LinAlgError:
            return None
        scale = 1.0
        while nu + scale * delta[1] <= 0 and scale > 1e-6:
            scale /= 2
        mu, nu = mu + scale * delta[0], nu + scale * delta[1]
        if not (math.isfinite(mu) and math.isfinite(nu) and nu > 0):
            return None
    try:
        value = map_with_jacobian(f, mu, nu, omega, tau, jacobian=False)
    except ActlabError:
        return None
    if max(abs(value.mean - mu), abs(value.variance - nu)) <= FIXED_POINT_TOL and nu >= MIN_VARIANCE:
        return float(mu), float(nu)
    return None


# ------------------------------------------------------------------ basin and field
@dataclass(frozen=True)
class Basin:
    """Which starting points (μ, ν) on a grid iterate to the fixed point."""

    means: np.ndarray  # (n_mean,)
    variances: np.ndarray  # (n_variance,)
    converged: np.ndarray  # (n_variance, n_mean) bool
    iterations: np.ndarray  # (n_variance, n_mean) steps taken (max_iterations where not converged)
    fixed_point: tuple[float, float]

    @property
    def fraction(self) -> float:
        return float(self.converged.mean())


def basin(activation: Any, fixed: tuple[float, float], omega: float = 0.0, tau: float = 1.0,
          params: Mapping[str, Any] | None = None, *, mean_range: tuple[float, float] = (-1.0, 1.0),
          variance_range: tuple[float, float] = (0.05, 3.0), points: int = 15, max_iterations: int = 60,
          tolerance: float = 1e-4) -> Basin:
    """Iterate the map from each point of a ``points`` × ``points`` grid; converged within ``tolerance``."""
    f = _F(activation_of(activation, params))
    means = np.linspace(*mean_range, points)
    variances = np.linspace(*variance_range, points)
    converged = np.zeros((points, points), dtype=bool)
    iterations = np.full((points, points), max_iterations)
    cache: dict[tuple[float, float], tuple[bool, int]] = {}
    for i, nu0 in enumerate(variances):
        for j, mu0 in enumerate(means):
            key = (float(mu0) * (omega != 0), float(nu0))  # with ω = 0 the mean does not matter
            if key not in cache:
                cache[key] = _converges(f, (float(mu0), float(nu0)), fixed, omega, tau, max_iterations, tolerance)
            converged[i, j], iterations[i, j] = cache[key]
    return Basin(means, variances, converged, iterations, fixed)


def _converges(f: _F, start, fixed, omega, tau, steps, tolerance) -> tuple[bool, int]:
    mu, nu = start
    for k in range(steps + 1):
        if abs(mu - fixed[0]) <= tolerance and abs(nu - fixed[1]) <= tolerance * max(1.0, fixed[1]):
            return True, k
        if not (nu > 1e-12 and nu < 1e9 and math.isfinite(mu)):
            return False, steps
        try:
            value = map_with_jacobian(f, mu, nu, omega, tau, jacobian=False, rtol=1e-10, atol=1e-13)
        except ActlabError:
            return False, steps
        mu, nu = value.mean, value.variance
    return False, steps


def vector_field(activation: Any, omega: float = 0.0, tau: float = 1.0, params: Mapping[str, Any] | None = None,
                 *, mean_range: tuple[float, float] = (-1.0, 1.0), variance_range: tuple[float, float] = (0.05, 3.0),
                 points: int = 21) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(μ, ν, Δμ, Δν) on a grid: the arrows g(μ, ν) − (μ, ν) of the SELU paper's figure."""
    f = _F(activation_of(activation, params))
    mu, nu = np.meshgrid(np.linspace(*mean_range, points), np.linspace(*variance_range, points))
    d_mu, d_nu = np.empty_like(mu), np.empty_like(nu)
    for index in np.ndindex(mu.shape):
        value = map_with_jacobian(f, float(mu[index]), float(nu[index]), omega, tau, jacobian=False,
                                  rtol=1e-10, atol=1e-13)
        d_mu[index], d_nu[index] = value.mean - mu[index], value.variance - nu[index]
    return mu, nu, d_mu, d_nu


# ------------------------------------------------------------------ AlphaDropout
def alpha_dropout_constants(activation: Any, rate: float, mean: float = 0.0, variance: float = 1.0,
                            params: Mapping[str, Any] | None = None) -> dict[str, float]:
    """α′ (= lim f(x), x → −∞) and the affine (a, b) of AlphaDropout at the fixed point (``mean``, ``variance``)."""
    from actlab.nn.alpha_dropout import affine, alpha_prime

    prime = alpha_prime(activation_of(activation, params))
    a, b = affine(rate, prime, mean, variance)
    return {"alpha_prime": prime, "a": a, "b": b}
