"""Grid numerics for the property table: the evaluation grid, limits at the ends, bisection of jumps and edges,
extremum refinement, saturation and sparsity measurements."""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import optimize

from actlab.analysis.fields import (
    BAND_END,
    BAND_STEP,
    CORE_HALF_WIDTH,
    CORE_STEP,
    SATURATION_FRACTION,
    SPARSITY_CUTOFF,
    TAIL_END,
    Array,
)
from actlab.analysis.gaussian import normal_probability


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
    with np.errstate(all="ignore"):  # steps of values near ±1e308 overflow to inf: still a step
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

    if indices.size == 0:  # the largest |f'| is a spike between grid points (tan near its poles): no live grid point
        return None, None
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


