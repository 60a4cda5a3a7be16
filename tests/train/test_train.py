"""Training engines: grid == sequential, divergence, clipping, tasks, config errors, stopping, events."""
from __future__ import annotations

import json

import pytest
import torch

from actlab import compile_policy
from actlab.data.base import Dataset
from actlab.errors import ActlabError
from actlab.train import (
    EpochEnd,
    RunDiverged,
    RunEnd,
    RunSpec,
    TrainConfig,
    plan_cells,
    train_runs,
)
from actlab.train.grid import GridTrainer
from actlab.train.prepared import prepare
from actlab.train.sequential import SingleRun


def make_dataset(n=240, shape=(12,), classes=3, task="classification", seed=0):
    g = torch.Generator().manual_seed(seed)
    teacher = torch.randn(int(torch.tensor(shape).prod()), max(classes, 1), generator=g)

    def split(m):
        x = torch.randn(m, *shape, generator=g)
        score = x.reshape(m, -1) @ teacher
        if task == "regression":
            return x, score[:, :1].float()
        return x, score.argmax(1) if classes > 2 else (score[:, 0] > 0).long()

    parts = [split(n), split(80), split(80)]
    return Dataset("synthetic", *parts[0], *parts[1], *parts[2], classes if task == "classification" else 0,
                   shape, task)


def run_both(dataset, config, runs):
    events = {}
    results = {}
    for engine in ("grid", "sequential"):
        events[engine] = []
        results[engine] = train_runs(dataset, config, runs, engine=engine, on_event=events[engine].append)
    return events, results


def curves(events):
    out = {}
    for e in events:
        if isinstance(e, EpochEnd):
            out.setdefault(e.run_id, []).append((e.train_loss, e.val_loss))
    return out


def assert_same(events, results):
    g, s = curves(events["grid"]), curves(events["sequential"])
    assert g.keys() == s.keys()
    for run_id in g:
        torch.testing.assert_close(torch.tensor(g[run_id]), torch.tensor(s[run_id]), rtol=1e-4, atol=1e-6)
    assert results["grid"].keys() == results["sequential"].keys()
    for run_id, end in results["grid"].items():
        other = results["sequential"][run_id]
        assert type(end) is type(other)
        if isinstance(end, RunEnd):
            assert end.best_epoch == other.best_epoch
            assert end.test_loss == pytest.approx(other.test_loss, rel=1e-4)
            assert end.test_accuracy == other.test_accuracy


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread per xdist worker avoids oversubscribing the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


SMALL = TrainConfig(depth=2, width=16, epochs=2, batch_size=32, precision="fp32")  # exact comparisons: fp32


def test_grid_matches_sequential_mlp():
    dataset = make_dataset()
    runs = [RunSpec(a, s) for a in ("relu", "tanh", "selu") for s in (0, 1)]
    assert_same(*run_both(dataset, SMALL, runs))


