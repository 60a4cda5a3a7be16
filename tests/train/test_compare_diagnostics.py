"""``actlab compare --diagnostics``: both engines record the same per-layer gradient flow, equal to autograd;
clipped-step counts; store, report and TensorBoard round trips."""
from __future__ import annotations

import json
import math
import sqlite3

import pytest
import torch

from actlab.data.base import Dataset
from actlab.models import build_model, initial_weights, resolve_activation
from actlab.nn import create
from actlab.sweep.probes import GradientFlowProbe, histogram, probes_for
from actlab.train import EpochEnd, RunSpec, TrainConfig
from actlab.train import train_runs as _train_runs
from actlab.train.driver import PROBE_EXAMPLES as EVAL_EXAMPLES
from actlab.train.driver import _probe
from actlab.train.events import ClipCount, LayerDiagnostics
from actlab.train.grid import GridTrainer, copy_stacked_weights
from actlab.train.metrics import per_model_loss
from actlab.train.prepared import prepare


def train_runs(dataset, config, runs, **keywords):
    """As ``actlab compare`` trains: the gradient-flow probe when the config asks for diagnostics."""
    return _train_runs(dataset, config, runs, probes=probes_for(config), **keywords)


def measure(trainer, emit, epoch=1):
    """The probe on a trainer's live models, as the driver calls it."""
    _probe([GradientFlowProbe()], trainer, epoch, emit)


