"""The toy sets' true functions and boundaries (numpy in, numpy out, float64): what the boundary lab and
the previews draw against.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from actlab.errors import ParameterError, UnknownNameError

TOY_CLASSIFICATION = ("linear", "circle", "periodic", "xor", "gaussian", "spiral", "moons")
TOY_REGRESSION = ("plane", "multi_gaussian")
TOY_NAMES = TOY_CLASSIFICATION + TOY_REGRESSION

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


