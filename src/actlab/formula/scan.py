"""Numerical scans of a built formula: where f or f′ jumps (kinks, with the convention for the derivative
there) and where f is real and finite (its domain), on [-KINK_SEARCH, KINK_SEARCH]; bounded work per
boundary, single-threaded torch.
"""
from __future__ import annotations

import functools
import math
import threading
import time
from typing import Any

import numpy as np
import torch

from actlab.formula.parse import (
    Node,
)
from actlab.formula.torchfn import node_function

KINK_SEARCH = 50.0  # kinks (and the domain) are searched for numerically on [-50, 50]
_GRID = np.linspace(-KINK_SEARCH, KINK_SEARCH, 20001)  # step 0.005; contains 0 and the integers
_MAX_KINKS = 64
# ------------------------------------------------------------------- kinks
_DEADLINE = threading.local()  # .at: a time.monotonic() the scans must not run past (check_formula sets it)


class ScanDeadline(Exception):
    """A scan ran past the deadline set by :func:`scan_deadline` (the caller turns it into its own error)."""


class scan_deadline:
    """``with scan_deadline(at):`` the kink and domain scans in this thread stop with :class:`ScanDeadline`
    once ``time.monotonic()`` passes ``at`` (checked between grid evaluations: each is bounded by the
    formula's size, so the overrun is at most one evaluation)."""

    def __init__(self, at: float) -> None:
        self.at = at

    def __enter__(self) -> None:
        self.saved = getattr(_DEADLINE, "at", None)
        _DEADLINE.at = self.at

    def __exit__(self, *exc: object) -> None:
        _DEADLINE.at = self.saved


def _check_deadline() -> None:
    at = getattr(_DEADLINE, "at", None)
    if at is not None and time.monotonic() > at:
        raise ScanDeadline


_THREADS_LOCK = threading.Lock()
_THREADS = {"users": 0, "saved": 1}


def _single_threaded(function):
    """Run ``function`` with one torch thread (restored after; nested and concurrent calls share it).

    The scans evaluate small tensors (20 001 grid points): torch splits some ops
    over its thread pool, and on a busy machine waiting for the pool's threads
    made each op 1000x slower (25 ms instead of 0.02 ms, measured).
    """
    @functools.wraps(function)
    def run(*args, **kwargs):
        with _THREADS_LOCK:
            if _THREADS["users"] == 0:
                _THREADS["saved"] = torch.get_num_threads()
                if _THREADS["saved"] != 1:
                    torch.set_num_threads(1)
            _THREADS["users"] += 1
        try:
            return function(*args, **kwargs)
        finally:
            with _THREADS_LOCK:
                _THREADS["users"] -= 1
                if _THREADS["users"] == 0 and _THREADS["saved"] != 1:
                    torch.set_num_threads(_THREADS["saved"])
    return run



def _boundaries(tree: Node) -> list[tuple[str, Node]]:
    """(function, u) for each place where f can fail to be differentiable: u(x) = 0."""
    found: list[tuple[str, Node]] = []
    for node in tree.walk():
        if node.kind != "call":
            continue
        name, args = node.text, node.args
        if name in ("abs", "sign", "relu"):
            found.append((name, args[0]))
        elif name in ("maximum", "minimum"):
            found.append((name, Node("-", (args[0], args[1]))))
        elif name == "clip":
            found.append((name, Node("-", (args[0], args[1]))))
            found.append((name, Node("-", (args[0], args[2]))))
            found.append((name, Node("-", (args[1], args[2]))))  # where low crosses high, clip becomes high
        elif name == "where":
            condition = args[0]
            found.append((name, Node("-", condition.args)))
    return found


