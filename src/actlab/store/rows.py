"""The rows the store hands out: one run, one epoch (frozen, JSON-ready)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RunRow", "EpochRow", "StepRow", "PointRow"]


@dataclass(frozen=True)
class RunRow:
    run_id: str
    activation: str
    label: str
    params: dict[str, Any]
    seed: int
    lr: float | None
    status: str
    diverged_epoch: int | None
    diverged_step: int | None
    reason: str | None
    wall_seconds: float | None
    started: str | None
    finished: str | None
    # from the results table (None unless finished)
    best_epoch: int | None = None
    test_loss: float | None = None
    test_accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    seconds_per_epoch: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class EpochRow:
    run_id: str
    epoch: int
    step: int
    train_loss: float | None
    val_loss: float | None
    val_accuracy: float | None
    seconds: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class StepRow:
    run_id: str
    step: int
    train_loss: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class PointRow:
    """One reportable point of a finished run: ``criterion`` best-val-loss | best-val-acc | final."""

    run_id: str
    criterion: str
    epoch: int | None
    step: int | None
    test_loss: float | None
    test_accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)
