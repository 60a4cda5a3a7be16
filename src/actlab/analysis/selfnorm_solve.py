"""Solving for self-normalising parameters: values of an activation's free parameters that make (0, 1)
a fixed point of the layer's mean/variance map (ω = 0, τ = 1 by default), to 1e-12.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from actlab.analysis.selfnorm import (
    _F,
    SOLVE_TOL,
    _pre_activation,
    activation_of,
    map_with_jacobian,
)
from actlab.errors import ActlabError
from actlab.resolve import get
from actlab.spec import ActivationSpec


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


