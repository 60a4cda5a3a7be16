"""Computing one activation's :class:`Properties` from its scalar f and f' on the grid."""
from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from actlab.analysis.cost import _fmt
from actlab.analysis.fields import (
    BAND_END,
    JUMP_TOLERANCE,
    PROPERTY_SECONDS,
    SECOND_JUMP_TOLERANCE,
    SECTION_SHARES,
    SELF_NORMALIZING_TOLERANCE,
    Array,
    Properties,
)
from actlab.analysis.gaussian import expectation
from actlab.analysis.numerics import (
    _argmax,
    _clean,
    _end_sequences,
    _extrapolate,
    _grid,
    _jumps,
    _limit,
    _one,
    _refine_extremum,
    _run_reaches_core,
    _saturation,
    _snap,
    _sparsity,
)
from actlab.analysis.scalar import PropertyDeadline, _scalar, clock, deadline
from actlab.formula.scan import ScanDeadline, scan_deadline
from actlab.spec import ActivationSpec

NOTED_JUMPS = 8  # undeclared jumps named one by one in the notes; more are summed up in one note

_SECTION_FIELDS = {
    "range": ("range_min", "range_max", "monotonic"),
    "continuity": ("continuous", "differentiable", "kinks"),
    "smooth": ("smooth",),
    "origin": ("zero_at_origin", "identity_near_origin"),
    "derivative": ("derivative_min", "derivative_max", "bounded_derivative", "exploding_risk", "vanishing_risk",
                   "argmax_derivative"),
    "saturation": ("saturation_low", "saturation_high", "dead_region"),
    "gaussian": ("sparsity", "gaussian_mean", "gaussian_second_moment", "gaussian_variance",
                 "gaussian_mean_derivative", "self_normalizing"),
}


class _Budget:
    """Runs each group of fields within its share of the budget; a late group is left out, with a note."""

    def __init__(self, seconds: float, out: dict[str, Any], notes: list[str]) -> None:
        self.seconds, self.out, self.notes = seconds, out, notes

    def share(self, section: str) -> float:
        return SECTION_SHARES[section] * self.seconds

    @contextlib.contextmanager
    def section(self, section: str) -> Iterator[None]:
        seconds = self.share(section)
        try:
            with deadline(clock() + seconds):
                yield
        except PropertyDeadline:
            fields = _SECTION_FIELDS[section]
            for name in fields:
                self.out.pop(name, None)
            self.notes.append(f"could not determine {', '.join(fields)} within the budget ({seconds:.2g} s of "
                              "CPU time)")


def _compute(spec: ActivationSpec, values: dict[str, Any], seconds: float = PROPERTY_SECONDS) -> Properties:
    try:
        scalar, notes = _scalar(spec, values)
    except (RuntimeError, ValueError, ArithmeticError, TypeError) as error:
        return Properties(name=spec.name, notes=(f"could not evaluate f: {error}",))
    out: dict[str, Any] = {}
    budget = _Budget(seconds, out, notes)
    declared = _declared_kinks(spec, budget)
    domain = spec.domain
    whole_line = math.isinf(domain[0]) and math.isinf(domain[1])
    if not whole_line:
        notes.append(f"domain ({_fmt(domain[0])}, {_fmt(domain[1])}): f is undefined outside it; Gaussian moments are undefined")
    x, half = _grid(declared, domain)
    try:
        with deadline(clock() + budget.share("grid")), np.errstate(all="ignore"):
            fx = scalar.f(x)
            dx = scalar.df(x)
    except PropertyDeadline:
        return Properties(name=spec.name, notes=(*notes, f"could not evaluate f and f' on the grid within the budget "
                                                         f"({budget.share('grid'):.2g} s of CPU time)"))
    except (RuntimeError, ValueError, ArithmeticError, TypeError) as error:
        return Properties(name=spec.name, notes=(*notes, f"could not evaluate f on a grid: {error}"))
    core = np.abs(x) <= half
    bad_core = core & (~np.isfinite(fx) | np.isnan(dx))
    if bad_core.any():
        where = x[bad_core]
        notes.append(
            f"f or f' is not finite at {bad_core.sum()} grid point(s) in [{_fmt(-half)}, {_fmt(half)}], e.g. x = {_fmt(where[0])}"
        )
    grid = _Grid(x, half, core, fx, dx, declared, domain, whole_line)
    with budget.section("range"):
        _range(scalar, grid, out)
    state: dict[str, Any] = {"breaks": [], "nonfinite_f": bool((core & ~np.isfinite(fx)).any()), "differentiable": False}
    with budget.section("continuity"):
        _continuity(spec, scalar, grid, out, notes, state)
    with budget.section("smooth"):
        _smooth(scalar, grid, out, notes, state)
    with budget.section("origin"):
        _origin(scalar, grid, out, notes, state)
    with budget.section("derivative"):
        _derivative(scalar, grid, out, state)
    with budget.section("saturation"):
        _saturation_and_dead(scalar, grid, out, notes, state)
    with budget.section("gaussian"):
        _gaussian(scalar, grid, out, notes, state)
    if spec.kind == "gated":
        from actlab.analysis.two_input import two_input_fields

        two_input_fields(out, notes)
    return Properties(name=spec.name, notes=tuple(notes), **out)


