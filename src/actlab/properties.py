"""The computed property table: every entry is measured from the spec's forward and derivative.

``properties(spec_or_name, **params)`` evaluates f and f' (float64) on a grid —
a dense core [-L, L] (step ≈ 1e-3, L = 20 or wider to cover every declared
kink), a finer-than-period band out to ±1000 (step 0.01) and geometric tails out
to ±1e15 — then refines what it finds (bisection of jumps and zero-set edges,
bounded minimisation of extrema).  Gaussian moments come from
:mod:`actlab.gaussian` (adaptive quadrature split at every kink and jump).
Nothing is typed in: the catalog's ``expected`` values are *checked* against
this table by the test suite.

Exact definitions (one line each, as in the README):

- ``range_min`` / ``range_max``: inf / sup of f over its domain (±inf when f grows without bound toward an end).
- ``monotonic``: f is non-decreasing or non-increasing (grid differences and the sign of f' both agree).
- ``continuous``: no jump in f (a jump is a step between grid neighbours that survives bisection to width ~1e-15
  with size > 1e-6·(1 + |f|)), and f finite on the domain.
- ``differentiable``: continuous, f' finite, and no jump in f' (same test): f is C¹.  Declared kinks are not trusted blindly:
  a declared kink where f' is continuous is reported in ``notes``.
- ``kinks``: the x where f or f' jumps (computed), sorted.
- ``smooth``: differentiable and the second derivative (autograd of the spec's analytic f') is finite with no jump:
  a numerical proxy for C∞ that catches C¹-but-not-C² functions (ELU α=1, CELU, signed square) but not breaks in
  third or higher derivatives.
- ``zero_at_origin``: |f(0)| ≤ 1e-12.  ``identity_near_origin``: f(0) = 0, f'(0) = 1 (±1e-9) and no kink at 0.
- ``derivative_min`` / ``derivative_max``: inf / sup of f' (±inf when f' grows without bound).
- ``argmax_derivative``: the x nearest 0 where f' attains its maximum (the edge of the set if it is an interval);
  null when the maximum is unbounded or only approached as x → ±∞.
- ``bounded_derivative``: both derivative extrema finite.  ``exploding_risk``: not bounded_derivative.
- ``vanishing_risk``: max |f'| < 1.
- ``saturation_low`` / ``saturation_high``: the x beyond which (toward −∞ / +∞) |f'| stays below 1 % of max |f'|;
  a dead half-line (f' = 0) counts as saturated (ReLU: saturation_low = 0); null when there is no such x.
- ``dead_region``: f' is exactly 0 on a half-line that reaches into the core [-L, L] (float64 underflow far out,
  e.g. sigmoid' at x < −745, does not count).
- ``sparsity``: P[f(Z) = 0], Z ~ N(0, 1): the normal measure of the intervals where f is exactly 0 (edges bisected).
- ``gaussian_mean``, ``gaussian_second_moment``, ``gaussian_variance``, ``gaussian_mean_derivative``:
  E f(Z), E f(Z)², Var f(Z), E f'(Z) for Z ~ N(0, 1) (null when f is not defined on the whole line).
- ``self_normalizing``: |E f(Z)| ≤ 1e-4 and |Var f(Z) − 1| ≤ 1e-4 (the fixed point (0, 1) of the mean/variance map).
- ``relative_cost``: median time of forward + backward (actlab's autograd Function) on a 1000×1000 float32
  tensor divided by ReLU's, timed side by side (median of 3 ratios of best-of-5 times; hardware- and load-dependent).
- Vector / grouped activations (softmax, log_softmax, maxout) are described by their scalar slice
  x ↦ f([x, 0, …])[0] (the other inputs of the vector or group held at 0): softmax's slice is σ(x).
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy import optimize

from actlab.gaussian import expectation, normal_probability
from actlab.registry import get
from actlab.spec import ActivationSpec

__all__ = ["Properties", "properties", "evaluate", "FIELDS", "clear_cache"]

Array = np.ndarray

FIELDS = (
    "range_min",
    "range_max",
    "monotonic",
    "continuous",
    "differentiable",
    "kinks",
    "smooth",
    "zero_at_origin",
    "identity_near_origin",
    "derivative_min",
    "derivative_max",
    "argmax_derivative",
    "bounded_derivative",
    "vanishing_risk",
    "exploding_risk",
    "saturation_low",
    "saturation_high",
    "dead_region",
    "sparsity",
    "gaussian_mean",
    "gaussian_second_moment",
    "gaussian_variance",
    "gaussian_mean_derivative",
    "self_normalizing",
    "relative_cost",
)

CORE_HALF_WIDTH = 20.0  # the dense core is [-L, L], L >= this
CORE_STEP = 1e-3
BAND_END = 1000.0
BAND_STEP = 2e-2
TAIL_END = 1e15
JUMP_TOLERANCE = 1e-6  # relative size of a jump that counts (softplus's threshold switch is 2e-9)
SECOND_JUMP_TOLERANCE = 1e-5
SATURATION_FRACTION = 0.01
SELF_NORMALIZING_TOLERANCE = 1e-4
SPARSITY_CUTOFF = 1e-9  # |f| just past a zero interval's edge, for the interval to count (not underflow)
COST_SHAPE = (1000, 1000)
COST_REPEATS = 5


@dataclass(frozen=True)
class Properties:
    """The computed properties of one activation (see the module docstring for each definition)."""

    name: str
    range_min: float | None = None
    range_max: float | None = None
    monotonic: bool | None = None
    continuous: bool | None = None
    differentiable: bool | None = None
    kinks: tuple[float, ...] | None = None
    smooth: bool | None = None
    zero_at_origin: bool | None = None
    identity_near_origin: bool | None = None
    derivative_min: float | None = None
    derivative_max: float | None = None
    argmax_derivative: float | None = None
    bounded_derivative: bool | None = None
    vanishing_risk: bool | None = None
    exploding_risk: bool | None = None
    saturation_low: float | None = None
    saturation_high: float | None = None
    dead_region: bool | None = None
    sparsity: float | None = None
    gaussian_mean: float | None = None
    gaussian_second_moment: float | None = None
    gaussian_variance: float | None = None
    gaussian_mean_derivative: float | None = None
    self_normalizing: bool | None = None
    relative_cost: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``name``, every field of :data:`FIELDS`, and ``notes`` (lists for tuples)."""
        out: dict[str, Any] = {"name": self.name}
        for key in FIELDS:
            value = getattr(self, key)
            out[key] = list(value) if isinstance(value, tuple) else value
        out["notes"] = list(self.notes)
        return out


