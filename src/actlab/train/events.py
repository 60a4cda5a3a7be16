"""Events the trainer reports through ``on_event`` (plain dataclasses, JSON-serialisable fields)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["EpochEnd", "RunDiverged", "RunEnd"]


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