def make_dataset(n=240, features=10, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    teacher = torch.randn(features, classes, generator=g)

    def split(m):
        x = torch.randn(m, features, generator=g)
        return x, (x @ teacher).argmax(1)

    parts = [split(n), split(60), split(60)]
    return Dataset("synthetic", *parts[0], *parts[1], *parts[2], classes, (features,), "classification")


CONFIG = dict(depth=3, width=12, epochs=2, batch_size=32, precision="fp32", diagnostics=True)
RUNS = [RunSpec("sigmoid", 0), RunSpec("relu", 0), RunSpec("relu", 1)]  # two seeds, two activation groups


def _by_key(events, kind):
    return {(e.run_id, e.epoch): e for e in events if isinstance(e, kind)}


@pytest.fixture(scope="module")
def both_engines():
    dataset = make_dataset()
    config = TrainConfig(**CONFIG, clip_norm=0.3)
    events = {}
    for engine in ("grid", "sequential"):
        events[engine] = []
        train_runs(dataset, config, RUNS, engine=engine, on_event=events[engine].append)
    return events


def test_grid_and_sequential_record_the_same_diagnostics(both_engines):
    grid, sequential = (_by_key(both_engines[e], LayerDiagnostics) for e in ("grid", "sequential"))
    assert set(grid) == set(sequential) == {(r.run_id, e) for r in RUNS for e in range(CONFIG["epochs"] + 1)}
    for key, g in grid.items():
        s = sequential[key]
        assert g.step == s.step and len(g.layers) == CONFIG["depth"]
        assert g.loss == pytest.approx(s.loss, rel=1e-4)
        for lg, ls in zip(g.layers, s.layers):
            assert lg["layer"] == ls["layer"] and lg["units"] == ls["units"] == CONFIG["width"]
            for name in ("speed", "weight_grad_norm", "mean", "std"):
                assert lg[name] == pytest.approx(ls[name], rel=2e-3, abs=1e-7), (key, name)
            for name in ("dead_fraction", "zero_fraction", "saturated_fraction"):
                assert lg[name] == pytest.approx(ls[name], abs=0.02), (key, name)
        for hg, hs in zip(g.histograms, s.histograms):
            assert hg["num"] == hs["num"] == min(EVAL_EXAMPLES, 240) * CONFIG["width"]
            assert hg["min"] == pytest.approx(hs["min"], abs=1e-4)


def test_both_engines_count_the_same_clipped_steps(both_engines):
    grid, sequential = (_by_key(both_engines[e], ClipCount) for e in ("grid", "sequential"))
    assert set(grid) == set(sequential) == {(r.run_id, e) for r in RUNS for e in (1, 2)}
    for key, g in grid.items():
        assert (g.steps, g.clipped_steps) == (sequential[key].steps, sequential[key].clipped_steps)
        assert 0 <= g.clipped_steps <= g.steps == 8 * key[1]  # 240 examples in batches of 32
    assert any(g.clipped_steps > 0 for g in grid.values())


def test_epoch_zero_speed_equals_manual_autograd(both_engines):
    dataset = make_dataset()
    config = TrainConfig(**CONFIG)
    data = prepare(dataset, "mlp")
    x, y = data.x_train[:EVAL_EXAMPLES], data.y_train[:EVAL_EXAMPLES]
    for run in RUNS:
        spec = resolve_activation(run.activation, {}, "mlp")
        weights = initial_weights(spec, data.input_shape, data.num_outputs, config, run.seed)
        tensors = [t.clone().requires_grad_(True) for pair in weights for t in pair]
        h, act = x, create(spec)  # the engines' convention at kinks (relu'(0) = 0)
        for w, b in zip(tensors[0:-2:2], tensors[1:-2:2]):
            h = act(h @ w.t() + b)
        loss = per_model_loss(h @ tensors[-2].t() + tensors[-1], y, data.kind)
        bias_grads = torch.autograd.grad(loss, tensors[1:-2:2])
        event = _by_key(both_engines["grid"], LayerDiagnostics)[(run.run_id, 0)]
        for layer, grad in zip(event.layers, bias_grads):
            assert layer["speed"] == pytest.approx(float(grad.norm()), rel=1e-5)


def test_speed_after_training_equals_autograd_on_the_stacked_weights():
    """After an epoch of the grid (fast path), each run's speeds equal autograd on its own slice of the stacks."""
    dataset = make_dataset()
    config = TrainConfig(**CONFIG)
    data = prepare(dataset, "mlp")
    trainer = GridTrainer(data, config, RUNS)
    assert trainer.fast
    trainer.train_epoch()
    events: list = []
    measure(trainer, events.append)
    measured = {e.run_id: e for e in events if isinstance(e, LayerDiagnostics)}
    assert set(measured) == {r.run_id for r in trainer.runs}
    x, y = data.x_train[:EVAL_EXAMPLES], data.y_train[:EVAL_EXAMPLES]
    for i, run in enumerate(trainer.runs):
        spec = trainer._spec_of(i)
        stacked = [p[i].detach().clone().requires_grad_(True) for p in trainer.params]  # (in, out), (1, out)
        h, act = x, create(spec)
        for w, b in zip(stacked[0:-2:2], stacked[1:-2:2]):
            h = act(h @ w + b)
        loss = per_model_loss(h @ stacked[-2] + stacked[-1], y, data.kind)
        grads = torch.autograd.grad(loss, stacked[:-2])
        for layer, bias_grad, weight_grad in zip(measured[run.run_id].layers, grads[1::2], grads[0::2]):
            assert layer["speed"] == pytest.approx(float(bias_grad.norm()), rel=1e-4)
            assert layer["weight_grad_norm"] == pytest.approx(float(weight_grad.norm()), rel=1e-4)


def test_measuring_changes_no_result():
    dataset = make_dataset()
    losses = {}
    for flag in (False, True):
        config = TrainConfig(**{**CONFIG, "diagnostics": flag})
        events: list = []
        train_runs(dataset, config, RUNS[:2], engine="grid", on_event=events.append)
        losses[flag] = [(e.run_id, e.train_loss, e.val_loss) for e in events if isinstance(e, EpochEnd)]
        assert any(isinstance(e, LayerDiagnostics) for e in events) == flag
    assert losses[True] == losses[False]


def test_clipping_every_step_and_no_step():
    dataset = make_dataset(n=96)  # 3 steps
    for clip, expected in ((1e-9, 1.0), (1e9, 0.0)):
        for engine in ("grid", "sequential"):
            config = TrainConfig(depth=1, width=8, epochs=1, batch_size=32, precision="fp32", clip_value=clip)
            events: list = []
            train_runs(dataset, config, [RunSpec("tanh", 0)], engine=engine, on_event=events.append)
            (count,) = [e for e in events if isinstance(e, ClipCount)]
            assert count.steps == 3 and count.clipped_steps / count.steps == expected, (engine, clip)
            assert not any(isinstance(e, LayerDiagnostics) for e in events)  # diagnostics off


def test_a_relu_layer_with_only_negative_inputs_is_all_dead():
    dataset = make_dataset()
    config = TrainConfig(**CONFIG)
    trainer = GridTrainer(prepare(dataset, "mlp"), config, [RunSpec("relu", 0)])
    with torch.no_grad():
        trainer.params[3].fill_(-1e3)  # bias of hidden layer 2
    events: list = []
    measure(trainer, events.append, 0)
    (event,) = events
    assert [layer["dead_fraction"] for layer in event.layers] == [0.0, 1.0, pytest.approx(event.layers[2]["dead_fraction"])]
    assert event.layers[1]["zero_fraction"] == 1.0 and event.layers[0]["speed"] == 0.0


def test_copy_stacked_weights_rebuilds_each_run():
    dataset = make_dataset()
    config = TrainConfig(**CONFIG)
    data = prepare(dataset, "mlp")
    trainer = GridTrainer(data, config, RUNS)
    model = build_model("relu", data.input_shape, data.num_outputs, config, 7)
    index = [r.run_id for r in trainer.runs].index("relu/seed=1")
    copy_stacked_weights(model, trainer.params, index, trainer.M)
    reference = build_model("relu", data.input_shape, data.num_outputs, config, 1)
    for a, b in zip(model.state_dict().values(), reference.state_dict().values()):
        assert torch.equal(a, b)


def test_event_json_and_store_round_trip(both_engines, tmp_path):
    from actlab.store import Store

    event = next(e for e in both_engines["grid"] if isinstance(e, LayerDiagnostics) and e.epoch == 1)
    data = json.loads(json.dumps(event.to_dict()))
    assert data["event"] == "LayerDiagnostics" and data["layers"][0]["speed"] == event.layers[0]["speed"]
    with Store(tmp_path) as store:
        store.add_runs([{"run_id": event.run_id, "activation": "relu", "seed": 0, "lr": 1e-3}])
        store.record_layer_stats(event.run_id, event.epoch, event.step, event.loss, event.layers, event.histograms)
        store.record_layer_stats(event.run_id, event.epoch, event.step, event.loss, event.layers, event.histograms)
        store.record_clipping(event.run_id, 1, 10, 4)
        rows = store.layer_stats()
        assert len(rows) == len(event.layers)  # replay replaces
        for row, layer, hist in zip(rows, event.layers, event.histograms):
            assert (row.epoch, row.layer, row.step) == (1, layer["layer"], event.step)
            assert row.speed == layer["speed"] and row.dead_fraction == layer["dead_fraction"]
            assert row.histogram == hist
        assert store.clipping() == {event.run_id: (10, 4)}
        assert store.unfinished() == [event.run_id]  # a resume deletes nothing: rows are rewritten by replay
        assert len(store.layer_stats()) == len(event.layers) and store.clipping() == {event.run_id: (10, 4)}


def test_a_version_1_store_is_upgraded(tmp_path):
    from actlab.store import SCHEMA_VERSION, Store
    from actlab.store.migrations import MIGRATIONS

    conn = sqlite3.connect(tmp_path / "results.sqlite")
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with Store(tmp_path, create=False) as store:
        assert not store.has_layer_stats() and store.clipping() == {}
    conn = sqlite3.connect(tmp_path / "results.sqlite")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 2
    conn.close()


def test_histogram_is_compact_and_exact():
    values = torch.tensor([[0.0, 1.0], [2.0, float("nan")], [3.0, 3.0]])
    hist = histogram(values, bins=3)
    assert hist["num"] == 5 and hist["min"] == 0.0 and hist["max"] == 3.0
    assert sum(hist["counts"]) == 5 and hist["counts"] == [1, 1, 3]
    assert hist["sum"] == 9.0 and hist["sum_squares"] == 23.0
    assert math.isclose(histogram(torch.ones(4))["num"], 4)