# ------------------------------------------------------------------ public API
_CACHE: dict[tuple, Properties] = {}
_COST_CACHE: dict[tuple, float | None] = {}


def clear_cache() -> None:
    _CACHE.clear()
    _COST_CACHE.clear()


def properties(spec_or_name: ActivationSpec | str, *, measure_cost: bool = True, **params: Any) -> Properties:
    """The computed property table of an activation (name, alias, formula or spec), with ``params`` bound.

    ``measure_cost=False`` skips the timing (``relative_cost`` is then None).
    Results are cached per (activation, parameters).

    >>> p = properties("relu", measure_cost=False)
    >>> p.range_min, p.sparsity, p.dead_region
    (0.0, 0.5, True)
    """
    spec = get(spec_or_name, **params)
    values = spec.resolve()
    key = (spec.name, spec.expression, id(spec.forward), id(spec.derivative), tuple(sorted(values.items())))
    result = _CACHE.get(key)
    if result is None:
        with _single_thread():
            result = _compute(spec, values)
        _CACHE[key] = result
    if measure_cost:
        if key not in _COST_CACHE:
            _COST_CACHE[key] = _relative_cost(spec, values)
        result = dataclasses.replace(result, relative_cost=_COST_CACHE[key])
    return result


def evaluate(spec: ActivationSpec, x: Array) -> tuple[Array, Array]:
    """f(x) and f'(x) in float64 for an array of scalar inputs (vector/grouped kinds: their scalar slice)."""
    scalar, _ = _scalar(spec, spec.resolve())
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        return scalar.f(x), scalar.df(x)