def _declared_kinks(spec: ActivationSpec, budget: _Budget) -> tuple[float, ...]:
    if spec.kind != "elementwise":
        return ()
    seconds = budget.share("kinks")
    try:
        with scan_deadline(time.monotonic() + max(seconds, 1.0)):
            return tuple(sorted(spec.kink_points()))
    except ScanDeadline:
        budget.notes.append(f"the kink search did not finish within {max(seconds, 1.0):.2g} s: kinks are those found "
                            "on the grid only")
        return ()


@dataclass
class _Grid:
    x: Array
    half: float
    core: Array
    fx: Array
    dx: Array
    declared: tuple[float, ...]
    domain: tuple[float, float]
    whole_line: bool

    @property
    def sides(self) -> Array:
        sides = np.array([k + s * max(1e-12, 1e-15 * abs(k)) for k in self.declared for s in (-1.0, 1.0)])
        return sides[(sides > self.domain[0]) & (sides < self.domain[1])]


def _range(scalar, grid: _Grid, out: dict[str, Any]) -> None:
    x, fx, dx, domain = grid.x, grid.fx, grid.dx, grid.domain
    left_seq, right_seq = _end_sequences(domain)
    sides = grid.sides
    with np.errstate(all="ignore"):
        side_f = scalar.f(sides)
        end_values = [scalar.f(left_seq), scalar.f(right_seq)]
        limits = [_limit(v) for v in end_values]
        extrapolated = [e for e in (_extrapolate(v) for v in end_values) if e is not None]
    finite = np.isfinite(fx)
    if finite.any():
        xf, vf = x[finite], fx[finite]
        i_max, i_min = int(np.argmax(vf)), int(np.argmin(vf))
        top = max([_refine_extremum(scalar.f, xf, i_max, 1.0, float(vf[i_max])), *side_f[np.isfinite(side_f)], *extrapolated])
        bottom = min([-_refine_extremum(scalar.f, xf, i_min, -1.0, -float(vf[i_min])), *side_f[np.isfinite(side_f)], *extrapolated])
        out["range_max"] = math.inf if math.inf in limits or np.isposinf(fx).any() else _clean(top)
        out["range_min"] = -math.inf if -math.inf in limits or np.isneginf(fx).any() else _clean(bottom)
        with np.errstate(all="ignore"):
            steps = np.diff(vf)
        tol = 1e-12 * (np.abs(vf[:-1]) / 2 + np.abs(vf[1:]) / 2) + 1e-300
        dfin = dx[finite][np.isfinite(dx[finite])]
        up = bool(np.all(steps >= -tol) and np.all(dfin >= -1e-12 * (1 + np.abs(dfin))))
        down = bool(np.all(steps <= tol) and np.all(dfin <= 1e-12 * (1 + np.abs(dfin))))
        out["monotonic"] = up or down