class _KinkFinder:
    """kinks(**params): zeros of each boundary u(x) on the search interval where f or f' jumps.

    Bounded: each boundary is evaluated once on the grid; where u vanishes on a
    whole run of grid points (``maximum(x, x)``, ``where(x == x, ...)``: the
    condition does not change there) only the run's ends are candidates; sign
    changes are refined by a bisection of all intervals at once; and the jump
    test runs on all candidates in one call.
    """

    def __init__(self, boundaries, forward, derivative):
        self.functions = [node_function(u) for _, u in boundaries]
        self.forward = forward
        self.derivative = derivative
        self._memo: dict[tuple, tuple[float, ...]] = {}

    def __call__(self, **params: Any) -> tuple[float, ...]:
        key = tuple(sorted((k, float(v)) for k, v in params.items()))
        if key not in self._memo:
            self._memo[key] = self._find(params)
        return self._memo[key]

    @_single_threaded
    def _find(self, params: dict[str, Any]) -> tuple[float, ...]:
        grid = torch.from_numpy(_GRID)
        candidates: set[float] = set()
        limit = 4 * _MAX_KINKS
        with torch.no_grad():
            for u in self.functions:
                _check_deadline()
                values = u(grid, **params).numpy()
                found: list[float] = []
                for start, stop in _runs(values == 0)[:limit]:
                    if stop - start == 1:
                        found.append(float(_GRID[start]))
                        continue
                    if start > 0:  # u becomes identically zero here
                        found.append(float(_GRID[start]))
                    if stop < len(_GRID):  # ... and stops being zero here
                        found.append(float(_GRID[stop - 1]))
                signs = np.sign(values)
                finite = np.isfinite(values)
                change = np.nonzero((signs[:-1] * signs[1:] < 0) & finite[:-1] & finite[1:])[0][:limit]
                if len(change):
                    found.extend(self._bisect(u, params, change, signs[change]))
                candidates.update(found[:limit])
        points = sorted(candidates)
        return tuple(self._jumping(points, params)[:_MAX_KINKS])

    @staticmethod
    def _bisect(u, params: dict[str, Any], change: np.ndarray, low_signs: np.ndarray) -> list[float]:
        low = torch.from_numpy(_GRID[change].copy())
        high = torch.from_numpy(_GRID[change + 1].copy())
        low_sign = torch.from_numpy(low_signs.copy())
        for step in range(56):  # 0.005 / 2**56 is below float64 resolution on [-50, 50]
            if step % 8 == 0:
                _check_deadline()
            middle = (low + high) / 2
            same = torch.sign(u(middle, **params)) == low_sign
            low = torch.where(same, middle, low)
            high = torch.where(same, high, middle)
        return [float(f"{root:.12g}") for root in ((low + high) / 2).tolist()]

    def _jumping(self, points: list[float], params: dict[str, Any]) -> list[float]:
        """The points where f or f' jumps: the one-sided difference does not shrink with the step.

        A smooth g has |g(p+h) - g(p-h)| ~ 2h|g'(p)|, which shrinks 16-fold when h
        does; a jump does not shrink.  So ``where(x > 0, 1000*x, 1000*x)`` (steep,
        continuous) has no kink, and ELU with alpha = 1 (C^1) has none either.
        """
        if not points:
            return []
        _check_deadline()
        p = torch.tensor(points, dtype=torch.float64)
        h = 1e-6 * torch.clamp(p.abs(), min=1.0)
        x = torch.cat([p - h, p + h, p - h / 16, p + h / 16])
        with torch.no_grad():
            y = self.forward(x, **params)
            dy = self.derivative(x, **params)
        n = len(points)
        jumps = torch.zeros(n, dtype=torch.bool)
        for g in (y, dy):
            left, right, near_left, near_right = g[:n], g[n:2 * n], g[2 * n:3 * n], g[3 * n:]
            finite = torch.isfinite(left) & torch.isfinite(right) & torch.isfinite(near_left) & torch.isfinite(near_right)
            wide = (right - left).abs()
            near = (near_right - near_left).abs()
            scale = 1.0 + near_left.abs() + near_right.abs()
            jumps |= ~finite | ((near > 1e-9 * scale) & (near > wide / 4))
        return [point for point, jump in zip(points, jumps.tolist()) if jump]


# ------------------------------------------------------------------ domain
@_single_threaded
def _domain(forward, params: dict[str, float]) -> tuple[tuple[float, float], str]:
    """The open interval where f is real and finite (numerical scan), and a note if it is not R.

    NaN marks points outside the domain; ±inf only counts where it does not run
    to the end of the scanned interval (that is overflow, e.g. exp(x**2)).
    """
    grid = torch.from_numpy(_GRID)
    with torch.no_grad():
        y = forward(grid, **params).numpy()
    bad = np.isnan(y)
    infinite = np.isinf(y)
    if infinite.any():
        runs = _runs(infinite)
        for start, stop in runs:
            if start > 0 and stop < len(y):  # isolated inf (a pole or log(0)); tails are overflow
                bad[start:stop] = True
    if not bad.any():
        return (-math.inf, math.inf), ""
    good_runs = _runs(~bad)
    if not good_runs:
        return (0.0, 0.0), f"domain: empty; f is not finite anywhere on [-{KINK_SEARCH:g}, {KINK_SEARCH:g}]"
    zero = len(_GRID) // 2
    containing = [r for r in good_runs if r[0] <= zero < r[1]]
    start, stop = containing[0] if containing else max(good_runs, key=lambda r: (r[1] - r[0], r[0]))

    def finite(t: float) -> bool:
        with torch.no_grad():
            value = float(forward(torch.tensor([t], dtype=torch.float64), **params))
        return math.isfinite(value)

    low = -math.inf if start == 0 else _edge(finite, float(_GRID[start - 1]), float(_GRID[start]))
    high = math.inf if stop == len(_GRID) else _edge(finite, float(_GRID[stop]), float(_GRID[stop - 1]))
    return (low, high), f"domain: f is real and finite on ({low:g}, {high:g}) (numerical scan)"


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _edge(finite, outside: float, inside: float) -> float:
    for _ in range(60):
        middle = (outside + inside) / 2
        if finite(middle):
            inside = middle
        else:
            outside = middle
    edge = (outside + inside) / 2
    snapped = round(edge, 9) + 0.0  # + 0.0 turns -0.0 into 0.0
    return float(snapped if abs(snapped - edge) < 1e-9 else edge)