@contextlib.contextmanager
def _single_thread() -> Iterator[None]:
    """Run torch single-threaded: the grids are small, and intra-op threads oversubscribe a busy machine (5× slower)."""
    previous = torch.get_num_threads()
    if previous == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


# ----------------------------------------------------------- scalar functions
@dataclass
class _Scalar:
    """f, f' and f'' of a scalar function as float64 numpy maps."""

    f: Callable[[Array], Array]
    df: Callable[[Array], Array]
    d2f: Callable[[Array], Array]


def _scalar(spec: ActivationSpec, values: dict[str, Any]) -> tuple[_Scalar, list[str]]:
    notes: list[str] = []
    if spec.kind == "elementwise":
        def lift(x: Array) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))

        def pick(y: torch.Tensor) -> torch.Tensor:
            return y
    else:
        width = int(values["k"]) if spec.kind == "grouped" else 2
        dim = values.get("dim", -1)
        axis = 0 if spec.kind == "vector" and dim in (0, -2) else -1
        what = f"groups of k = {width}" if spec.kind == "grouped" else "2-element vectors"
        notes.append(
            f"{spec.kind} activation (not element-wise): properties of the scalar slice x ↦ f([x, 0, …])[0] on {what}, the other inputs held at 0"
        )

        def lift(x: Array) -> torch.Tensor:
            t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
            return t

        def pick(y: torch.Tensor) -> torch.Tensor:
            return y

        def stack(t: torch.Tensor) -> torch.Tensor:
            others = [torch.zeros_like(t)] * (width - 1)
            return torch.stack([t, *others], dim=axis)

        def first(y: torch.Tensor) -> torch.Tensor:
            return y.select(axis, 0)

        def f_slice(t: torch.Tensor, **p: Any) -> torch.Tensor:
            return first(spec.forward(stack(t), **p))

        def df_slice(t: torch.Tensor, **p: Any) -> torch.Tensor:
            return first(spec.derivative(stack(t), **p))

        return _make(f_slice, df_slice, values, lift), notes
    return _make(spec.forward, spec.derivative, values, lift), notes


def _make(forward: Callable, derivative: Callable, values: dict[str, Any], lift: Callable) -> _Scalar:
    def f(x: Array) -> Array:
        with torch.no_grad():
            return forward(lift(x), **values).to(torch.float64).numpy().reshape(np.shape(x))

    def df(x: Array) -> Array:
        with torch.no_grad():
            return derivative(lift(x), **values).to(torch.float64).numpy().reshape(np.shape(x))

    def d2f(x: Array) -> Array:
        t = lift(x).clone().requires_grad_(True)
        with torch.enable_grad():
            y = derivative(t, **values)
            if not y.requires_grad:
                return np.zeros(np.shape(x))
            (grad,) = torch.autograd.grad(y.sum(), t, allow_unused=True)
        if grad is None:
            return np.zeros(np.shape(x))
        return grad.detach().to(torch.float64).numpy().reshape(np.shape(x))

    return _Scalar(f, df, d2f)


# ---------------------------------------------------------------------- grid
def _grid(kinks: tuple[float, ...], domain: tuple[float, float]) -> tuple[Array, float]:
    half = max(CORE_HALF_WIDTH, 1.5 * max((abs(k) for k in kinks), default=0.0) + 1.0)
    n_core = int(round(2 * half / CORE_STEP)) + 1
    if n_core % 2 == 0:
        n_core += 1
    core = np.linspace(-half, half, n_core)
    parts = [core]
    if half < BAND_END:
        band = np.arange(half + BAND_STEP, BAND_END + BAND_STEP / 2, BAND_STEP)
        parts += [band, -band]
    tail = np.geomspace(max(half, BAND_END) * 1.02, TAIL_END, 241)
    parts += [tail, -tail]
    x = np.unique(np.concatenate(parts))
    declared = np.array([k for k in kinks if math.isfinite(k)])
    if declared.size:
        near = np.min(np.abs(x[:, None] - declared[None, :]), axis=1) < 1e-7
        x = np.unique(np.concatenate([x[~near], declared]))
    low, high = domain
    x = x[(x > low) & (x < high)]
    # approach finite domain ends
    approach = []
    for end, sign in ((low, 1.0), (high, -1.0)):
        if math.isfinite(end):
            approach += [end + sign * max(10.0**-k, 4 * np.finfo(float).eps * abs(end)) for k in range(1, 16)]
    if approach:
        x = np.unique(np.concatenate([x, np.array(approach)]))
        x = x[(x > low) & (x < high)]
    return x, half


