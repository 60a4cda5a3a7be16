"""The grid's CNN path (grouped convolutions in channels-last layout, torch's native activation ops where the spec
has one, the generic Function otherwise) gives the per-model results within float tolerance."""
from __future__ import annotations

import torch

from actlab.data.base import Dataset
from actlab.train import RunSpec, TrainConfig, train_runs


def _images(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    teacher = torch.randn(64, 3, generator=g)

    def split(m):
        x = torch.randn(m, 1, 8, 8, generator=g)
        return x, (x.reshape(m, -1) @ teacher).argmax(1)

    return Dataset("images", *split(n), *split(32), *split(32), 3, (1, 8, 8), "classification")


def test_cnn_grid_with_native_and_reference_activations_matches_sequential():
    dataset = _images()
    config = TrainConfig(model="cnn", epochs=2, batch_size=16, optimizer="adam", lr=1e-3, precision="fp32")
    # gelu and tanh have a native op, quick_gelu runs the generic Function; two seeds
    runs = [RunSpec(a, s) for a in ("gelu", "quick_gelu") for s in (0, 1)] + [RunSpec("tanh", 1)]
    grid = train_runs(dataset, config, runs, engine="grid")
    alone = train_runs(dataset, config, runs, engine="sequential")
    assert set(grid) == set(alone) == {r.run_id for r in runs}
    for run_id, end in alone.items():
        other = grid[run_id]
        assert abs(end.val_loss - other.val_loss) < 1e-4 * max(1.0, abs(end.val_loss)), run_id
        assert abs(end.test_loss - other.test_loss) < 1e-4 * max(1.0, abs(end.test_loss)), run_id
        assert end.best_epoch == other.best_epoch, run_id
