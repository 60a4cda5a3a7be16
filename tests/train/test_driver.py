"""The driver and the two engines behind its protocol: budgets in steps, evaluation cadence, the three
reported points, per-step losses, and the model / optimiser options on both engines (grid == sequential)."""
from __future__ import annotations

import pytest
import torch

from actlab.data.base import Dataset
from actlab.train import EpochEnd, RunEnd, RunSpec, TrainConfig, train_runs
from actlab.train.driver import Budget
from actlab.train.events import StepLosses
from actlab.train.grid import GridTrainer
from actlab.train.prepared import prepare
from actlab.train.sequential import SingleRun


def make_dataset(n=200, features=6, classes=3, seed=0, val=60):
    g = torch.Generator().manual_seed(seed)
    teacher = torch.randn(features, classes, generator=g)

    def split(m):
        x = torch.randn(m, features, generator=g)
        return x, (x @ teacher + 0.8 * torch.randn(m, classes, generator=g)).argmax(1)

    parts = [split(n), split(val), split(60)]
    return Dataset("synthetic", *parts[0], *parts[1], *parts[2], classes, (features,), "classification")


BASE = dict(depth=2, width=8, batch_size=32, precision="fp32")
RUNS = [RunSpec("tanh", 0), RunSpec("relu", 1)]


def _train(config, engine, runs=RUNS, dataset=None):
    events: list = []
    results = train_runs(dataset or make_dataset(), config, runs, engine=engine, on_event=events.append)
    return events, results


def test_budget_points():
    assert Budget(70, 7, False, 1).points() == [7, 14, 21, 28, 35, 42, 49, 56, 63, 70]
    assert Budget(70, 7, False, 3).points() == [21, 42, 63, 70]
    assert Budget(301, 40, True, 100).points() == [100, 200, 300, 301]
    assert Budget(301, 40, True, 100).label(301) == 4 and Budget(70, 7, False, 3).label(42) == 6


@pytest.mark.parametrize("engine", ["grid", "sequential"])
def test_a_step_budget_trains_exactly_that_many_steps(engine):
    config = TrainConfig(**BASE, steps=11, eval_every=4, log_every_step=True)  # 7 steps per epoch
    events, results = _train(config, engine)
    for run in RUNS:
        ends = [e for e in events if isinstance(e, EpochEnd) and e.run_id == run.run_id]
        assert [(e.epoch, e.step) for e in ends] == [(1, 4), (2, 8), (3, 11)]
        steps = [e for e in events if isinstance(e, StepLosses) and e.run_id == run.run_id]
        assert [s.first_step for s in steps] == [1, 5, 9]
        assert sum(len(s.losses) for s in steps) == 11
        assert results[run.run_id].points["final"]["step"] == 11


def test_step_losses_average_to_the_epoch_loss():
    config = TrainConfig(**{**BASE, "batch_size": 40}, epochs=2, log_every_step=True)  # 5 equal batches
    events, _ = _train(config, "grid")
    steps = [e for e in events if isinstance(e, StepLosses) and e.run_id == RUNS[0].run_id]
    ends = [e for e in events if isinstance(e, EpochEnd) and e.run_id == RUNS[0].run_id]
    for chunk, end in zip(steps, ends):
        assert sum(chunk.losses) / len(chunk.losses) == pytest.approx(end.train_loss, rel=1e-6)


@pytest.mark.parametrize("engine", ["grid", "sequential"])
def test_report_at_picks_the_point_and_stores_all_three(engine):
    dataset = make_dataset(n=60, val=30)  # small and noisy: validation loss turns up while training goes on
    ends = {}
    for report in ("best-val-loss", "best-val-acc", "final"):
        config = TrainConfig(**{**BASE, "width": 32}, epochs=40, lr=0.03, report_at=report)
        _, results = _train(config, engine, [RunSpec("relu", 0)], dataset)
        ends[report] = results["relu/seed=0"]
    points = ends["final"].points
    assert set(points) == {"best-val-loss", "best-val-acc", "final"}
    assert all(e.points == points for e in ends.values())  # the same training, three views of it
    assert points["final"]["epoch"] == 40 and points["best-val-loss"]["epoch"] < 40  # overfits
    for report, end in ends.items():
        assert (end.best_epoch, end.test_loss) == (points[report]["epoch"], points[report]["test_loss"])
    assert ends["final"].test_loss != ends["best-val-loss"].test_loss
    losses = [e.val_loss for e in _train(TrainConfig(**{**BASE, "width": 32}, epochs=40, lr=0.03), engine,
                                         [RunSpec("relu", 0)], dataset)[0] if isinstance(e, EpochEnd)]
    assert points["best-val-loss"]["val_loss"] == pytest.approx(min(losses))


def test_no_validation_split_reports_the_final_point():
    dataset = make_dataset(val=0)
    config = TrainConfig(**BASE, epochs=2, report_at="final")
    events, results = _train(config, "grid", dataset=dataset)
    assert all(e.val_loss is None for e in events if isinstance(e, EpochEnd))
    end = results[RUNS[0].run_id]
    assert set(end.points) == {"final"} and end.val_loss is None and end.test_accuracy is not None