def _end_sequences(domain: tuple[float, float]) -> tuple[Array, Array]:
    """Points approaching the left and right end of the domain (ordered toward the end)."""
    seqs = []
    for end, sign in ((domain[0], -1.0), (domain[1], 1.0)):
        if math.isinf(end):
            seqs.append(sign * 10.0 ** np.arange(3, 16))
        else:
            seqs.append(end - sign * np.maximum(10.0 ** -np.arange(1, 16, dtype=float), 4 * np.finfo(float).eps * abs(end)))
    return seqs[0], seqs[1]


def _extrapolate(seq: Array) -> float | None:
    """Aitken's Δ² estimate of a monotone, converging sequence's limit (sqrt(x) → 0 as x → 0⁺), else None."""
    finite = seq[np.isfinite(seq)]
    if finite.size < 3:
        return None
    x0, x1, x2 = (float(v) for v in finite[-3:])
    d1, d2 = x1 - x0, x2 - x1
    if d1 == 0 or d2 == 0 or (d1 > 0) != (d2 > 0) or abs(d2) >= abs(d1):
        return None
    limit = x2 - d2 * d2 / (d2 - d1)
    return limit if abs(limit - x2) <= 1e-3 * (1 + abs(x2)) else None


def _limit(seq: Array) -> float | None:
    """±inf if the sequence (toward a domain end) grows without bound, else None (finite or oscillating)."""
    finite = seq[~np.isnan(seq)]
    if finite.size == 0:
        return None
    if np.isinf(finite[-1]):
        return float(finite[-1])
    with np.errstate(all="ignore"):
        steps = np.diff(finite)
    if steps.size >= 3:
        for sign in (1.0, -1.0):
            s = sign * steps
            if np.all(s > 0) and s[-1] >= 0.9 * s[-2] and s[-2] >= 0.9 * s[-3]:
                return sign * math.inf
    return None


# --------------------------------------------------------------- refinements
def _bisect_edge(predicate: Callable[[float], bool], inside: float, outside: float, func: Callable[[Array], Array] | None = None, test: Callable[[Array], Array] | None = None) -> float:
    """The boundary between a point where the predicate holds (``inside``) and one where it does not.

    With ``func`` and ``test`` (vectorised: test(func(xs)) -> bool array) it multi-sections 32 points at a time.
    """
    if func is not None and test is not None:
        for _ in range(12):
            xs = np.linspace(inside, outside, 33)
            ok = test(func(xs))
            bad = np.nonzero(~ok)[0]
            first_bad = int(bad[0]) if bad.size else 32
            if first_bad == 0:
                break
            inside, outside = float(xs[first_bad - 1]), float(xs[first_bad])
            if abs(outside - inside) <= 4 * np.finfo(float).eps * max(1.0, abs(inside)):
                break
        return (inside + outside) / 2
    for _ in range(80):
        mid = (inside + outside) / 2
        if mid in (inside, outside):
            break
        if predicate(mid):
            inside = mid
        else:
            outside = mid
    return (inside + outside) / 2


