"""Events the trainer reports through ``on_event`` (plain dataclasses, JSON-serialisable fields)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["ClipCount", "EpochEnd", "LayerDiagnostics", "RunDiverged", "RunEnd", "StepLosses"]


class _Event:
    def to_dict(self) -> dict[str, Any]:
        return {"event": type(self).__name__, **dataclasses.asdict(self)}  # type: ignore[call-overload]


@dataclass(frozen=True)
class EpochEnd(_Event):
    """One run reached an evaluation point; ``step`` counts its optimiser steps so far.

    ``epoch``: epochs completed (epoch budget) or the evaluation's number, 1-based (step budget).
    """

    run_id: str
    epoch: int
    step: int
    train_loss: float  # mean over the training examples since the previous evaluation point
    val_loss: float | None  # None without a validation split
    val_accuracy: float | None  # None for regression or without a validation split
    seconds: float  # this run's share of the epoch's wall time (grid: grid time / live runs)


@dataclass(frozen=True)
class RunDiverged(_Event):
    """The run's loss became NaN/inf at ``epoch`` (1-based), optimiser step ``step`` (1-based); it stopped."""

    run_id: str
    epoch: int
    step: int
    reason: str


@dataclass(frozen=True)
class StepLosses(_Event):
    """The training loss of each optimiser step ``first_step``, ``first_step + 1``, … (1-based) of one run
    (``log_every_step``): the mean loss of the step's mini-batch, before the step's update."""

    run_id: str
    first_step: int
    losses: tuple[float, ...]


@dataclass(frozen=True)
class RunEnd(_Event):
    """The run finished; the test metrics are those of the evaluation point ``report_at`` chose
    (``best_epoch``, ``step``): lowest validation loss, highest validation accuracy, or the final one.

    ``points``: every criterion's point ({criterion: {epoch, step, test_loss, test_accuracy, val_loss,
    val_accuracy}}); without a validation split only "final".
    """

    run_id: str
    best_epoch: int
    test_loss: float
    test_accuracy: float | None  # None for regression
    val_loss: float | None  # at best_epoch (None without a validation split)
    val_accuracy: float | None  # at best_epoch
    seconds_per_epoch: float
    report_at: str = "best-val-loss"
    step: int | None = None
    points: dict[str, dict[str, Any]] | None = None


@dataclass(frozen=True)
class LayerDiagnostics(_Event):
    """Gradient flow per hidden layer of one run (``--diagnostics``), on the fixed evaluation batch.

    Measured after ``epoch`` (1-based; 0: at initialisation, before any step) by
    the gradient-flow probe (:mod:`actlab.sweep.probes`).  ``layers``: one dict per hidden layer
    (:meth:`actlab.analysis.layer_measures.LayerMeasures.to_dict`: speed, weight_grad_norm,
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


@dataclass(frozen=True)
class EngineNote(_Event):
    """Which engine trains a cell of runs and why (e.g. the stacked engine fell back to sequential runs)."""

    run_id: str  # the cell's first run
    engine: str  # "stacked" | "sequential"
    runs: int
    reason: str