def test_grid_final_weights_match_sequential():
    data = prepare(make_dataset(), "mlp")
    runs = [RunSpec("gelu", 0), RunSpec("elu", 1, lr=3e-3), RunSpec("sigmoid", 1)]
    grid = GridTrainer(data, SMALL, runs)
    grid.train_epoch()
    for i, run in enumerate(grid.runs):
        single = SingleRun(data, SMALL, run)
        single.train_epoch()
        linears = [m for m in single.model if isinstance(m, torch.nn.Linear)]
        for layer, (w, b) in zip(linears, zip(grid.params[::2], grid.params[1::2])):
            torch.testing.assert_close(w[i].t(), layer.weight.detach(), rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(b[i, 0], layer.bias.detach(), rtol=1e-4, atol=1e-5)


def test_grid_matches_sequential_cnn_sgd():
    dataset = make_dataset(n=96, shape=(1, 8, 8))
    config = TrainConfig(model="cnn", epochs=2, batch_size=32, optimizer="sgd", lr=0.05, precision="fp32")
    runs = [RunSpec("relu", 0), RunSpec("tanh", 0), RunSpec("relu", 1)]
    assert_same(*run_both(dataset, config, runs))


@pytest.mark.parametrize("clip", [{"clip_value": 0.01}, {"clip_norm": 0.05}])
def test_clipping_changes_training_and_matches(clip):
    dataset = make_dataset()
    runs = [RunSpec("relu", 0), RunSpec("silu", 1)]
    config = TrainConfig(depth=2, width=16, epochs=2, batch_size=32, lr=0.01, weight_decay=1e-3, precision="fp32",
                         **clip)
    events, results = run_both(dataset, config, runs)
    assert_same(events, results)
    plain = train_runs(dataset, TrainConfig(depth=2, width=16, epochs=2, batch_size=32, lr=0.01, weight_decay=1e-3,
                                            precision="fp32"), runs)
    assert plain["relu/seed=0"].val_loss != pytest.approx(results["grid"]["relu/seed=0"].val_loss, rel=1e-3)


@pytest.mark.parametrize("engine", ["grid", "sequential"])
def test_divergence_is_recorded_and_others_finish(engine):
    dataset = make_dataset()
    runs = [RunSpec("cube", 0, lr=1e3), RunSpec("relu", 0), RunSpec("tanh", 0)]
    events = []
    results = train_runs(dataset, SMALL, runs, engine=engine, on_event=events.append)
    diverged = results["cube/seed=0/lr=1000"]
    assert isinstance(diverged, RunDiverged)
    assert diverged.epoch >= 1 and diverged.step >= 1 and "loss" in diverged.reason
    assert isinstance(results["relu/seed=0"], RunEnd) and isinstance(results["tanh/seed=0"], RunEnd)
    alone = train_runs(dataset, SMALL, [RunSpec("relu", 0)])
    assert results["relu/seed=0"].test_loss == pytest.approx(alone["relu/seed=0"].test_loss, rel=1e-4)
    assert any(isinstance(e, RunDiverged) for e in events)


@pytest.mark.parametrize("task, classes", [("classification", 2), ("classification", 4), ("regression", 0)])
def test_tasks(task, classes):
    dataset = make_dataset(task=task, classes=classes)
    data = prepare(dataset, "mlp")
    assert data.num_outputs == {2: 1, 4: 4, 0: 1}[classes]
    results = train_runs(dataset, SMALL, [RunSpec("relu", 0), RunSpec("tanh", 0)])
    end = results["relu/seed=0"]
    assert isinstance(end, RunEnd)
    if task == "regression":
        assert end.test_accuracy is None and end.val_accuracy is None
    else:
        assert 0.0 <= end.test_accuracy <= 1.0
    seq = train_runs(dataset, SMALL, [RunSpec("relu", 0)], engine="sequential")
    assert seq["relu/seed=0"].test_loss == pytest.approx(end.test_loss, rel=1e-4)


def test_selu_alpha_dropout_in_grid_trains():
    dataset = make_dataset()
    config = TrainConfig(depth=2, width=16, epochs=2, batch_size=32, dropout=0.2)
    grid = GridTrainer(prepare(dataset, "mlp"), config, [RunSpec("selu", 0), RunSpec("relu", 0)])
    assert [g.alpha_dropout for g in grid.groups] == [True, False]
    for engine in ("grid", "sequential"):
        results = train_runs(dataset, config, [RunSpec("selu", 0), RunSpec("relu", 0)], engine=engine)
        assert all(isinstance(r, RunEnd) for r in results.values())


@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": 0}, "epochs"), ({"batch_size": 0}, "batch_size"), ({"lr": 0.0}, "lr"),
    ({"model": "rnn"}, "unknown model"), ({"optimizer": "lbfgs"}, "unknown optimizer"),
    ({"clip_value": 1.0, "clip_norm": 1.0}, "not both"), ({"dropout": 1.0}, "dropout"),
    ({"init": "xavier"}, "init"), ({"model": "cnn"}, "image data"),
])
def test_bad_config(kwargs, match):
    with pytest.raises(ActlabError, match=match):
        train_runs(make_dataset(), TrainConfig(**kwargs), [RunSpec("relu")])


@pytest.mark.parametrize("activation, match", [("binary_step", "backprop"), ("softmax", "output"),
                                               ("relux", "did you mean")])
def test_bad_activation(activation, match):
    with pytest.raises(ActlabError, match=match):
        train_runs(make_dataset(), SMALL, [RunSpec(activation)])