def _runs(mask: Array) -> list[tuple[int, int]]:
    """(first, last) index of every run of True in ``mask``."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    change = np.diff(padded)
    starts = np.nonzero(change == 1)[0]
    ends = np.nonzero(change == -1)[0] - 1
    return list(zip(starts.tolist(), ends.tolist()))


def _one(func: Callable[[Array], Array], x: float) -> float:
    return float(func(np.array([x]))[0])


def _jumps(func: Callable[[Array], Array], x: Array, v: Array, tolerance: float, limit: int = 60) -> list[float]:
    """Where ``func`` jumps: isolated large steps between grid neighbours, confirmed by bisection."""
    ok = np.isfinite(v)
    with np.errstate(all="ignore"):
        step = np.abs(np.diff(v))
    valid = ok[:-1] & ok[1:]
    step = np.where(valid, step, 0.0)
    left = np.concatenate([[0.0], step[:-1]])
    right = np.concatenate([step[1:], [0.0]])
    size = tolerance * (1.0 + np.maximum(np.abs(np.where(ok, v, 0))[:-1], np.abs(np.where(ok, v, 0))[1:]))
    single = np.nonzero(valid & (step > 8 * np.maximum(left, right)) & (step > size))[0]
    # a jump straddling a grid point (the value there in between): compare v[i+2] - v[i] with the steps around
    vv = np.where(ok, v, 0.0)
    double = np.abs(vv[2:] - vv[:-2])
    valid2 = ok[2:] & ok[1:-1] & ok[:-2]
    around = np.maximum(np.concatenate([[0.0], step[:-2]]), np.concatenate([step[2:], [0.0]]))
    size2 = tolerance * (1.0 + np.maximum(np.abs(vv[2:]), np.abs(vv[:-2])))
    pairs = np.nonzero(valid2 & (double > 8 * around) & (double > size2))[0]
    spans = [(int(i), int(i) + 1, float(step[i])) for i in single] + [(int(i), int(i) + 2, float(double[i])) for i in pairs]
    spans.sort(key=lambda s: -s[2])
    found = []
    for i, k, _ in spans[:limit]:
        a, b, fa, fb = float(x[i]), float(x[k]), float(v[i]), float(v[k])
        for _ in range(12):
            xs = np.linspace(a, b, 33)
            with np.errstate(all="ignore"):
                vs = func(xs)
            vs[0], vs[-1] = fa, fb
            if not np.isfinite(vs).all():
                break
            j = int(np.argmax(np.abs(np.diff(vs))))
            a, b, fa, fb = float(xs[j]), float(xs[j + 1]), float(vs[j]), float(vs[j + 1])
            if b - a <= 4 * np.finfo(float).eps * max(1.0, abs(a)):
                break
        if abs(fb - fa) > tolerance * (1.0 + max(abs(fa), abs(fb))):
            point = (a + b) / 2
            if not any(abs(point - p) < 1e-6 for p in found):
                found.append(point)
    return found


def _snap(value: float, kinks: tuple[float, ...], tolerance: float = 1e-7) -> float:
    for k in kinks:
        if abs(value - k) <= tolerance:
            return float(k)
    return _clean(value)


def _clean(value: float | None) -> float | None:
    """Round to 12 significant digits and send |v| < 1e-13 to 0 (the quadrature/grid accuracy)."""
    if value is None or not math.isfinite(value):
        return value
    if abs(value) < 1e-13:
        return 0.0
    return float(f"{value:.12g}")


def _refine_extremum(func: Callable[[Array], Array], x: Array, i: int, sign: float, best: float) -> float:
    """max of sign·func near grid point i (bounded scalar minimisation), never worse than ``best``."""
    if 0 < i < len(x) - 1:
        result = optimize.minimize_scalar(
            lambda t: -sign * _one(func, t), bounds=(float(x[i - 1]), float(x[i + 1])), method="bounded",
            options={"xatol": 1e-12},
        )
        if np.isfinite(result.fun):
            return max(best, -float(result.fun))
    return best


# ------------------------------------------------------------------- compute
def _compute(spec: ActivationSpec, values: dict[str, Any]) -> Properties:
    scalar, notes = _scalar(spec, values)
    declared = tuple(sorted(spec.kink_points())) if spec.kind == "elementwise" else ()
    domain = spec.domain
    whole_line = math.isinf(domain[0]) and math.isinf(domain[1])
    if not whole_line:
        notes.append(f"domain ({_fmt(domain[0])}, {_fmt(domain[1])}): f is undefined outside it; Gaussian moments are undefined")
    x, half = _grid(declared, domain)
    try:
        with np.errstate(all="ignore"):
            fx = scalar.f(x)
            dx = scalar.df(x)
    except (RuntimeError, ValueError, ArithmeticError, TypeError) as error:
        return Properties(name=spec.name, notes=(*notes, f"could not evaluate f on a grid: {error}"))
    core = np.abs(x) <= half
    bad_core = core & (~np.isfinite(fx) | np.isnan(dx))
    if bad_core.any():
        where = x[bad_core]
        notes.append(
            f"f or f' is not finite at {bad_core.sum()} grid point(s) in [{_fmt(-half)}, {_fmt(half)}], e.g. x = {_fmt(where[0])}"
        )
    out: dict[str, Any] = {}

    # ---- range and monotonicity
    left_seq, right_seq = _end_sequences(domain)
    sides = np.array([k + s * max(1e-12, 1e-15 * abs(k)) for k in declared for s in (-1.0, 1.0)])
    sides = sides[(sides > domain[0]) & (sides < domain[1])]
    with np.errstate(all="ignore"):
        side_f, side_d = scalar.f(sides), scalar.df(sides)
        end_values = [scalar.f(left_seq), scalar.f(right_seq)]
        limits = [_limit(v) for v in end_values]
        extrapolated = [e for e in (_extrapolate(v) for v in end_values) if e is not None]
        dlimits = [_limit(scalar.df(left_seq)), _limit(scalar.df(right_seq))]
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

    # ---- continuity, kinks, smoothness
    # the geometric tails (and the approach to a finite domain end) are too coarse to tell oscillation from jumps
    dense = (np.abs(x) <= BAND_END) & (x > domain[0] + 1e-3) & (x < domain[1] - 1e-3)
    f_jumps = _jumps(scalar.f, x[dense], fx[dense], JUMP_TOLERANCE)
    d_jumps = _jumps(scalar.df, x[dense], dx[dense], JUMP_TOLERANCE)
    nonfinite_f = bool((core & ~np.isfinite(fx)).any())
    nonfinite_d = bool((core & ~np.isfinite(dx)).any())
    continuous = not f_jumps and not nonfinite_f
    differentiable = continuous and not d_jumps and not nonfinite_d
    breaks = sorted({_snap(p, declared) for p in (*f_jumps, *d_jumps)})
    out["continuous"] = continuous
    out["differentiable"] = differentiable
    out["kinks"] = tuple(breaks)
    for k in declared:
        if not any(abs(k - b) <= 1e-7 for b in breaks):
            notes.append(f"declared kink at x = {_fmt(k)}, but f and f' are continuous there")
    for b in breaks:
        if spec.kind == "elementwise" and not any(abs(k - b) <= 1e-7 for k in declared):
            notes.append(f"f or f' jumps at x = {_fmt(b)}, which the spec does not declare as a kink")
    if differentiable:
        try:
            inner = x[core & dense]
            d2 = scalar.d2f(inner)
        except RuntimeError as error:  # a derivative autograd cannot differentiate
            notes.append(f"second derivative unavailable ({error}); smooth not computed")
            out["smooth"] = None
        else:
            finite2 = np.isfinite(d2)
            second = _jumps(scalar.d2f, inner[finite2], d2[finite2], SECOND_JUMP_TOLERANCE)
            out["smooth"] = bool(finite2.all() and not second)
            if second:
                notes.append("f'' jumps at x = " + ", ".join(_fmt(_snap(p, declared)) for p in second) + " (C¹ but not C²)")
    else:
        out["smooth"] = False

    # ---- values at the origin
    if domain[0] < 0.0 < domain[1]:
        f0, d0 = _one(scalar.f, 0.0), _one(scalar.df, 0.0)
        out["zero_at_origin"] = abs(f0) <= 1e-12
        out["identity_near_origin"] = abs(f0) <= 1e-12 and abs(d0 - 1.0) <= 1e-9 and not any(abs(b) <= 1e-9 for b in breaks)
    else:
        notes.append("0 is outside the domain: zero_at_origin and identity_near_origin are undefined")

    # ---- derivative extremes
    dfinite = np.isfinite(dx)
    if dfinite.any():
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
        if math.isfinite(dmax):
            where = _argmax(scalar.df, xd, vd, float(dmax), declared)
            if where is None and side.size and float(np.max(side)) >= dmax:
                # the sup is a one-sided limit at a kink (hard_swish's f'(3⁻) = 3/2)
                where = _snap(float(sides[np.isfinite(side_d)][np.argmax(side)]), declared)
            # a maximum's location is determined to about sqrt(machine epsilon)
            out["argmax_derivative"] = None if where is None else _clean(round(where, 6))
        # saturation
        if bounded and biggest > 0:
            out["saturation_low"], out["saturation_high"] = _saturation(scalar.df, xd, vd, biggest, declared)
        elif biggest == 0:
            notes.append("f' is 0 everywhere: no gradient flows (saturation undefined)")
        # dead region: exact zeros of f' on a half-line reaching the core
        zero = vd == 0.0
        core_d = np.abs(xd) <= half
        cutoff = 1e-9 * max(1.0, biggest if math.isfinite(biggest) else 1.0)
        left_dead = _run_reaches_core(zero, core_d, xd, scalar.df, cutoff, from_left=True)
        right_dead = _run_reaches_core(zero, core_d, xd, scalar.df, cutoff, from_left=False)
        out["dead_region"] = left_dead or right_dead

    # ---- sparsity and Gaussian moments
    if whole_line and not nonfinite_f:
        out["sparsity"] = _clean(_sparsity(scalar.f, x, fx, half))
        cuts = [*declared, *breaks]

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
    elif whole_line:
        notes.append("f is not finite everywhere: sparsity and Gaussian moments are undefined")
    return Properties(name=spec.name, notes=tuple(notes), **out)


def _run_reaches_core(zero: Array, core: Array, x: Array, func: Callable, cutoff: float, from_left: bool) -> bool:
    """True when the exact zeros at one end of the grid reach into the core and end in a cut-off.

    A cut-off: 0.01 past the edge of the zero run, |func| >= ``cutoff`` (f' of ReLU jumps to 1 there), so a
    decaying function that merely underflows to 0 in float64 (tanh' beyond 19, gelu_tanh below -6.4) does not count.
    """
    z, c, xs = (zero, core, x) if from_left else (zero[::-1], core[::-1], x[::-1])
    if not z[0]:
        return False
    if z.all():
        return True
    end = int(np.argmin(z))  # first non-zero
    if not c[:end].any():
        return False
    edge = _bisect_edge(None, float(xs[end - 1]), float(xs[end]), func, lambda values: values == 0.0)
    probe = edge + (0.01 if from_left else -0.01)
    return abs(_one(func, probe)) >= cutoff


def _argmax(df: Callable, x: Array, v: Array, top: float, kinks: tuple[float, ...]) -> float | None:
    """Where f' attains ``top``, nearest 0 (see the module docstring); None for a sup approached at ±inf."""
    scale = max(1.0, abs(top))
    near = v >= top - 1e-6 * scale
    n = len(x)
    runs = []
    for i, j in _runs(near):
        distance = 0.0 if x[i] <= 0 <= x[j] else min(abs(x[i]), abs(x[j]))
        runs.append((distance, bool(x[i] < 0), i, j))
    for _, _, lo, hi in sorted(runs):
        exact = np.nonzero(v[lo : hi + 1] >= top - 1e-12 * scale)[0] + lo
        if exact.size == 0:  # a smooth peak between grid points
            a, b = float(x[max(lo - 1, 0)]), float(x[min(hi + 1, n - 1)])
            result = optimize.minimize_scalar(lambda t: -_one(df, t), bounds=(a, b), method="bounded", options={"xatol": 1e-12})
            if -result.fun >= top - 1e-9 * scale:
                return _snap(float(result.x), kinks, 1e-6)
            continue
        first, last = int(exact[0]), int(exact[-1])
        if first == last:
            return _snap(float(x[first]), kinks, 1e-6)
        if x[first] <= 0 <= x[last]:
            return 0.0
        to_right_end, to_left_end = last == n - 1, first == 0
        if to_right_end or to_left_end:
            edge, before = (first, first - 1) if to_right_end else (last, last + 1)
            probe = float(x[edge]) + (-1.0 if to_right_end else 1.0)
            if abs(_one(df, probe) - top) <= 1e-6 * scale:  # approached smoothly: a sup, not a max
                return None
        else:
            edge, before = (first, first - 1) if abs(x[first]) <= abs(x[last]) else (last, last + 1)
        boundary = _bisect_edge(None, float(x[edge]), float(x[before]), df, lambda values: values >= top - 1e-12 * scale)
        return _snap(boundary, kinks)
    return None


def _saturation(df: Callable, x: Array, v: Array, biggest: float, kinks: tuple[float, ...]) -> tuple[float | None, float | None]:
    threshold = SATURATION_FRACTION * biggest
    live = np.abs(v) >= threshold
    indices = np.nonzero(live)[0]

    def is_live(values: Array) -> Array:
        return np.abs(values) >= threshold

    first, last = int(indices[0]), int(indices[-1])
    low = None if first == 0 else _snap(_bisect_edge(None, float(x[first]), float(x[first - 1]), df, is_live), kinks)
    high = None if last == len(x) - 1 else _snap(_bisect_edge(None, float(x[last]), float(x[last + 1]), df, is_live), kinks)
    return low, high


def _sparsity(f: Callable, x: Array, v: Array, half: float) -> float:
    """Normal measure of the intervals (runs of ≥ 2 grid points touching the core) where f is exactly 0."""
    zero = v == 0.0
    intervals = []
    n = len(x)

    def is_zero(values: Array) -> Array:
        return values == 0.0

    for i, j in _runs(zero):
        if j > i and (np.abs(x[i : j + 1]) <= half).any():
            low = -math.inf if i == 0 else _bisect_edge(None, float(x[i]), float(x[i - 1]), f, is_zero)
            high = math.inf if j == n - 1 else _bisect_edge(None, float(x[j]), float(x[j + 1]), f, is_zero)
            # a cut-off, not float64 underflow of a decaying f (gelu_tanh below -6.4)
            edges_ok = all(abs(_one(f, e)) >= SPARSITY_CUTOFF for e in (low - 0.01, high + 0.01) if math.isfinite(e))
            if edges_ok:
                intervals.append((low, high))
    return normal_probability(intervals)


# ---------------------------------------------------------------------- cost
def _time(spec: ActivationSpec, values: dict[str, Any], x: torch.Tensor) -> float:
    """Best-of-5 seconds of forward + backward through actlab's autograd Function (min: least disturbed by load)."""
    from actlab.autograd import apply

    x = x.detach().clone().requires_grad_(True)
    y = apply(spec, x, **values)
    grad = torch.ones_like(y)
    y.backward(grad)  # warm-up
    times = []
    for _ in range(COST_REPEATS):
        x.grad = None
        start = time.perf_counter()
        y = apply(spec, x, **values)
        y.backward(grad)
        times.append(time.perf_counter() - start)
    return min(times)


def _relative_cost(spec: ActivationSpec, values: dict[str, Any]) -> float | None:
    """Timed side by side with ReLU on the same tensor (both now, so machine load affects both alike)."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(COST_SHAPE, generator=generator, dtype=torch.float32)
    try:
        relu = get("relu")
        ratios = []
        for _ in range(3):
            ratios.append(_time(spec, values, x) / _time(relu, {}, x))
        return round(statistics.median(ratios), 2)
    except RuntimeError:  # an activation that cannot run on a 1000×1000 float32 tensor
        return None


def _fmt(value: float) -> str:
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return f"{value:.6g}"
