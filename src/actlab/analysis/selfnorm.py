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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from actlab import gaussian  # moves to actlab.analysis.gaussian in the layout restructure
from actlab.errors import ActlabError
from actlab.registry import get
from actlab.spec import ActivationSpec

__all__ = [
    "RTOL",
    "ATOL",
    "FIXED_POINT_TOL",
    "SOLVE_TOL",
    "MapValue",
    "FixedPoint",
    "Solution",
    "Basin",
    "activation_of",
    "layer_map",
    "map_with_jacobian",
    "fixed_point",
    "solve",
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


# ------------------------------------------------------------------ solving
@dataclass(frozen=True)
class Solution:
    """Parameter values that make (0, 1) a fixed point for (ω, τ)."""

    activation: str
    params: dict[str, float]  # all parameters, the solved ones included
    solved: dict[str, float]  # the solved ones
    equations: tuple[str, ...]  # "mean" (E f = 0) and/or "variance" (Var f = 1)
    residuals: dict[str, float]  # each equation's left side minus right side
    spec: ActivationSpec = field(repr=False, compare=False)


def _equations(spec: ActivationSpec, tau: float) -> tuple[float, float]:
    value = map_with_jacobian(_F(spec), 0.0, 1.0, 0.0, tau, jacobian=False)
    return value.mean, value.variance - 1.0


def solve(activation: Any, free: Sequence[str], omega: float = 0.0, tau: float = 1.0,
          params: Mapping[str, Any] | None = None, *, tolerance: float = SOLVE_TOL) -> Solution:
    """Values of the ``free`` parameters that make (0, 1) a fixed point of the map for (ω, τ).

    At (μ, ν) = (0, 1) the pre-activation is z ~ N(0, τ) whatever ω is, so the
    equations are E f(z) = 0 and Var f(z) = 1, one per free parameter.  When
    E f(z) is 0 for every parameter value (an odd f), only the variance equation
    counts, and one free parameter (a scale) is needed; otherwise two (e.g. a
    shift and a scale, or SELU's α and λ).  The other parameters keep their
    values (``params`` or the defaults), which also start the search.

    Raises :class:`ActlabError` when the system is under- or over-determined,
    or when no solution within the parameters' allowed ranges makes every
    equation hold to ``tolerance`` (default 1e-12).
    """
    from scipy.optimize import root

    spec = get(activation, **dict(params or {}))
    activation_of(spec)
    free = [name.strip() for name in free]
    if not free or any(not name for name in free):
        raise ActlabError("name the parameters to solve for, e.g. --solve alpha,lam")
    if len(set(free)) != len(free):
        raise ActlabError(f"a parameter is listed twice in {', '.join(free)}")
    declared = [spec.param(name) for name in free]  # unknown names raise with suggestions
    for p in declared:
        if p.integer:
            raise ActlabError(f"parameter {p.name!r} of {spec.name} is a whole number; it cannot be solved for")
    _pre_activation(0.0, 1.0, omega, tau)
    start = np.array([float(spec.resolve()[name]) for name in free])

    def bound(x: np.ndarray) -> ActivationSpec:
        return spec.with_params(**{name: float(v) for name, v in zip(free, x)})

    mean_free = _mean_is_identically_zero(spec, free, start, tau)
    equations = ("variance",) if mean_free else ("mean", "variance")
    if len(free) > len(equations):
        why = " (E f is 0 for every value of the parameters, so only Var f = 1 constrains them)" if mean_free else ""
        raise ActlabError(
            f"under-determined: {len(free)} free parameters ({', '.join(free)}) but {len(equations)} "
            f"equation{'s' if len(equations) > 1 else ''} ({' and '.join(_EQUATION_TEXT[e] for e in equations)})"
            f"{why}; solve for {len(equations)} of them and fix the others with --param"
        )
    if len(free) < len(equations):
        raise ActlabError(
            f"over-determined: 1 free parameter ({free[0]}) but 2 equations (E f = 0 and Var f = 1): "
            f"E f is not 0 for every value of {free[0]} ({spec.name} is not odd); add a second free parameter "
            "(a shift or a scale)"
        )

    def residual(x: np.ndarray) -> np.ndarray:
        try:
            candidate = bound(x)
            mean, variance = _equations(candidate, tau)
        except ActlabError:
            return np.full(len(free), 1e6)
        values = {"mean": mean, "variance": variance}
        out = np.array([values[e] for e in equations])
        return out if np.all(np.isfinite(out)) else np.full(len(free), 1e6)

    starts = [start] + [start * s for s in (0.5, 2.0, -1.0, 4.0, 0.25)] + [np.ones(len(free)), -np.ones(len(free))]
    tried: list[str] = []
    for guess in starts:
        try:
            result = root(residual, guess, method="hybr", options={"xtol": 1e-15})
        except (ValueError, ArithmeticError):
            continue
        x = _polish(residual, np.asarray(result.x, dtype=np.float64))
        r = residual(x)
        if not np.all(np.abs(r) <= tolerance):
            continue
        outside = [f"{p.name} = {v!r} outside {p.range_text()}" for p, v in zip(declared, x) if not _allowed(p, v)]
        if outside:
            tried.append(", ".join(outside))
            continue
        solved_spec = bound(x)
        mean, variance = _equations(solved_spec, tau)
        disagreement = _sampling_check(solved_spec, tau, mean, variance + 1.0)
        if disagreement:
            tried.append(f"{', '.join(f'{n} = {v:.6g}' for n, v in zip(free, x))} rejected: {disagreement}")
            continue
        values = {k: float(v) for k, v in solved_spec.resolve().items()}
        return Solution(solved_spec.name, values, {name: float(v) for name, v in zip(free, x)}, equations,
                        {"mean": mean, "variance": variance}, solved_spec)
    unique = list(dict.fromkeys(tried))
    more = f"; and {len(unique) - 2} more" if len(unique) > 2 else ""
    where = f" (candidates: {'; '.join(unique[:2])}{more})" if unique else ""
    raise ActlabError(
        f"no solution: no values of {', '.join(free)} in their allowed ranges make "
        f"{' and '.join(_EQUATION_TEXT[e] for e in equations)} hold to {tolerance:g} for {spec.name}"
        f" (z ~ N(0, {tau:g})){where}"
    )


def _sampling_check(spec: ActivationSpec, tau: float, mean: float, variance: float,
                    replicates: int = 8, points: int = 2 ** 15) -> str:
    """'' when randomised quasi-Monte Carlo agrees with the quadrature, else why not.

    Adaptive quadrature can miss a feature narrower than its nodes (tanh(a·x) with
    a ≈ 1e4 looks like sign(x) to it); sampling does not miss a feature that
    carries weight.  ``replicates`` independently scrambled Sobol sequences (fixed
    seeds) give an estimate and its standard error; they must agree with the
    quadrature within 10 standard errors (+1e-12).
    """
    f = _F(spec)
    firsts, seconds = [], []
    for k in range(replicates):
        engine = torch.quasirandom.SobolEngine(1, scramble=True, seed=12345 + k)
        u = engine.draw(points, dtype=torch.float64).clamp(1e-16, 1 - 1e-16).flatten()
        z = math.sqrt(tau) * math.sqrt(2.0) * torch.erfinv(2 * u - 1)
        y = f(z.numpy())
        if not np.all(np.isfinite(y)):
            return "f is not finite on some sampled points"
        firsts.append(float(y.mean()))
        seconds.append(float((y * y).mean()))
    m, second = float(np.mean(firsts)), float(np.mean(seconds))
    se_mean = float(np.std(firsts, ddof=1)) / math.sqrt(replicates)
    se_second = float(np.std(seconds, ddof=1)) / math.sqrt(replicates)
    if abs(m - mean) > 10 * se_mean + 1e-12 or abs(second - (variance + mean * mean)) > 10 * se_second + 1e-12:
        return (f"sampling gives E f = {m:.10g}, Var f = {second - m * m:.10g}, the quadrature {mean:.10g}, "
                f"{variance:.10g} (a feature of f narrower than the quadrature resolves)")
    return ""


_EQUATION_TEXT = {"mean": "E f(z) = 0", "variance": "Var f(z) = 1"}


def _allowed(p: Any, value: float) -> bool:
    try:
        p.check(float(value))
    except ActlabError:
        return False
    return True


def _polish(residual, x: np.ndarray, steps: int = 8) -> np.ndarray:
    """A few Newton steps with a central-difference Jacobian: residuals down to the integration's accuracy."""
    best, best_norm = x, float(np.max(np.abs(residual(x))))
    for _ in range(steps):
        r = residual(x)
        h = 1e-6 * np.maximum(1.0, np.abs(x))
        j = np.empty((len(r), len(x)))
        for i in range(len(x)):
            e = np.zeros_like(x)
            e[i] = h[i]
            j[:, i] = (residual(x + e) - residual(x - e)) / (2 * h[i])
        try:
            x = x - np.linalg.solve(j, r)
        except np.linalg.LinAlgError:
            break
        norm = float(np.max(np.abs(residual(x))))
        if not math.isfinite(norm):
            break
        if norm < best_norm:
            best, best_norm = x, norm
        if norm < 1e-15:
            break
    return best


def _mean_is_identically_zero(spec: ActivationSpec, free: Sequence[str], start: np.ndarray, tau: float) -> bool:
    """E f(z) = 0 at the start and at a few other parameter values (an odd f)."""
    for factor, offset in ((1.0, 0.0), (1.37, 0.21), (0.61, -0.13)):
        x = start * factor + offset
        try:
            candidate = spec.with_params(**{n: float(v) for n, v in zip(free, x)})
            value = map_with_jacobian(_F(candidate), 0.0, 1.0, 0.0, tau, jacobian=False)
        except ActlabError:
            continue
        if abs(value.mean) > 1e-13 * (1.0 + math.sqrt(abs(value.variance))):
            return False
    return True


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