def _continuity(spec: ActivationSpec, scalar, grid: _Grid, out: dict[str, Any], notes: list[str],
                state: dict[str, Any]) -> None:
    x, fx, dx, domain, core, declared = grid.x, grid.fx, grid.dx, grid.domain, grid.core, grid.declared
    # the geometric tails (and the approach to a finite domain end) are too coarse to tell oscillation from jumps
    dense = (np.abs(x) <= BAND_END) & (x > domain[0] + 1e-3) & (x < domain[1] - 1e-3)
    state["dense"] = dense
    f_jumps = _jumps(scalar.f, x[dense], fx[dense], JUMP_TOLERANCE)
    d_jumps = _jumps(scalar.df, x[dense], dx[dense], JUMP_TOLERANCE)
    for k in declared:  # a kink the grid cannot resolve (xIELU's corners 1e-6 apart): probe both sides of it
        if domain[0] < k < domain[1] and not any(abs(k - b) <= 1e-7 for b in (*f_jumps, *d_jumps)):
            sides = np.array([k - 1e-9 * max(1.0, abs(k)), k + 1e-9 * max(1.0, abs(k))])
            for values, found in ((scalar.f(sides), f_jumps), (scalar.df(sides), d_jumps)):
                if np.isfinite(values).all() and abs(values[1] - values[0]) > JUMP_TOLERANCE * (1 + np.abs(values).max()):
                    found.append(float(k))
    nonfinite_f = state["nonfinite_f"]
    nonfinite_d = bool((core & ~np.isfinite(dx)).any())
    continuous = not f_jumps and not nonfinite_f
    differentiable = continuous and not d_jumps and not nonfinite_d
    breaks = sorted({_snap(p, declared) for p in (*f_jumps, *d_jumps)})
    out["continuous"] = continuous
    out["differentiable"] = differentiable
    out["kinks"] = tuple(breaks)
    state["breaks"], state["differentiable"] = breaks, differentiable
    for k in declared:
        if not any(abs(k - b) <= 1e-7 for b in breaks):
            notes.append(f"declared kink at x = {_fmt(k)}, but f and f' are continuous there")
    undeclared = [b for b in breaks if spec.kind == "elementwise" and not any(abs(k - b) <= 1e-7 for k in declared)]
    if len(undeclared) > NOTED_JUMPS:  # a fast oscillation (sin(1e16*x)) jumps between every pair of grid points
        shown = ", ".join(_fmt(b) for b in undeclared[:NOTED_JUMPS])
        notes.append(f"f or f' jumps at {len(undeclared)} points the spec does not declare as kinks: x = {shown}, ...")
    else:
        for b in undeclared:
            notes.append(f"f or f' jumps at x = {_fmt(b)}, which the spec does not declare as a kink")


def _smooth(scalar, grid: _Grid, out: dict[str, Any], notes: list[str], state: dict[str, Any]) -> None:
    if "continuous" not in out:  # continuity was not determined
        return
    if not state["differentiable"]:
        out["smooth"] = False
        return
    try:
        inner = grid.x[grid.core & state["dense"]]
        d2 = scalar.d2f(inner)
    except RuntimeError as error:  # a derivative autograd cannot differentiate
        notes.append(f"second derivative unavailable ({error}); smooth not computed")
        out["smooth"] = None
        return
    finite2 = np.isfinite(d2)
    second = _jumps(scalar.d2f, inner[finite2], d2[finite2], SECOND_JUMP_TOLERANCE)
    out["smooth"] = bool(finite2.all() and not second)
    if second:
        notes.append("f'' jumps at x = " + ", ".join(_fmt(_snap(p, grid.declared)) for p in second) + " (C¹ but not C²)")


def _origin(scalar, grid: _Grid, out: dict[str, Any], notes: list[str], state: dict[str, Any]) -> None:
    domain = grid.domain
    if domain[0] < 0.0 < domain[1]:
        f0, d0 = _one(scalar.f, 0.0), _one(scalar.df, 0.0)
        out["zero_at_origin"] = abs(f0) <= 1e-12
        out["identity_near_origin"] = (abs(f0) <= 1e-12 and abs(d0 - 1.0) <= 1e-9
                                       and not any(abs(b) <= 1e-9 for b in state["breaks"]))
    else:
        notes.append("0 is outside the domain: zero_at_origin and identity_near_origin are undefined")