def test_unknown_engine_and_duplicates():
    with pytest.raises(ActlabError, match="engine"):
        train_runs(make_dataset(), SMALL, [RunSpec("relu")], engine="ray")
    with pytest.raises(ActlabError, match="duplicate"):
        train_runs(make_dataset(), SMALL, [RunSpec("relu"), RunSpec("relu")])


@pytest.mark.parametrize("engine", ["grid", "sequential"])
def test_should_stop(engine):
    polls = []

    def stop():
        polls.append(1)
        return len(polls) > 3

    events = []
    results = train_runs(make_dataset(), SMALL, [RunSpec("relu", 0), RunSpec("tanh", 0)], engine=engine,
                         on_event=events.append, should_stop=stop)
    assert results == {}
    assert events == []


def test_events_in_order_and_json():
    events = []
    runs = [RunSpec("relu", 0), RunSpec("tanh", 1, lr=2e-3)]
    config = TrainConfig(depth=1, width=8, epochs=3, batch_size=64)
    results = train_runs(make_dataset(), config, runs, on_event=events.append)
    for run in runs:
        mine = [e for e in events if e.run_id == run.run_id]
        assert [type(e) for e in mine] == [EpochEnd] * 3 + [RunEnd]
        assert [e.epoch for e in mine[:3]] == [1, 2, 3]
        assert mine[-1] == results[run.run_id]
        assert 1 <= mine[-1].best_epoch <= 3
    epochs = [e.epoch for e in events if isinstance(e, EpochEnd)]
    assert epochs == sorted(epochs)  # grid: every run's epoch 1 before any epoch 2
    json.dumps([e.to_dict() for e in events])
    assert RunSpec("elu", 2, 0.01, (("alpha", 0.5),)).run_id == "elu(alpha=0.5)/seed=2/lr=0.01"


def test_plan_cells():
    runs = [RunSpec("relu"), RunSpec("prelu"), RunSpec("maxout"), RunSpec("tanh", 1)]
    cells = plan_cells(SMALL, runs)
    assert ("grid", [runs[0], runs[3]]) in cells
    assert ("grid", [runs[2]]) in cells
    assert ("sequential", [runs[1]]) in cells
    results = train_runs(make_dataset(), SMALL, runs)
    assert all(isinstance(r, RunEnd) for r in results.values())
    assert list(results) == [r.run_id for r in runs]


# ---------------------------------------------------------------- fast MLP path, fused Adam, precision
DEFAULT_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish")


def autograd_losses_and_grads(grid, xs, y):
    """The general (autograd) path of the same GridTrainer: per-run batches, spec autograd Functions."""
    params = [p.detach().clone().requires_grad_(True) for p in grid.params]
    x = torch.stack(xs)[grid.seed_index]
    out = grid._forward(params, x, False, True)
    from actlab.train.metrics import per_model_loss

    losses = per_model_loss(out, y, grid.data.kind)
    losses.sum().backward()
    return losses.detach(), [p.grad for p in params]


