"""``actlab boundary`` as a library call: load a toy set, train every activation × seed, summarise.

>>> result = run_boundary("circle", ["square", "relu"], BoundaryConfig(hidden=2, bias=False, steps=300))
>>> sorted(result.summaries[0])[:3]
['activation', 'bias', 'extrapolation_accuracy']
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from actlab.errors import ActlabError
from actlab.lab2d.train import (
    BoundaryConfig,
    TrainedRow,
    median_seed,
    parse_row,
    train_rows,
)

__all__ = ["BoundaryResult", "load_points", "run_boundary", "summarise"]

DEFAULT_POINTS = 500  # 400 train + 100 test (+ 100 extrapolation where the set has a region)


@dataclass
class BoundaryResult:
    dataset: Any
    trained: list[TrainedRow]
    summaries: list[dict[str, Any]]
    seconds: float


def load_points(name: str, *, points: int = DEFAULT_POINTS, noise: float = 0.0, seed: int = 0):
    """A toy classification set split 80 % train / 20 % test (no validation: nothing is tuned on it)."""
    from actlab.data.toy import TOY_CLASSIFICATION, load_toy

    if str(name).lower() not in TOY_CLASSIFICATION:
        raise ActlabError(f"--dataset {name!r}: actlab boundary draws 2-D classification sets; "
                          f"choose one of {', '.join(TOY_CLASSIFICATION)}")
    return load_toy(name, n=points, noise=noise, seed=seed, val_fraction=0.0, test_fraction=0.2)


def _mean_std(values: torch.Tensor) -> tuple[float | None, float | None]:
    values = values[~torch.isnan(values)]
    if len(values) == 0:
        return None, None
    mean = float(values.mean())
    std = float(values.std(unbiased=False)) if len(values) > 1 else 0.0
    return mean, std


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def summarise(dataset, trained: TrainedRow) -> dict[str, Any]:
    """The JSON object of one activation row (accuracies: means over seeds, with ``_std``)."""
    train = trained.accuracy(dataset.x_train, dataset.y_train)
    test = trained.accuracy(dataset.x_test, dataset.y_test)
    far = dataset.extra.get("extrapolation")
    extrapolation = trained.accuracy(*far) if far is not None else None
    shown = median_seed(test, trained.final_loss)
    result: dict[str, Any] = {"activation": trained.row.text, "hidden": trained.hidden, "bias": trained.config.bias,
                              "seeds": trained.seeds}
    for name, values in (("train_accuracy", train), ("test_accuracy", test), ("extrapolation_accuracy", extrapolation)):
        mean, std = _mean_std(values) if values is not None else (None, None)
        result[name], result[name + "_std"] = mean, std
    loss_mean, loss_std = _mean_std(trained.final_loss)
    result["final_loss"] = None if loss_mean is None else _finite(loss_mean)
    result["final_loss_std"] = None if loss_std is None else _finite(loss_std)
    result["output_weights"] = [_finite(float(v)) for v in trained.w2[shown, :, 0]]
    result["output_bias"] = _finite(float(trained.b2[shown, 0, 0]))
    result["shown_seed"] = trained.seeds[shown]
    result["shown_index"] = shown
    result["per_seed"] = {
        "train_accuracy": [_finite(float(v)) for v in train],
        "test_accuracy": [_finite(float(v)) for v in test],
        "extrapolation_accuracy": None if extrapolation is None else [_finite(float(v)) for v in extrapolation],
        "final_loss": [_finite(float(v)) for v in trained.final_loss],
    }
    learned = {}
    for group in trained.learnable:
        for name, value in group.items():
            learned[name] = [_finite(float(v)) for v in value[shown].reshape(-1)]
    if learned:
        result["learned_parameters"] = learned
    result["figure"] = None
    return result


def run_boundary(dataset: str, activations: Sequence[str], config: BoundaryConfig, *, points: int = DEFAULT_POINTS,
                 noise: float = 0.0, data_seed: int = 0) -> BoundaryResult:
    """Train ``activations`` (each an ``--act`` value) × ``config.seeds`` seeds on one toy set."""
    if not activations:
        raise ActlabError("give at least one --act")
    if points < 10:
        raise ActlabError(f"--points must be at least 10, got {points}")
    config.validate()
    rows = [parse_row(text, config.hidden) for text in activations]
    data = load_points(dataset, points=points, noise=noise, seed=data_seed)
    started = time.perf_counter()
    trained = train_rows(rows, data.x_train, data.y_train, config)
    seconds = time.perf_counter() - started
    return BoundaryResult(data, trained, [summarise(data, t) for t in trained], seconds)
