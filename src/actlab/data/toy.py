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
from typing import Any

import numpy as np
import torch

from actlab.data.base import Dataset
from actlab.data.limits import check_points
from actlab.data.splits import (
    assemble,
    check_bool,
    check_float,
    check_fraction,
    check_int,
    split_indices,
)
from actlab.data.toy_truth import (
    _BLOB_CENTER,
    _BLOB_STD,
    _FORMULAS,
    _FUNCTIONS,
    _MOON_LOWER,
    _MOON_UPPER,
    _SPIRAL_TURN,
    TOY_CLASSIFICATION,
    TOY_NAMES,
    TOY_REGRESSION,
    TrueFunction,
    _toy_key,
)
from actlab.errors import ParameterError

__all__ = [
    "TOY_CLASSIFICATION",
    "TOY_REGRESSION",
    "TOY_NAMES",
    "load_toy",
    "DOMAINS",
    "EXTRAPOLATION",
]


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

#: extrapolation regions: (outer window, inner training box), each (x0_min, x0_max, x1_min, x1_max);
#: extrapolation points are drawn uniformly in the outer window outside the inner box, labelled by the
#: same rule. periodic: one more period on each side of x0; linear, circle, xor: a ring a quarter of
#: the training square's side wide around it.
EXTRAPOLATION: dict[str, tuple[tuple[float, float, float, float], tuple[float, float, float, float]]] = {
    "periodic": ((-5 * math.pi, 5 * math.pi, -2.5, 2.5), (-3 * math.pi, 3 * math.pi, -2.5, 2.5)),
    "linear": ((-1.75, 2.75, -1.75, 2.75), (-1.0, 2.0, -1.0, 2.0)),
    "circle": ((-1.5, 1.5, -1.5, 1.5), (-1.0, 1.0, -1.0, 1.0)),
    "xor": ((-1.5, 1.5, -1.5, 1.5), (-1.0, 1.0, -1.0, 1.0)),
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


def _gen_extrapolation(rng: np.random.Generator, key: str, n: int) -> np.ndarray:
    """``n`` points uniform in the extrapolation region of ``key`` (outer window minus the training box)."""
    (ox0, ox1, oy0, oy1), (ix0, ix1, iy0, iy1) = EXTRAPOLATION[key]
    kept: list[np.ndarray] = []
    count = 0
    while count < n:
        p = rng.uniform((ox0, oy0), (ox1, oy1), size=(max(2 * n, 16), 2))
        outside = (p[:, 0] < ix0) | (p[:, 0] > ix1) | (p[:, 1] < iy0) | (p[:, 1] > iy1)
        kept.append(p[outside])
        count += int(outside.sum())
    return np.concatenate(kept)[:n]


def load_toy(
    name: str,
    *,
    n: int = 1000,
    noise: float = 0.0,
    seed: int = 0,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    standardize: bool = False,
    extrapolation: int | None = None,
) -> Dataset:
    """Generate toy set ``name``: ``n`` points split 60/20/20 into train/val/test (by default).

    ``noise`` is the standard deviation of Gaussian jitter added to both
    coordinates after labelling; ``seed`` fixes everything. ``standardize``
    rescales the inputs with the training mean/std (the true functions then
    no longer apply to ``x`` directly: ``extra["standardize"]`` holds the map).

    ``extrapolation``: how many extra points to draw from the same rule *outside*
    the training domain (see :data:`EXTRAPOLATION`; sets without a region get none);
    default ``round(n * test_fraction)``, 0 for none. They go into
    ``extra["extrapolation"] = (x, y)`` (tensors like the test split's) and are drawn
    from their own generator, so the train/val/test splits do not depend on them.
    """
    key = _toy_key(name)
    n = check_int("n", n, minimum=1)
    check_points(n)
    noise = check_float("noise", noise, minimum=0.0)
    seed = check_int("seed", seed, minimum=0)
    val_fraction = check_fraction("val_fraction", val_fraction)
    test_fraction = check_fraction("test_fraction", test_fraction)
    standardize = check_bool("standardize", standardize)
    if extrapolation is not None:
        extrapolation = check_int("extrapolation", extrapolation, minimum=0)
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
    dataset = assemble(
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
    count = round(n * test_fraction) if extrapolation is None else extrapolation
    if key in EXTRAPOLATION and count > 0:
        extra_rng = np.random.default_rng([seed, 2])
        clean = _gen_extrapolation(extra_rng, key, count)
        far_y = (_FUNCTIONS[key](clean) > 0).astype(np.int64)
        far_x = clean + (extra_rng.standard_normal(clean.shape) * noise if noise > 0 else 0.0)
        if "standardize" in dataset.extra:
            far_x = (far_x - dataset.extra["standardize"]["mean"]) / dataset.extra["standardize"]["std"]
        dataset.extra["extrapolation"] = (torch.from_numpy(far_x.astype(np.float32)), torch.from_numpy(far_y))
        dataset.extra["extrapolation_region"] = EXTRAPOLATION[key]
    return dataset
