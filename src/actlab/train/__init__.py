"""Training: configs, events and the two engines behind ``actlab compare``.

>>> from actlab.train import TrainConfig, RunSpec, train_runs
"""
from __future__ import annotations

from actlab.train.config import RunSpec, TrainConfig
from actlab.train.engine import ENGINES, plan_cells, train_runs
from actlab.train.events import EpochEnd, RunDiverged, RunEnd

__all__ = ["TrainConfig", "RunSpec", "EpochEnd", "RunDiverged", "RunEnd", "train_runs", "plan_cells", "ENGINES"]