@pytest.mark.parametrize("options", [
    dict(bias=False),
    dict(depth=0),
    dict(init="he_uniform", weight_scale=0.7, bias_init=0.05),
    dict(init="torch-default"),
    dict(init="nielsen"),
    dict(init="standard", optimizer="sgd", momentum=0.8, nesterov=True, weight_decay=1e-3),
    dict(optimizer="rmsprop", lr=1e-2, rmsprop_alpha=0.9, eps=1e-6, rmsprop_momentum=0.5, rmsprop_centered=True),
    dict(optimizer="rmsprop", lr=1e-2, rmsprop_alpha=0.95),
    dict(optimizer="adam", adam_beta1=0.8, adam_beta2=0.99, eps=1e-6, weight_decay=1e-2),
    dict(optimizer="sgd", lr=0.1, momentum=0.0),
])
def test_grid_equals_sequential(options):
    config = TrainConfig(**{**BASE, **options}, epochs=2)
    grid = {e.run_id: e for e in _train(config, "grid")[1].values()}
    sequential = {e.run_id: e for e in _train(config, "sequential")[1].values()}
    for run_id, end in grid.items():
        assert isinstance(end, RunEnd)
        assert end.test_loss == pytest.approx(sequential[run_id].test_loss, rel=1e-4, abs=1e-6), run_id


def test_no_bias_in_both_engines_stays_bias_free():
    data = prepare(make_dataset(), "mlp")
    config = TrainConfig(**BASE, bias=False, epochs=2)
    grid = GridTrainer(data, config, RUNS)
    grid.train_epoch()
    assert all(float(b.abs().max()) == 0.0 for b in grid.params[1::2])
    single = SingleRun(data, config, RUNS[0])
    single.train_epoch()
    assert not any(name.endswith("bias") for name, _ in single.model.named_parameters())


def test_depth_zero_is_logistic_regression_in_the_grid():
    data = prepare(make_dataset(), "mlp")
    grid = GridTrainer(data, TrainConfig(**{**BASE, "depth": 0}), RUNS)
    assert not grid.fast and [tuple(p.shape) for p in grid.params] == [(2, 6, 3), (2, 1, 3)]


def test_resume_mid_budget_equals_uninterrupted(tmp_path):
    from actlab.train.checkpoint import CheckpointDir

    config = TrainConfig(**BASE, steps=13, eval_every=5)
    reference = _train(config, "grid")[1]
    calls = iter(range(10**6))
    stopped = train_runs(make_dataset(), config, RUNS, checkpoints=CheckpointDir(tmp_path),
                         should_stop=lambda: next(calls) >= 8)  # stops after the first evaluation point
    assert not stopped
    resumed = train_runs(make_dataset(), config, RUNS, checkpoints=CheckpointDir(tmp_path))
    for run_id, end in reference.items():
        assert resumed[run_id].test_loss == end.test_loss and resumed[run_id].points == end.points


def test_a_checkpoint_written_before_the_driver_resumes(tmp_path):
    """The checkpoint layout of the per-epoch loops (best_params, best_loss, ...) still resumes, to the numbers an
    uninterrupted run gives."""
    from actlab.train.checkpoint import CheckpointDir

    config = TrainConfig(**BASE, epochs=3)
    dataset = make_dataset()
    reference = train_runs(dataset, config, RUNS)
    trainer = GridTrainer(prepare(dataset, "mlp"), config, RUNS)
    events = trainer.train_epoch()
    val = {e.run_id: e for e in events}
    optimizer = trainer.optimizer
    legacy = {
        "engine": "grid", "epoch": 1, "step": trainer.step,
        "params": [p.detach().clone() for p in trainer.params],
        "state": [t.clone() for t in optimizer.state], "state2": [t.clone() for t in optimizer.state2],
        "adam_step": optimizer._adam_step.clone(), "alive": trainer.alive.clone(),
        "best_loss": torch.tensor([val[r.run_id].val_loss for r in trainer.runs], dtype=torch.float64),
        "best_acc": [val[r.run_id].val_accuracy for r in trainer.runs], "best_epoch": [1] * len(RUNS),
        "best_params": [p.detach().clone() for p in trainer.params], "seconds": [[0.1]] * len(RUNS),
        "diverged": {}, "dropout_rng": trainer.dropout_generator.get_state(),
    }
    checkpoints = CheckpointDir(tmp_path)
    checkpoints.for_cell("grid", [r.run_id for r in trainer.runs]).save(legacy)
    resumed = train_runs(dataset, config, RUNS, checkpoints=checkpoints)
    for run_id, end in reference.items():
        assert resumed[run_id].test_loss == pytest.approx(end.test_loss, rel=1e-6)
        assert resumed[run_id].best_epoch == end.best_epoch