def _derivative(scalar, grid: _Grid, out: dict[str, Any], state: dict[str, Any]) -> None:
    x, dx, declared = grid.x, grid.dx, grid.declared
    left_seq, right_seq = _end_sequences(grid.domain)
    sides = grid.sides
    with np.errstate(all="ignore"):
        side_d = scalar.df(sides)
        dlimits = [_limit(scalar.df(left_seq)), _limit(scalar.df(right_seq))]
    dfinite = np.isfinite(dx)
    if not dfinite.any():
        return
    xd, vd = x[dfinite], dx[dfinite]
    i_max, i_min = int(np.argmax(vd)), int(np.argmin(vd))
    side = side_d[np.isfinite(side_d)]
    dmax = math.inf if math.inf in dlimits or np.isposinf(dx).any() else max(_refine_extremum(scalar.df, xd, i_max, 1.0, float(vd[i_max])), *side, -math.inf)
    dmin = -math.inf if -math.inf in dlimits or np.isneginf(dx).any() else min(-_refine_extremum(scalar.df, xd, i_min, -1.0, -float(vd[i_min])), *side, math.inf)
    out["derivative_max"], out["derivative_min"] = _clean(dmax), _clean(dmin)
    bounded = math.isfinite(dmax) and math.isfinite(dmin)
    out["bounded_derivative"] = bounded
    out["exploding_risk"] = not bounded
    dmax, dmin = float(dmax), float(dmin)
    biggest = max(abs(dmax), abs(dmin))
    out["vanishing_risk"] = biggest < 1.0 - 1e-9
    state.update(xd=xd, vd=vd, bounded=bounded, biggest=biggest)
    if math.isfinite(dmax):
        where = _argmax(scalar.df, xd, vd, float(dmax), declared)
        if where is None and side.size and float(np.max(side)) >= dmax:
            # the sup is a one-sided limit at a kink (hard_swish's f'(3⁻) = 3/2)
            where = _snap(float(sides[np.isfinite(side_d)][np.argmax(side)]), declared)
        # a maximum's location is determined to about sqrt(machine epsilon)
        out["argmax_derivative"] = None if where is None else _clean(round(where, 6))


def _saturation_and_dead(scalar, grid: _Grid, out: dict[str, Any], notes: list[str], state: dict[str, Any]) -> None:
    if "xd" not in state:  # the derivative's extremes were not determined
        return
    xd, vd, biggest = state["xd"], state["vd"], state["biggest"]
    if state["bounded"] and biggest > 0:
        out["saturation_low"], out["saturation_high"] = _saturation(scalar.df, xd, vd, biggest, grid.declared)
    elif biggest == 0:
        notes.append("f' is 0 everywhere: no gradient flows (saturation undefined)")
    # dead region: exact zeros of f' on a half-line reaching the core
    zero = vd == 0.0
    core_d = np.abs(xd) <= grid.half
    cutoff = 1e-9 * max(1.0, biggest if math.isfinite(biggest) else 1.0)
    left_dead = _run_reaches_core(zero, core_d, xd, scalar.df, cutoff, from_left=True)
    right_dead = _run_reaches_core(zero, core_d, xd, scalar.df, cutoff, from_left=False)
    out["dead_region"] = left_dead or right_dead


def _gaussian(scalar, grid: _Grid, out: dict[str, Any], notes: list[str], state: dict[str, Any]) -> None:
    if grid.whole_line and not state["nonfinite_f"]:
        out["sparsity"] = _clean(_sparsity(scalar.f, grid.x, grid.fx, grid.half))
        cuts = [*grid.declared, *state["breaks"]]

        def stacked(t: Array) -> Array:
            with np.errstate(all="ignore"):
                fv, dv = scalar.f(t), scalar.df(t)
            return np.stack([fv, fv * fv, dv])

        with np.errstate(all="ignore"):
            e_f, e_f2, e_d = expectation(stacked, 0.0, 1.0, cuts)
        if all(math.isfinite(v) for v in (e_f, e_f2, e_d)):
            variance = e_f2 - e_f * e_f
            out["gaussian_mean"] = _clean(e_f)
            out["gaussian_second_moment"] = _clean(e_f2)
            out["gaussian_variance"] = _clean(variance)
            out["gaussian_mean_derivative"] = _clean(e_d)
            out["self_normalizing"] = bool(abs(e_f) <= SELF_NORMALIZING_TOLERANCE and abs(variance - 1) <= SELF_NORMALIZING_TOLERANCE)
        else:
            notes.append("E f(Z) or E f(Z)² is not finite for Z ~ N(0, 1)")
    elif grid.whole_line:
        notes.append("f is not finite everywhere: sparsity and Gaussian moments are undefined")
