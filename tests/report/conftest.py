"""Synthetic sweep stores for the report tests (no training)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from actlab.store import Store


def build_store(path, accuracies, *, lrs=None, lr_penalty=None, overfit=(), epochs=6, dataset="synthetic",
                task="classification", depth=2):
    """``accuracies``: activation → per-seed test accuracy (test loss for regression); None = that seed diverged.

    ``lrs``: a learning-rate grid; ``lr_penalty``: (activation, lr) → amount subtracted at that rate.
    ``overfit``: activations whose validation loss rises for the last 3 epochs while training loss falls.
    """
    acts = list(accuracies)
    seeds = max(len(v) for v in accuracies.values())
    config = {"dataset": dataset, "model": "mlp", "depth": depth, "width": 8, "acts": acts, "seeds": seeds,
              "epochs": epochs, "lr": None, "lr_grid": list(lrs) if lrs else None, "task": task,
              "lr_resolved": 1e-3, "batch_size": 32}
    grid = [(a, s, lr) for a in acts for lr in (lrs or [None]) for s in range(len(accuracies[a]))]
    with Store(path) as st:
        st.init_sweep(config, "fp", command="actlab compare", reproduce="actlab compare")
        rows = [{"run_id": f"{a}/seed={s}/lr={lr}", "activation": a, "label": a, "seed": s, "lr": lr or 1e-3}
                for a, s, lr in grid]
        st.add_runs(rows)
        for row, (a, s, lr) in zip(rows, grid):
            value = accuracies[a][s]
            if value is None:
                st.record_epoch(row["run_id"], 1, 10, 3.0, math.inf, 0.1, 0.1)
                st.record_diverged(row["run_id"], 2, 11, "loss became nan")
                continue
            value -= (lr_penalty or {}).get((a, lr), 0.0)
            for epoch in range(1, epochs + 1):
                train = 1.0 / epoch
                val = 1.2 / epoch if (a not in overfit or epoch <= epochs - 3) else 1.2 / (epochs - 3) + 0.1 * (
                    epoch - epochs + 3)
                acc = value * (1 - 0.5 ** epoch) if task == "classification" else None
                st.record_epoch(row["run_id"], epoch, epoch * 10, train, val, acc, 0.05)
            if task == "classification":
                st.record_end(row["run_id"], best_epoch=epochs, test_loss=1 - value, test_accuracy=value,
                              val_loss=0.2, val_accuracy=value, seconds_per_epoch=0.05)
            else:
                st.record_end(row["run_id"], best_epoch=epochs, test_loss=value, test_accuracy=None,
                              val_loss=value, val_accuracy=None, seconds_per_epoch=0.05)
        st.add_wall_time(3.0)
    return path


def noisy(mean, seeds=5, spread=0.002, seed=0):
    rng = np.random.default_rng(seed)
    return [float(mean + rng.normal(0, spread)) for _ in range(seeds)]


@pytest.fixture
def store():
    return build_store