@pytest.mark.parametrize("task, classes", [("classification", 4), ("classification", 2), ("regression", 0)])
def test_fast_path_gradients_match_autograd(task, classes):
    data = prepare(make_dataset(n=64, task=task, classes=classes), "mlp")
    config = TrainConfig(depth=2, width=8, batch_size=16, precision="fp32", weight_decay=0.0)
    runs = [RunSpec(a, s) for a in DEFAULT_ACTIVATIONS for s in (0, 1)] + [RunSpec("elu", 2, params=(("alpha", 0.5),))]
    runs.append(RunSpec("tanh", 0, lr=2e-3))  # seed 0's runs are then no arithmetic progression: index path
    grid = GridTrainer(data, config, runs)
    assert grid.fast
    g = torch.Generator().manual_seed(1)
    index = torch.stack([torch.randperm(64, generator=g)[:16] for _ in grid.seeds])
    xs = list(data.x_train[index])
    y = data.y_train[index][grid.seed_index]
    fast_losses, fast_grads = grid.mlp.loss_and_grads(grid.params, xs, y, data.kind)
    ref_losses, ref_grads = autograd_losses_and_grads(grid, xs, y)
    torch.testing.assert_close(fast_losses, ref_losses, rtol=1e-5, atol=1e-6)
    for fast, ref in zip(fast_grads, ref_grads):
        torch.testing.assert_close(fast, ref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("task, classes, interleaved", [("classification", 4, True), ("classification", 4, False),
                                                       ("regression", 0, True)])
def test_compiled_fast_path_gradients_match_autograd(task, classes, interleaved, monkeypatch):
    """The torch.compile'd elementwise sections (forced on small shapes) give autograd's gradients."""
    from actlab.train import fast_mlp

    monkeypatch.setattr(fast_mlp, "COMPILE", True)
    monkeypatch.setattr(fast_mlp, "COMPILE_MIN_NUMEL", 0)
    data = prepare(make_dataset(n=64, task=task, classes=classes), "mlp")
    config = TrainConfig(depth=2, width=8, batch_size=16, precision="fp32", weight_decay=0.0)
    runs = [RunSpec(a, s) for a in DEFAULT_ACTIVATIONS for s in (0, 1)]
    if not interleaved:  # seed 2 has one run: seed groups of different sizes
        runs.append(RunSpec("elu", 2, params=(("alpha", 0.5),)))
    grid = GridTrainer(data, config, runs)
    g = torch.Generator().manual_seed(1)
    index = torch.stack([torch.randperm(64, generator=g)[:16] for _ in grid.seeds])
    xs = list(data.x_train[index])
    y = data.y_train[index][grid.seed_index]
    for _ in range(2):  # the second call runs the cached compiled code
        fast_losses, fast_grads = grid.mlp.loss_and_grads(grid.params, xs, y, data.kind)
    fused = [grid.mlp._fused_forward, grid.mlp._fused_backward, grid.mlp._fused_loss]
    assert all(f.compiled is not None and not f.failed for f in fused)
    ref_losses, ref_grads = autograd_losses_and_grads(grid, xs, y)
    torch.testing.assert_close(fast_losses, ref_losses, rtol=1e-5, atol=1e-6)
    for fast, ref in zip(fast_grads, ref_grads):
        torch.testing.assert_close(fast, ref, rtol=1e-4, atol=1e-6)


def test_each_grid_compiles_its_own_code():
    """torch.compile's recompile limit (8 per code object) must not turn later grids eager."""
    data = prepare(make_dataset(n=64), "mlp")
    config = TrainConfig(depth=1, width=8, batch_size=16, precision="fp32")
    a = GridTrainer(data, config, [RunSpec("tanh", 0)]).mlp
    b = GridTrainer(data, config, [RunSpec("relu", 0)]).mlp
    assert a._fused_forward.fn.__code__ is not b._fused_forward.fn.__code__
    assert a._fused_forward.fn.__self__ is a and b._fused_forward.fn.__self__ is b
    z, bias = torch.randn(1, 4, 8), torch.zeros(1, 1, 8)
    torch.testing.assert_close(a._fused_forward.fn(z, bias)[1], torch.tanh(z))
    torch.testing.assert_close(b._fused_forward.fn(z, bias)[1], torch.relu(z))


def test_compile_failure_falls_back_to_eager(monkeypatch):
    from actlab.train import fast_mlp

    def broken(fn, **kwargs):
        def run(*args):
            raise RuntimeError("no compiler here")
        return run

    monkeypatch.setattr(fast_mlp, "COMPILE", True)
    monkeypatch.setattr(fast_mlp, "COMPILE_MIN_NUMEL", 0)
    monkeypatch.setattr(compile_policy, "_WARNED", set())
    monkeypatch.setattr(torch, "compile", broken)
    data = prepare(make_dataset(n=64), "mlp")
    grid = GridTrainer(data, TrainConfig(depth=1, width=8, batch_size=16, precision="fp32"),
                       [RunSpec("tanh", 0), RunSpec("relu", 0)])
    xs, y = [data.x_train[:16]], data.y_train[:16].expand(2, 16)
    with pytest.warns(RuntimeWarning, match="torch.compile failed"):
        losses, grads = grid.mlp.loss_and_grads(grid.params, xs, y, data.kind)
    monkeypatch.setattr(fast_mlp, "COMPILE", False)
    ref_losses, ref_grads = grid.mlp.loss_and_grads(grid.params, xs, y, data.kind)
    torch.testing.assert_close(losses, ref_losses, rtol=1e-6, atol=1e-7)
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("compiled", [False, True])
def test_zero_column_skip_is_exact(compiled, monkeypatch):
    """Layer 1 multiplies each batch's nonzero column range only: same losses and gradients as multiplying every
    column (the batched path), the gradient rows outside the range exactly 0."""
    from actlab.train import fast_mlp

    monkeypatch.setattr(fast_mlp, "COMPILE", compiled)
    monkeypatch.setattr(fast_mlp, "COMPILE_MIN_NUMEL", 0)
    dataset = make_dataset(n=64, shape=(40,))
    for split in (dataset.x_train, dataset.x_val, dataset.x_test):
        split[:, :7] = 0.0  # a border: zero in every batch
        split[:, 33:] = 0.0
        split[:, 20] = 0.0  # zero inside the range: multiplied (it adds nothing), its gradient row 0 too
    dataset.x_train[16:32, 7] = 0.0  # seed 1's batch starts later
    data = prepare(dataset, "mlp")
    config = TrainConfig(depth=1, width=8, batch_size=16, precision="fp32")
    runs = [RunSpec("tanh", 0), RunSpec("relu", 1), RunSpec("gelu", 0), RunSpec("silu", 0)]  # seed 0: runs 0, 2, 3
    grid = GridTrainer(data, config, runs)
    xs = [data.x_train[:16], data.x_train[16:32]]
    y = data.y_train[:32].view(2, 16)[grid.seed_index]
    assert grid.mlp._column_range(xs[0]) == (7, 33) and grid.mlp._column_range(xs[1]) == (8, 33)
    assert grid.mlp._column_range(torch.zeros(4, 40)) == (0, 0)
    assert grid.mlp._column_range(torch.tensor([[0.0, float("nan"), -0.0, 2.0, 0.0]])) == (1, 4)  # NaN is not zero
    out = torch.full_like(grid.params[0], float("nan"))  # garbage in the reused buffer must not survive
    skipped_losses, skipped = grid.mlp.loss_and_grads(grid.params, xs, y, data.kind, out=out)
    assert skipped[0] is out
    assert bool((skipped[0][:, :7] == 0).all() and (skipped[0][:, 33:] == 0).all())
    assert bool((skipped[0][:, 20] == 0).all()) and bool((skipped[0][1, 7] == 0).all())
    monkeypatch.setattr(grid.mlp, "_run_by_run", lambda w: False)  # the batched GEMM over every column
    dense_losses, dense = grid.mlp.loss_and_grads(grid.params, xs, y, data.kind)
    torch.testing.assert_close(skipped_losses, dense_losses, rtol=1e-6, atol=1e-7)
    for a, b in zip(skipped, dense):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    ref_losses, ref_grads = autograd_losses_and_grads(grid, xs, y)
    torch.testing.assert_close(skipped_losses, ref_losses, rtol=1e-5, atol=1e-6)
    for a, b in zip(skipped, ref_grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_all_zero_batch_gives_zero_first_layer_gradient(precision, monkeypatch):
    """A batch with no nonzero input (an empty column range): layer 1 outputs its bias only, its weight gradient
    is exactly 0, and everything equals the batched GEMM over every column."""
    data = prepare(make_dataset(n=64, shape=(12,)), "mlp")
    grid = GridTrainer(data, TrainConfig(depth=1, width=8, batch_size=16, precision=precision),
                       [RunSpec("tanh", 0), RunSpec("relu", 1)])
    xs = [torch.zeros(16, 12), data.x_train[:16]]
    y = data.y_train[:32].view(2, 16)[grid.seed_index]
    out = torch.full_like(grid.params[0], float("nan"))
    losses, grads = grid.mlp.loss_and_grads(grid.params, xs, y, data.kind, out=out)
    assert bool((grads[0][0] == 0).all()) and bool(torch.isfinite(grads[0]).all())
    monkeypatch.setattr(grid.mlp, "_run_by_run", lambda w: False)
    ref_losses, ref = grid.mlp.loss_and_grads(grid.params, xs, y, data.kind)
    torch.testing.assert_close(losses, ref_losses)
    for a, b in zip(grads, ref):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("seeds", [(0, 1), (0, 1, 2)])
@pytest.mark.parametrize("zero_columns, precision", [(True, "fp32"), (False, "fp32"), ("mixed", "fp32"),
                                                      (True, "bf16")])
def test_gradient_buffer_is_filled_completely(compiled, seeds, zero_columns, precision, monkeypatch):
    """The trainer's reused layer-1 gradient buffer: garbage from a previous step never survives.

    With and without skipped (all-zero) columns, whose rows must come back exactly 0, and in
    bf16 (no skip: every row written); the rest equal to a fresh computation.
    """
    from actlab.train import fast_mlp

    monkeypatch.setattr(fast_mlp, "COMPILE", compiled)
    monkeypatch.setattr(fast_mlp, "COMPILE_MIN_NUMEL", 0)
    dataset = make_dataset(n=96, shape=(30,))
    dataset.x_train[dataset.x_train == 0] = 0.5
    if zero_columns:
        dataset.x_train[:16 if zero_columns == "mixed" else None, -10:] = 0.0  # mixed: only seed 0's batch
    data = prepare(dataset, "mlp")
    config = TrainConfig(depth=2, width=8, batch_size=16, precision=precision)
    runs = [RunSpec(a, s) for a in ("tanh", "relu", "gelu") for s in seeds]
    if len(seeds) == 3:
        runs.append(RunSpec("elu", 0))  # seed 0 has more runs: not interleaved
    grid = GridTrainer(data, config, runs)
    xs = [data.x_train[16 * k:16 * (k + 1)] for k in range(len(seeds))]
    y = torch.stack([data.y_train[16 * k:16 * (k + 1)] for k in range(len(seeds))])[grid.seed_index]
    fresh_losses, fresh = grid.mlp.loss_and_grads(grid.params, xs, y, data.kind)
    out = torch.full_like(grid.params[0], float("nan"))
    losses, grads = grid.mlp.loss_and_grads(grid.params, xs, y, data.kind, out=out)
    assert grads[0] is out
    assert bool(torch.isfinite(out).all())
    if zero_columns is True:
        assert bool((out[:, -10:] == 0).all())
    if zero_columns == "mixed":
        assert grid.mlp._column_range(xs[0]) == (0, 20) and grid.mlp._column_range(xs[1]) == (0, 30)
    if precision == "fp32":  # and both are right: autograd through the general path agrees
        ref_losses, ref_grads = autograd_losses_and_grads(grid, xs, y)
        torch.testing.assert_close(losses, ref_losses, rtol=1e-5, atol=1e-6)
        for a, b in zip(grads, ref_grads):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(losses, fresh_losses)
    for a, b in zip(grads, fresh):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="float32 of shape"):
        grid.mlp.loss_and_grads(grid.params, xs, y, data.kind, out=torch.zeros(3))


def test_compiled_evaluation_matches_eager(monkeypatch):
    from actlab.train import fast_mlp

    monkeypatch.setattr(fast_mlp, "COMPILE_MIN_NUMEL", 0)
    data = prepare(make_dataset(n=120), "mlp")
    grid = GridTrainer(data, TrainConfig(depth=2, width=8, precision="fp32"),
                       [RunSpec(a, s) for a in ("sigmoid", "relu", "mish") for s in (0, 1)])
    monkeypatch.setattr(fast_mlp, "COMPILE", True)
    loss, acc = grid.evaluate(grid.params, data.x_val, data.y_val)
    assert grid.mlp._fused_eval.compiled is not None and not grid.mlp._fused_eval.failed
    monkeypatch.setattr(fast_mlp, "COMPILE", False)
    ref_loss, ref_acc = grid.evaluate(grid.params, data.x_val, data.y_val)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(acc, ref_acc)


@pytest.mark.parametrize("stop", [False, True])
def test_train_epoch_restores_the_garbage_collector(stop):
    import gc

    data = prepare(make_dataset(n=64), "mlp")
    grid = GridTrainer(data, TrainConfig(depth=1, width=8, batch_size=16), [RunSpec("relu", 0)])
    seen = []

    def should_stop():
        seen.append(gc.isenabled())
        return stop

    assert gc.isenabled()
    result = grid.train_epoch(should_stop)
    assert (result is None) == stop
    assert seen and not any(seen)  # off during the steps
    assert gc.isenabled()  # and back on after, also after an early stop


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
def test_fused_adam_matches_torch_adam(weight_decay):
    data = prepare(make_dataset(), "mlp")
    config = TrainConfig(depth=1, width=8, precision="fp32", weight_decay=weight_decay)
    runs = [RunSpec("relu", 0), RunSpec("tanh", 1, lr=3e-3), RunSpec("relu", 2, lr=3e-3)]
    grid = GridTrainer(data, config, runs)
    models = [[p[i].detach().clone().requires_grad_(True) for p in grid.params] for i in range(grid.M)]
    optimizers = [torch.optim.Adam(m, lr=run.resolved_lr(config), weight_decay=weight_decay)
                  for m, run in zip(models, grid.runs)]
    g = torch.Generator().manual_seed(3)
    for step in range(6):
        grads = [torch.randn(p.shape, generator=g) for p in grid.params]
        if step == 3:  # run 2 diverges: it stops, the others go on
            grid.alive[2] = False
        grid._update(grads)
        grid.step += 1
        for i, (model, opt) in enumerate(zip(models, optimizers)):
            if not grid.alive[i]:
                continue
            for p, grad in zip(model, grads):
                p.grad = grad[i].clone()
            opt.step()
    for i in range(grid.M):
        for p, q in zip(grid.params, models[i]):
            torch.testing.assert_close(p[i], q.detach(), rtol=1e-5, atol=1e-7)


def test_precision_is_validated_and_resolved():
    from actlab.train.config import resolve_precision

    with pytest.raises(ActlabError, match="precision"):
        train_runs(make_dataset(), TrainConfig(precision="fp16"), [RunSpec("relu")])
    assert resolve_precision("fp32") == "fp32" and resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("auto", "cuda") == "fp32"
    assert resolve_precision("auto", "cpu") in ("fp32", "bf16")
    assert TrainConfig(precision="bf16").to_dict()["resolved_precision"] == "bf16"
    assert TrainConfig().to_dict()["resolved_precision"] == TrainConfig().resolved_precision("cpu")


def matmul_dtypes(fn):
    """The input dtypes of every matrix product that ``fn()`` runs."""
    from torch.utils._python_dispatch import TorchDispatchMode

    seen = set()

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.__name__.split(".")[0] in ("mm", "bmm", "addmm", "baddbmm", "convolution", "matmul"):
                seen.update(a.dtype for a in args if isinstance(a, torch.Tensor))
            return func(*args, **(kwargs or {}))

    with Record():
        fn()
    return seen


def test_bf16_uses_bf16_matmuls_and_agrees_loosely():
    dataset = make_dataset(n=480)
    config = TrainConfig(depth=2, width=32, epochs=3, batch_size=32, precision="bf16", lr=3e-3)
    data = prepare(dataset, "mlp")
    grid = GridTrainer(data, config, [RunSpec("relu", 0), RunSpec("tanh", 1)])
    assert grid.precision == "bf16" and grid.compute_dtype == torch.bfloat16
    xs = [data.x_train[:32], data.x_train[32:64]]
    y = data.y_train[:64].view(2, 32)[grid.seed_index]
    assert matmul_dtypes(lambda: grid.mlp.loss_and_grads(grid.params, xs, y, data.kind)) == {torch.bfloat16}
    single = SingleRun(data, config, RunSpec("relu", 0))
    assert torch.bfloat16 in matmul_dtypes(lambda: _autocast_forward(single, data.x_train[:8]))
    runs = [RunSpec(a, s) for a in ("relu", "tanh") for s in (0, 1)]
    events, results = run_both(dataset, config, runs)
    fp32 = train_runs(dataset, TrainConfig(depth=2, width=32, epochs=3, batch_size=32, precision="fp32", lr=3e-3), runs)
    for run_id, end in results["grid"].items():
        assert end.test_accuracy == pytest.approx(results["sequential"][run_id].test_accuracy, abs=0.05)
        assert end.test_accuracy == pytest.approx(fp32[run_id].test_accuracy, abs=0.05)
        assert end.test_loss == pytest.approx(results["sequential"][run_id].test_loss, rel=0.05)


def _autocast_forward(single, x):
    from actlab.train.sequential import autocast_for

    with autocast_for(single.precision, x.device):
        return single.model(x)
