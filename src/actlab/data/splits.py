"""Shared pieces of every loader: option checks, seeded (stratified) splits, and
:func:`assemble`, which turns numpy splits into a :class:`Dataset`.

All randomness comes from ``numpy.random.default_rng(seed)`` (PCG64, whose
streams numpy keeps stable across versions), so the same seed gives the same
data on every machine.
"""
from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import torch

from actlab.data.base import Dataset
from actlab.errors import ParameterError

__all__ = [
    "check_int",
    "check_float",
    "check_fraction",
    "check_bool",
    "check_choice",
    "split_indices",
    "subset_indices",
    "assemble",
]


def check_int(option: str, value: Any, *, minimum: int | None = None, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ParameterError(f"option {option} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ParameterError(f"option {option} must be >= {minimum}, got {value}")
    return value


def check_float(option: str, value: Any, *, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"option {option} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ParameterError(f"option {option} must be finite, got {value}")
    if minimum is not None and value < minimum:
        raise ParameterError(f"option {option} must be >= {minimum}, got {value}")
    return value


def check_fraction(option: str, value: Any) -> float:
    value = check_float(option, value, minimum=0.0)
    if value >= 1.0:
        raise ParameterError(f"option {option} must be in [0, 1), got {value}")
    return value


def check_bool(option: str, value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ParameterError(f"option {option} must be true or false, got {value!r}")


def check_choice(option: str, value: Any, choices: tuple[Any, ...]) -> Any:
    if value not in choices:
        raise ParameterError(f"option {option} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def _groups(labels: np.ndarray | None, n: int) -> list[np.ndarray]:
    if labels is None:
        return [np.arange(n)]
    return [np.flatnonzero(labels == value) for value in np.unique(labels)]


def split_indices(
    n: int, sizes: tuple[int, ...], rng: np.random.Generator, labels: np.ndarray | None = None
) -> list[np.ndarray]:
    """Shuffle ``range(n)`` into consecutive parts of ``sizes`` (the last part takes the rest).

    With ``labels`` the parts are stratified: each part gets every class in
    (close to) its overall proportion. Each part comes back sorted-shuffled
    (a random order, deterministic for the generator's state).
    """
    if sum(sizes) > n:
        raise ParameterError(f"cannot take {sum(sizes)} examples out of {n}")
    sizes = (*sizes, n - sum(sizes))
    if labels is None:
        order = rng.permutation(n)
        bounds = np.cumsum((0, *sizes))
        return [order[bounds[i] : bounds[i + 1]] for i in range(len(sizes))]
    # stratified: apportion each part's size over the classes (largest remainder),
    # then deal the shuffled members of each class out to the parts.
    groups = [rng.permutation(group) for group in _groups(labels, n)]
    counts = np.array([len(g) for g in groups])
    parts: list[list[np.ndarray]] = [[] for _ in sizes]
    remaining = counts.copy()
    taken = np.zeros(len(groups), dtype=int)
    for part, size in enumerate(sizes[:-1]):
        share = size * counts / n
        alloc = np.minimum(np.floor(share).astype(int), remaining)
        leftover = size - alloc.sum()
        for k in np.argsort(-(share - np.floor(share)), kind="stable"):
            if leftover <= 0:
                break
            if alloc[k] < remaining[k]:
                alloc[k] += 1
                leftover -= 1
        for k in range(len(groups)):  # classes too small to fill their share: top up from the others
            if leftover <= 0:
                break
            extra = min(leftover, remaining[k] - alloc[k])
            alloc[k] += extra
            leftover -= extra
        for k, group in enumerate(groups):
            parts[part].append(group[taken[k] : taken[k] + alloc[k]])
        taken += alloc
        remaining -= alloc
    for k, group in enumerate(groups):
        parts[-1].append(group[taken[k] :])
    return [rng.permutation(np.concatenate(p)) if p else np.array([], dtype=int) for p in parts]


def subset_indices(labels: np.ndarray, size: int, rng: np.random.Generator, stratify: bool) -> np.ndarray:
    """``size`` seeded indices into ``labels`` (stratified by class when ``stratify``)."""
    n = len(labels)
    if size >= n:
        return np.arange(n)
    return split_indices(n, (size,), rng, labels if stratify else None)[0]


def assemble(
    name: str,
    splits: dict[str, tuple[np.ndarray, np.ndarray]],
    *,
    task: Literal["classification", "regression"],
    num_classes: int,
    input_shape: tuple[int, ...],
    description: str,
    extra: dict[str, Any] | None = None,
    standardize: bool | Literal["feature", "global"] = False,
    subset: int | None = None,
    seed: int = 0,
) -> Dataset:
    """Build the :class:`Dataset` from ``{"train": (x, y), "val": ..., "test": ...}``.

    ``subset`` keeps a seeded (stratified for classification) sample of the
    training split only. ``standardize`` subtracts the training mean and
    divides by the training standard deviation, per feature (``True`` or
    ``"feature"``) or with one scalar for all features (``"global"``, used for
    images); the statistics go into ``extra["standardize"]``.
    """
    extra = dict(extra or {})
    x_train, y_train = splits["train"]
    if subset is not None:
        keep = subset_indices(y_train if task == "classification" else np.zeros(len(y_train)), subset,
                              np.random.default_rng([seed, 1]), stratify=task == "classification")
        x_train, y_train = x_train[keep], y_train[keep]
        splits = {**splits, "train": (x_train, y_train)}
    arrays = {part: (np.asarray(x, dtype=np.float32), y) for part, (x, y) in splits.items()}
    if standardize:
        train = arrays["train"][0]
        if standardize == "global":
            mean = np.asarray(train.mean(dtype=np.float64), dtype=np.float32)
            std = np.asarray(train.std(dtype=np.float64), dtype=np.float32)
        else:
            mean = train.mean(axis=0, dtype=np.float64).astype(np.float32)
            std = train.std(axis=0, dtype=np.float64).astype(np.float32)
        std = np.where(std > 1e-8, std, np.float32(1.0)).astype(np.float32)
        arrays = {part: ((x - mean) / std, y) for part, (x, y) in arrays.items()}
        extra["standardize"] = {"mean": mean, "std": std, "mode": "global" if standardize == "global" else "feature"}

    def target(y: np.ndarray) -> torch.Tensor:
        if task == "classification":
            return torch.from_numpy(np.asarray(y, dtype=np.int64).reshape(-1).copy())
        values = np.asarray(y, dtype=np.float32)
        width = int(np.prod(values.shape[1:])) if values.ndim > 1 else 1  # an empty split keeps its width
        return torch.from_numpy(values.reshape(len(values), width).copy())

    tensors = {}
    for part in ("train", "val", "test"):
        x, y = arrays[part]
        tensors[f"x_{part}"] = torch.from_numpy(np.ascontiguousarray(x).reshape(len(x), *input_shape))
        tensors[f"y_{part}"] = target(y)
    return Dataset(
        name=name,
        **tensors,
        num_classes=num_classes if task == "classification" else 0,
        input_shape=tuple(input_shape),
        task=task,
        description=description,
        extra=extra,
    )
