"""The 2-D lab's recipe: tiny classifiers (2 inputs → one hidden layer → 1 sigmoid output) for every
activation row × seed, trained by the 2-D engine (:class:`actlab.train.net2d.Net2dEngine`) under the driver
(:func:`actlab.train.driver.drive`, a budget in full-batch steps), then the best restart of each seed kept.

This module is configuration only: :class:`BoundaryConfig` (the recipe and its bounds) and
:func:`train_rows` (config → engine → driver → the kept nets).  Rows (``"cos,identity"``, ``"maxout:k=3"``,
...) are parsed by :func:`actlab.train.net2d.parse_row`; initial weights are described there.  With
``restarts`` R, restart j ≥ 1 of seed s draws from generator seed ``2³¹ + 64·s + j`` (the generator uses
32 bits of a seed); the R initialisations train side by side in the stack and each seed keeps the one
with the lowest final training loss.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from actlab.errors import ActlabError
from actlab.train.net2d import ActivationRow, TrainedRow, parse_row

__all__ = ["ActivationRow", "BoundaryConfig", "TrainedRow", "median_seed", "parse_row", "train_rows"]


# bounds of the lab's tiny nets: a hostile --hidden 100000000 or --steps 1e11 is refused, not run for hours
MAX_HIDDEN = 4096
MAX_STEPS = 1_000_000
MAX_SEEDS = 1000
MAX_RESTARTS = 64
RESTART_BASE = 1 << 31  # restart j ≥ 1 of seed s draws from generator seed 2³¹ + 64·s + j (restart 0: seed s)


@dataclass(frozen=True)
class BoundaryConfig:
    """The 2-D recipe. Defaults: 2 000 full-batch Adam steps at lr 0.03, best of 4 restarts per seed.

    ``restarts``: each seed trains that many initialisations side by side and keeps the one with the lowest
    final *training* loss (the test split plays no part).  Measured on ``circle`` (seeds 0–29): square with
    2 units and no bias reaches 100 % on every seed with 4 restarts, on 6 of 10 with 1; see
    ``docs/recipes/classic-2d.md``.  ``init``: the hidden layer's scheme (None: each unit's activation's
    recommendation); the output layer is glorot_normal; ``weight_scale``: a gain on both layers' weights.
    """

    hidden: int = 2  # hidden units
    bias: bool = True  # hidden-layer bias (the output bias is always there)
    steps: int = 2000  # full-batch Adam steps (one step is one epoch)
    lr: float = 0.03  # Adam learning rate
    seeds: int = 1  # seeds per activation: first_seed, first_seed + 1, ...
    first_seed: int = 0
    snapshots: int = 0  # keep this many parameter snapshots over training (for animations)
    restarts: int = 4  # initialisations per seed; the lowest final training loss is kept
    init: str | None = None  # hidden-layer init scheme (None / "auto": the activation's recommendation)
    weight_scale: float = 1.0  # gain on every weight

    def validate(self) -> None:
        if not 1 <= self.hidden <= MAX_HIDDEN:
            raise ActlabError(f"--hidden must be between 1 and {MAX_HIDDEN} (a 2-D lab net), got {self.hidden}")
        if not 1 <= self.steps <= MAX_STEPS:
            raise ActlabError(f"--steps must be between 1 and {MAX_STEPS:,}, got {self.steps}")
        if self.seeds > MAX_SEEDS:
            raise ActlabError(f"--seeds must be at most {MAX_SEEDS}, got {self.seeds}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ActlabError(f"--lr must be a positive number, got {self.lr}")
        if self.seeds < 1:
            raise ActlabError(f"--seeds must be at least 1, got {self.seeds}")
        if self.first_seed < 0:
            raise ActlabError(f"the first seed must be >= 0, got {self.first_seed}")
        if not 1 <= self.restarts <= MAX_RESTARTS:
            raise ActlabError(f"--restarts must be between 1 and {MAX_RESTARTS}, got {self.restarts}")
        if not (self.weight_scale > 0 and math.isfinite(self.weight_scale)):
            raise ActlabError(f"--weight-scale must be a positive number, got {self.weight_scale}")
        if self.init is not None:
            _check_init(self.init)

    def describe(self) -> dict[str, Any]:
        """The recipe as JSON-ready data, with a one-line ``text``."""
        text = f"{self.steps} full-batch Adam steps at lr {self.lr:g}"
        if self.restarts > 1:
            text += f", best of {self.restarts} restarts by training loss"
        if self.init not in (None, "auto"):
            text += f", init {self.init}"
        if self.weight_scale != 1.0:
            text += f", weight scale {self.weight_scale:g}"
        text += f", seed {self.first_seed}" if self.seeds == 1 else f", seeds {self.first_seed}–{self.first_seed + self.seeds - 1}"
        return {"hidden": self.hidden, "bias": self.bias, "steps": self.steps, "optimizer": "adam", "lr": self.lr,
                "restarts": self.restarts, "init": self.init or "auto", "weight_scale": self.weight_scale,
                "seeds": self.seeds, "first_seed": self.first_seed, "text": text}


def _check_init(text: str) -> None:
    from actlab.models import parse_init

    parse_init(text)


def _generator_seeds(config: BoundaryConfig) -> list[int]:
    """Generator seeds of every initialisation, restart-major: restart 0 of each seed, then restart 1, ..."""
    seeds = range(config.first_seed, config.first_seed + config.seeds)
    return [seed if restart == 0 else RESTART_BASE + (MAX_RESTARTS * seed + restart) % RESTART_BASE
            for restart in range(config.restarts) for seed in seeds]


def train_config(config: BoundaryConfig):
    """The :class:`~actlab.train.config.TrainConfig` of the recipe: full-batch Adam, a budget of ``steps``
    steps evaluated once at the end, reported at the final step (the 2-D sets have no validation split)."""
    from actlab.train.config import TrainConfig

    return TrainConfig(model="mlp", depth=1, width=config.hidden, steps=config.steps, eval_every=config.steps,
                       report_at="final", optimizer="adam", lr=config.lr, bias=config.bias, init=config.init,
                       weight_scale=config.weight_scale, precision="fp32")


def train_rows(rows: Sequence[ActivationRow], x: Tensor, y: Tensor, config: BoundaryConfig) -> list[TrainedRow]:
    """Train every row × seed × restart on (x (N, 2), y (N,) in {0, 1}), full batch, and keep per seed the
    restart with the lowest final training loss (a diverged one never wins)."""
    from actlab.train.driver import drive
    from actlab.train.net2d import Net2dEngine, two_d_data

    config.validate()
    for row in rows:
        if row.hidden != config.hidden:
            raise ActlabError(f"activation {row.text!r} has {row.hidden} units but the hidden layer has {config.hidden}")
    schedule = train_config(config)
    engine = Net2dEngine(two_d_data(x, y), schedule, rows, _generator_seeds(config),
                         snapshot_steps=_snapshot_epochs(config))
    drive(engine, schedule, emit=lambda event: None)
    kept = []
    for trained in engine.trained_rows(config):
        losses = torch.nan_to_num(trained.final_loss, nan=math.inf).reshape(config.restarts, config.seeds)
        keep = losses.argmin(dim=0) * config.seeds + torch.arange(config.seeds)
        kept.append(TrainedRow(
            row=trained.row, config=config, seeds=list(range(config.first_seed, config.first_seed + config.seeds)),
            w1=trained.w1.index_select(0, keep), b1=None if trained.b1 is None else trained.b1.index_select(0, keep),
            w2=trained.w2.index_select(0, keep), b2=trained.b2.index_select(0, keep),
            learnable=[{n: v.index_select(0, keep) for n, v in g.items()} for g in trained.learnable],
            final_loss=trained.final_loss.index_select(0, keep),
            snapshots=[(step, _select(weights, keep)) for step, weights in trained.snapshots]))
    return kept


def _select(weights: dict[str, Any], keep: Tensor) -> dict[str, Any]:
    """The kept initialisations' rows of a snapshot."""
    return {name: None if value is None else (
        [{n: v.index_select(0, keep) for n, v in g.items()} for g in value] if name == "learnable"
        else value.index_select(0, keep)) for name, value in weights.items()}


def _snapshot_epochs(config: BoundaryConfig) -> set[int]:
    if config.snapshots <= 0:
        return set()
    count = min(config.snapshots, config.steps + 1)
    # denser early (training changes fastest at the start): quadratic spacing
    return {round(config.steps * (i / max(count - 1, 1)) ** 2) for i in range(count)}


def median_seed(accuracy: Tensor, loss: Tensor) -> int:
    """Index of the median seed by test accuracy (ties broken by lower loss)."""
    order = sorted(range(len(accuracy)), key=lambda i: (float(torch.nan_to_num(accuracy[i], nan=-1.0)), -float(loss[i])))
    return order[(len(order) - 1) // 2]
