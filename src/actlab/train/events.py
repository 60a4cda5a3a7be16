"""Events the trainer reports through ``on_event`` (plain dataclasses, JSON-serialisable fields)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["ClipCount", "EpochEnd", "LayerDiagnostics", "RunDiverged", "RunEnd"]


class _Event:
    def to_dict(self) -> dict[str, Any]:
        return {"event": type(self).__name__, **dataclasses.asdict(self)}  # type: ignore[call-overload]


@dataclass(frozen=True)
class EpochEnd(_Event):
    """One run finished an epoch (1-based); ``step`` counts its optimiser steps so far."""

    run_id: str
    epoch: int
    step: int
    train_loss: float  # mean over the epoch's training examples
    val_loss: float
    val_accuracy: float | None  # None for regression
    seconds: float  # this run's share of the epoch's wall time (grid: grid time / live runs)


@dataclass(frozen=True)
class RunDiverged(_Event):
    """The run's loss became NaN/inf at ``epoch`` (1-based), optimiser step ``step`` (1-based); it stopped."""

    run_id: str
    epoch: int
    step: int
    reason: str


@dataclass(frozen=True)
class RunEnd(_Event):
    """The run finished; test metrics use the weights of ``best_epoch`` (lowest validation loss)."""

    run_id: str
    best_epoch: int
    test_loss: float
    test_accuracy: float | None  # None for regression
    val_loss: float  # at best_epoch
    val_accuracy: float | None  # at best_epoch
    seconds_per_epoch: float


@dataclass(frozen=True)
class LayerDiagnostics(_Event):
    """Gradient flow per hidden layer of one run (``--diagnostics``), on the fixed evaluation batch.

    Measured after ``epoch`` (1-based; 0: at initialisation, before any step) by
    :mod:`actlab.train.diagnostics_hook`.  ``layers``: one dict per hidden layer
    (:meth:`actlab.diagnostics.measures.LayerMeasures.to_dict`: speed, weight_grad_norm,
    mean, std, saturated/zero/dead fractions, units); ``histograms``: one compact
    histogram of the layer's activations per hidden layer (min, max, num, sum,
    sum_squares and the counts of equal-width bins from min to max).
    """

    run_id: str
    epoch: int
    step: int
    loss: float  # mean loss on the evaluation batch
    layers: tuple[dict[str, Any], ...]
    histograms: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class ClipCount(_Event):
    """With gradient clipping on: of the run's ``steps`` optimiser steps so far, ``clipped_steps`` were changed by it."""

    run_id: str
    epoch: int
    steps: int
    clipped_steps: int
