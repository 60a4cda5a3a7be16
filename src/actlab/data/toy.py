"""Toy 2-D data sets (after the TensorFlow Playground), each with its true boundary.

Every generator takes ``n`` (total points, before the split), ``noise`` (the
standard deviation of Gaussian jitter added to both coordinates *after* the
label is computed from the clean point — so ``noise=0`` gives a set that the
true boundary separates exactly) and ``seed``. Points are split at random into
train / validation / test = 60 % / 20 % / 20 % (``val_fraction`` and
``test_fraction`` change that).

Classification sets have labels 0/1 (int64). Their true boundary is a
:class:`TrueFunction`, stored in ``dataset.extra["boundary"]``: called on an
``(m, 2)`` array or tensor of points it returns a signed score, ``> 0`` on the
class-1 side and ``< 0`` on the class-0 side, so the boundary is its zero
contour. Regression sets (``plane``, ``multi_gaussian``) have float32 targets
of shape ``(n, 1)`` and store their noiseless target function in
``dataset.extra["target"]`` (also a :class:`TrueFunction`). Both are
picklable: they hold only a set name and its parameters.
:func:`true_boundary` and :func:`true_target` give them without generating data.

=============== ============ =====================================================
name            domain       class 1 / target
=============== ============ =====================================================
linear          [-1, 2]²     x0 + x1 − 1 > 0
circle          [-1, 1]²     inside the disc of radius 0.6 (points: r ≤ 0.5 vs a ring 0.7 ≤ r ≤ 1)
periodic        [-3π, 3π] × [-2.5, 2.5]   x1 > cos(x0) (three periods)
xor             [-1, 1]²     x0 · x1 > 0
gaussian        ≈[-2, 2]²    the blob at (1, 1) (blobs σ = 0.3, cut at 3σ); boundary x0 + x1 = 0
spiral          [-1, 1]²     the arm θ = 3.5π·r + π (the other is θ = 3.5π·r)
moons           ≈[-1.5, 2.5] × [-1, 1.5]  the lower moon; boundary: equidistant from both moons
plane           [-1, 1]²     target (x0 + x1) / 2
multi_gaussian  [-1, 1]²     target: the signed bump of largest magnitude among six (Playground's "multi gaussian")
=============== ============ =====================================================
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from actlab.data.base import Dataset
from actlab.data.limits import check_points
from actlab.data.splits import assemble, check_bool, check_float, check_fraction, check_int, split_indices
from actlab.errors import ParameterError, UnknownNameError

__all__ = [
    "TOY_CLASSIFICATION",
    "TOY_REGRESSION",
    "TOY_NAMES",
    "TrueFunction",
    "true_boundary",
    "true_target",
    "load_toy",
    "DOMAINS",
]

TOY_CLASSIFICATION = ("linear", "circle", "periodic", "xor", "gaussian", "spiral", "moons")
TOY_REGRESSION = ("plane", "multi_gaussian")
TOY_NAMES = TOY_CLASSIFICATION + TOY_REGRESSION

#: plotting window (x0_min, x0_max, x1_min, x1_max) of each set, with its clean points inside
DOMAINS: dict[str, tuple[float, float, float, float]] = {
    "linear": (-1.0, 2.0, -1.0, 2.0),
    "circle": (-1.2, 1.2, -1.2, 1.2),
    "periodic": (-3 * math.pi, 3 * math.pi, -2.5, 2.5),
    "xor": (-1.2, 1.2, -1.2, 1.2),
    "gaussian": (-2.2, 2.2, -2.2, 2.2),
    "spiral": (-1.2, 1.2, -1.2, 1.2),
    "moons": (-1.5, 2.5, -1.0, 1.5),
    "plane": (-1.0, 1.0, -1.0, 1.0),
    "multi_gaussian": (-1.0, 1.0, -1.0, 1.0),
}

DESCRIPTIONS = {
    "linear": "two classes split by the line x0 + x1 - 1 = 0",
    "circle": "a disc (class 1) inside a ring (class 0)",
    "periodic": "classes above / below x1 = cos(x0) over three periods",
    "xor": "class 1 where x0 and x1 have the same sign",
    "gaussian": "two Gaussian blobs at (-1, -1) and (1, 1)",
    "spiral": "two interleaved spiral arms",
    "moons": "two interleaving half circles",
    "plane": "regression: target (x0 + x1) / 2",
    "multi_gaussian": "regression: six signed Gaussian-like bumps (TensorFlow Playground)",
}

_CIRCLE_RADIUS = 0.6
_SPIRAL_TURN = 3.5 * math.pi  # angle gained per unit radius
_BLOB_CENTER = 1.0
_BLOB_STD = 0.3
_BUMPS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


# --- true functions: numpy in, numpy out (float64) -------------------------------------------

def _linear(p: np.ndarray) -> np.ndarray:
    return p[:, 0] + p[:, 1] - 1.0


def _circle(p: np.ndarray) -> np.ndarray:
    return _CIRCLE_RADIUS - np.hypot(p[:, 0], p[:, 1])


def _periodic(p: np.ndarray) -> np.ndarray:
    return p[:, 1] - np.cos(p[:, 0])


def _xor(p: np.ndarray) -> np.ndarray:
    return p[:, 0] * p[:, 1]


def _gaussian(p: np.ndarray) -> np.ndarray:
    return p[:, 0] + p[:, 1]


def _spiral(p: np.ndarray) -> np.ndarray:
    radius = np.hypot(p[:, 0], p[:, 1])
    angle = np.arctan2(p[:, 1], p[:, 0])
    return -np.cos(angle - _SPIRAL_TURN * radius)  # +1 on the class-1 arm, -1 on the class-0 arm


def _arc_distance(p: np.ndarray, center: tuple[float, float], upper: bool) -> np.ndarray:
    """Distance from points to the unit half circle around ``center`` (upper or lower half)."""
    d = p - np.asarray(center)
    on_side = d[:, 1] >= 0 if upper else d[:, 1] <= 0
    to_circle = np.abs(np.hypot(d[:, 0], d[:, 1]) - 1.0)
    to_ends = np.minimum(np.hypot(d[:, 0] - 1.0, d[:, 1]), np.hypot(d[:, 0] + 1.0, d[:, 1]))
    return np.where(on_side, to_circle, to_ends)


_MOON_UPPER = (0.0, 0.0)
_MOON_LOWER = (1.0, 0.5)


def _moons(p: np.ndarray) -> np.ndarray:
    return _arc_distance(p, _MOON_UPPER, upper=True) - _arc_distance(p, _MOON_LOWER, upper=False)


def _plane(p: np.ndarray) -> np.ndarray:
    return (p[:, 0] + p[:, 1]) / 2.0


def _multi_gaussian(p: np.ndarray) -> np.ndarray:
    # Playground: six centres in [-6, 6]², value sign * clamp(1 - dist / 2, 0, 1), the largest |value| wins.
    # We use the same picture scaled by 1/6 to [-1, 1]².
    best = np.zeros(len(p))
    for cx, cy, sign in _BUMPS:
        dist = np.hypot(p[:, 0] - cx / 6.0, p[:, 1] - cy / 6.0)
        value = sign * np.clip(1.0 - dist / (2.0 / 6.0), 0.0, 1.0)
        best = np.where(np.abs(value) > np.abs(best), value, best)
    return best


_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": _linear,
    "circle": _circle,
    "periodic": _periodic,
    "xor": _xor,
    "gaussian": _gaussian,
    "spiral": _spiral,
    "moons": _moons,
    "plane": _plane,
    "multi_gaussian": _multi_gaussian,
}

_FORMULAS = {
    "linear": "x0 + x1 - 1",
    "circle": "0.6 - sqrt(x0^2 + x1^2)",
    "periodic": "x1 - cos(x0)",
    "xor": "x0 * x1",
    "gaussian": "x0 + x1",
    "spiral": "-cos(atan2(x1, x0) - 3.5*pi*r), r = sqrt(x0^2 + x1^2)",
    "moons": "dist(upper moon) - dist(lower moon)",
    "plane": "(x0 + x1) / 2",
    "multi_gaussian": "signed bump of largest magnitude",
}


@dataclass(frozen=True)
class TrueFunction:
    """The noiseless truth of a toy set: a picklable description that can be evaluated.

    ``kind == "boundary"``: ``f(points)`` is a signed score, > 0 for class 1,
    < 0 for class 0; the boundary is ``f == 0``. ``kind == "target"``: ``f(points)``
    is the noiseless regression target, shape ``(m, 1)``.
    ``points`` is an ``(m, 2)`` numpy array or torch tensor; the result has the same type.
    """

    dataset: str
    kind: str  # "boundary" or "target"
    formula: str = ""

    def __call__(self, points: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        is_tensor = isinstance(points, torch.Tensor)
        array = points.detach().cpu().double().numpy() if is_tensor else np.asarray(points, dtype=np.float64)
        if array.ndim != 2 or array.shape[1] != 2:
            raise ParameterError(f"{self.dataset} {self.kind} expects points of shape (m, 2), got {tuple(array.shape)}")
        values = _FUNCTIONS[self.dataset](array)
        if self.kind == "target":
            values = values.reshape(-1, 1)
        if is_tensor:
            return torch.from_numpy(values.astype(np.float32))
        return values

    def label(self, points: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """Class labels (0/1, int64) on each side of the boundary (ties go to class 0)."""
        if self.kind != "boundary":
            raise ParameterError(f"{self.dataset} is a regression set; it has a target, not class labels")
        values = self(points)
        return (values > 0).long() if isinstance(values, torch.Tensor) else (values > 0).astype(np.int64)


def true_boundary(name: str) -> TrueFunction | None:
    """The true boundary of toy set ``name`` (``None`` for the regression sets)."""
    key = _toy_key(name)
    return TrueFunction(key, "boundary", _FORMULAS[key]) if key in TOY_CLASSIFICATION else None


def true_target(name: str) -> TrueFunction | None:
    """The noiseless target of a toy regression set (``None`` for classification sets)."""
    key = _toy_key(name)
    return TrueFunction(key, "target", _FORMULAS[key]) if key in TOY_REGRESSION else None


def _toy_key(name: str) -> str:
    key = str(name).lower()
    if key not in _FUNCTIONS:
        raise UnknownNameError("toy dataset", str(name), TOY_NAMES)
    return key


# --- clean point generators: (rng, n) -> (points, labels or None) ------------------------------

def _halves(n: int) -> tuple[int, int]:
    return n - n // 2, n // 2  # class 0, class 1


def _uniform(rng: np.random.Generator, n: int, low: tuple[float, float], high: tuple[float, float]) -> np.ndarray:
    return rng.uniform(low, high, size=(n, 2))


def _gen_linear(rng, n):
    return _uniform(rng, n, (-1.0, -1.0), (2.0, 2.0)), None


def _gen_circle(rng, n):
    n0, n1 = _halves(n)
    # uniform in area: r = sqrt(u) between the radii
    r1 = 0.5 * np.sqrt(rng.uniform(0, 1, n1))
    r0 = np.sqrt(rng.uniform(0.7**2, 1.0, n0))
    radius = np.concatenate([r0, r1])
    angle = rng.uniform(0, 2 * math.pi, n)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return points, np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])


def _gen_periodic(rng, n):
    return _uniform(rng, n, (-3 * math.pi, -2.5), (3 * math.pi, 2.5)), None


def _gen_xor(rng, n):
    return _uniform(rng, n, (-1.0, -1.0), (1.0, 1.0)), None


def _gen_gaussian(rng, n):
    n0, n1 = _halves(n)
    offsets = np.clip(rng.standard_normal((n, 2)), -3.0, 3.0) * _BLOB_STD
    centers = np.concatenate([np.full((n0, 2), -_BLOB_CENTER), np.full((n1, 2), _BLOB_CENTER)])
    return centers + offsets, np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])


def _gen_spiral(rng, n):
    n0, n1 = _halves(n)
    radius = rng.uniform(0.05, 1.0, n)
    labels = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    angle = _SPIRAL_TURN * radius + math.pi * labels
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1), labels


def _gen_moons(rng, n):
    n0, n1 = _halves(n)
    t0 = rng.uniform(0, math.pi, n0)
    t1 = rng.uniform(0, math.pi, n1)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1) + np.asarray(_MOON_UPPER)
    lower = np.stack([np.cos(t1), -np.sin(t1)], axis=1) + np.asarray(_MOON_LOWER)
    return np.concatenate([upper, lower]), np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])


def _gen_square(rng, n):
    return _uniform(rng, n, (-1.0, -1.0), (1.0, 1.0)), None


_GENERATORS = {
    "linear": _gen_linear,
    "circle": _gen_circle,
    "periodic": _gen_periodic,
    "xor": _gen_xor,
    "gaussian": _gen_gaussian,
    "spiral": _gen_spiral,
    "moons": _gen_moons,
    "plane": _gen_square,
    "multi_gaussian": _gen_square,
}


def load_toy(
    name: str,
    *,
    n: int = 1000,
    noise: float = 0.0,
    seed: int = 0,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    standardize: bool = False,
) -> Dataset:
    """Generate toy set ``name``: ``n`` points split 60/20/20 into train/val/test (by default).

    ``noise`` is the standard deviation of Gaussian jitter added to both
    coordinates after labelling; ``seed`` fixes everything. ``standardize``
    rescales the inputs with the training mean/std (the true functions then
    no longer apply to ``x`` directly: ``extra["standardize"]`` holds the map).
    """
    key = _toy_key(name)
    n = check_int("n", n, minimum=1)
    check_points(n)
    noise = check_float("noise", noise, minimum=0.0)
    seed = check_int("seed", seed, minimum=0)
    val_fraction = check_fraction("val_fraction", val_fraction)
    test_fraction = check_fraction("test_fraction", test_fraction)
    standardize = check_bool("standardize", standardize)
    if val_fraction + test_fraction >= 1.0:
        raise ParameterError(f"val_fraction + test_fraction must be < 1, got {val_fraction} + {test_fraction}")
    n_val, n_test = round(n * val_fraction), round(n * test_fraction)
    if n - n_val - n_test < 1:
        raise ParameterError(f"n={n} leaves no training points after the validation and test splits")

    rng = np.random.default_rng(seed)
    points, labels = _GENERATORS[key](rng, n)
    values = _FUNCTIONS[key](points)
    classification = key in TOY_CLASSIFICATION
    if classification:
        if labels is None:
            labels = (values > 0).astype(np.int64)
        y = labels
    else:
        y = values.reshape(-1, 1)
    jitter = rng.standard_normal(points.shape) * noise if noise > 0 else 0.0
    x = (points + jitter).astype(np.float32)

    test_idx, val_idx, train_idx = split_indices(n, (n_test, n_val), rng)
    truth = TrueFunction(key, "boundary" if classification else "target", _FORMULAS[key])
    extra: dict[str, Any] = {
        "domain": DOMAINS[key],
        "options": {"n": n, "noise": noise, "seed": seed, "val_fraction": val_fraction, "test_fraction": test_fraction},
        "kind": "toy2d",
    }
    extra["boundary" if classification else "target"] = truth
    return assemble(
        key,
        {"train": (x[train_idx], y[train_idx]), "val": (x[val_idx], y[val_idx]), "test": (x[test_idx], y[test_idx])},
        task="classification" if classification else "regression",
        num_classes=2 if classification else 0,
        input_shape=(2,),
        description=f"{DESCRIPTIONS[key]} (n={n}, noise={noise:g}, seed={seed})",
        extra=extra,
        standardize=standardize,
        seed=seed,
    )
