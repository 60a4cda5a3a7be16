"""The stacked engine for any nn.Module (torch.func) against the sequential engine; its fallback."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from actlab.data.base import Dataset
from actlab.train import RunSpec, TrainConfig, train_runs
from actlab.train.events import EngineNote

MODELS = Path(__file__).with_name("models_for_stacking.py")


def _dataset() -> Dataset:
    generator = torch.Generator().manual_seed(0)

    def split(n):
        x = torch.randn(n, 4, generator=generator)
        return x, (x[:, 0] + x[:, 1] > 0).long() + (x[:, 2] > 0.8).long()

    (xt, yt), (xv, yv), (xs, ys) = split(160), split(60), split(60)
    return Dataset("toy", xt, yt, xv, yv, xs, ys, 3, (4,), "classification")


def _train(function: str, engine: str, **config):
    notes = []
    cfg = TrainConfig(model="user", model_source=f"{MODELS}:{function}", epochs=2, batch_size=32,
                      precision="fp32", **config)
    runs = [RunSpec("gelu", seed=seed) for seed in range(3)]
    results = train_runs(_dataset(), cfg, runs, engine=engine,
                         on_event=lambda e: notes.append(e) if isinstance(e, EngineNote) else None)
    return results, notes


@pytest.mark.parametrize("config", [{}, {"optimizer": "sgd", "momentum": 0.9, "clip_norm": 0.5},
                                    {"optimizer": "rmsprop", "weight_decay": 1e-3, "clip_value": 0.05}],
                         ids=["adam", "sgd-clip-norm", "rmsprop-clip-value"])
def test_stacked_seeds_equal_the_sequential_engine(config):
    stacked, notes = _train("mlp", "grid", **config)
    sequential, none = _train("mlp", "sequential", **config)
    assert [(n.engine, n.runs) for n in notes] == [("stacked", 3)] and none == []
    assert set(stacked) == set(sequential) and len(stacked) == 3
    for run_id, end in stacked.items():
        reference = sequential[run_id]
        assert end.test_loss == pytest.approx(reference.test_loss, rel=1e-4, abs=1e-5)
        assert end.test_accuracy == pytest.approx(reference.test_accuracy, abs=1e-9)
        assert end.best_epoch == reference.best_epoch
    losses = {e.test_loss for e in stacked.values()}
    assert len(losses) == 3  # three seeds, three different runs


def test_data_dependent_control_flow_falls_back_to_sequential_and_says_so():
    fallen, notes = _train("branchy", "grid")
    sequential, _ = _train("branchy", "sequential")
    assert len(notes) == 1 and notes[0].engine == "sequential" and "vmap" in notes[0].reason
    assert {k: v.test_loss for k, v in fallen.items()} == {k: v.test_loss for k, v in sequential.items()}


def test_a_stacked_cell_resumes_from_its_checkpoint_to_the_same_results(tmp_path):
    from actlab.train.checkpoint import CheckpointDir
    from actlab.train.events import EpochEnd

    cfg = TrainConfig(model="user", model_source=f"{MODELS}:mlp", epochs=3, batch_size=32, precision="fp32",
                      dropout=0.0)
    runs = [RunSpec("tanh", seed=seed) for seed in range(3)]
    straight = train_runs(_dataset(), cfg, runs)
    ended = []
    stopped = train_runs(_dataset(), cfg, runs, checkpoints=CheckpointDir(tmp_path),
                         on_event=lambda e: ended.append(e) if isinstance(e, EpochEnd) else None,
                         should_stop=lambda: len(ended) >= 3)  # stop after the first evaluation point
    assert stopped == {} and len(ended) == 3 and list(tmp_path.glob("checkpoints/stacked-*.pt"))
    resumed = train_runs(_dataset(), cfg, runs, checkpoints=CheckpointDir(tmp_path))
    assert {k: (v.test_loss, v.best_epoch) for k, v in resumed.items()} == \
        {k: (v.test_loss, v.best_epoch) for k, v in straight.items()}
