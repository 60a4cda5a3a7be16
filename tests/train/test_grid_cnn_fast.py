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


def test_per_model_convolutions_equal_the_grouped_path(monkeypatch):
    """The CPU path (one convolution per run, the first as a GEMM on unfolded patches written channels-last, the
    first dense layer run by run) gives the grouped path's outputs and gradients: three input channels, one batch
    shared by all runs and one batch per run, training and evaluation."""
    from actlab.train import grid_cnn
    from actlab.train.grid import GridTrainer
    from actlab.train.prepared import prepare

    g = torch.Generator().manual_seed(3)
    x = torch.randn(40, 3, 9, 9, generator=g)
    y = torch.randint(0, 3, (40,), generator=g)
    data = prepare(Dataset("rgb", x[:24], y[:24], x[24:32], y[24:32], x[32:], y[32:], 3, (3, 9, 9),
                           "classification"), "cnn")
    runs = [RunSpec(a, s) for a in ("relu", "quick_gelu", "tanh") for s in (0, 1)]
    trainer = GridTrainer(data, TrainConfig(model="cnn", batch_size=8, precision="fp32"), runs)
    batch = data.x_train[:8]
    per_run = torch.stack([data.x_train[8 * (i % 2):8 * (i % 2) + 8] for i in range(len(runs))])

    def outputs_and_grads():
        results = []
        for x_in, shared in ((batch, True), (per_run, False)):
            for train in (True, False):
                for p in trainer.params:
                    p.grad = None
                out = trainer.forward(trainer.params, x_in, shared, train)
                out.square().sum().backward()
                results.append((out.detach(), [p.grad.clone() for p in trainer.params]))
        return results

    per_model = outputs_and_grads()
    monkeypatch.setattr(grid_cnn, "PER_MODEL_DEVICES", ())
    grouped = outputs_and_grads()
    for (out_a, grads_a), (out_b, grads_b) in zip(per_model, grouped):
        torch.testing.assert_close(out_a, out_b, rtol=1e-5, atol=1e-5)
        for a, b in zip(grads_a, grads_b):  # float32 sums in another order: 1.8e-5 apart seen where max |g| ≈ 1
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * float(b.abs().max()))
