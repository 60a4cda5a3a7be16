"""diagnose's saturation threshold, bias-free layers and collapsed (born-dead) nets, checked against direct
computations."""
from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

import actlab
from actlab.analysis.layer_measures import (
    SATURATION_FRACTION,
    check_saturation_threshold,
    collapsed,
    collect,
    layer_measures,
    verdict,
)
from actlab.cli import main
from actlab.diagnostics.presets import Setup
from actlab.errors import ActlabError
from actlab.nn import create


def sigmoid_layer(values):
    z = torch.tensor([values], dtype=torch.float32)
    return [z], [torch.zeros(z.shape[1])], [torch.zeros(z.shape[1], 3)]


def test_saturated_fraction_follows_the_threshold():
    # σ'(z) = σ(1 − σ), max 0.25: at z = −3 σ' = 0.0452 (18 % of max), at z = −6 0.00247 (0.99 %), at 0 it is max
    spec = actlab.get("sigmoid")
    values = [-6.0, -3.0, 0.0, 3.0, 6.5]
    derivative = [1 / (1 + math.exp(-v)) * (1 - 1 / (1 + math.exp(-v))) for v in values]
    z, b, w = sigmoid_layer(values)
    for threshold in (0.01, 0.2, 0.5, 1.0):
        expected = sum(d < threshold * 0.25 for d in derivative) / len(values)
        (layer,) = layer_measures(z, spec, b, w, max_derivative=0.25, saturation_threshold=threshold)
        assert layer.saturated_fraction == pytest.approx(expected)
    (default,) = layer_measures(z, spec, b, w, max_derivative=0.25)
    assert SATURATION_FRACTION == 0.01 and default.saturated_fraction == pytest.approx(2 / 5)  # −6 and 6.5 only


@pytest.mark.parametrize("bad", [0, -0.1, 1.5, math.nan, math.inf, "0.1", True])
def test_a_bad_threshold_is_refused(bad):
    with pytest.raises(ActlabError, match="fraction of max"):
        check_saturation_threshold(bad)
    with pytest.raises(ActlabError, match="--saturation-threshold"):
        Setup(saturation_threshold=bad).validate()


def test_later_options_at_their_defaults_leave_the_fingerprint():
    setup = Setup()
    same = Setup(saturation_threshold=0.01, steps=None, no_bias=False, weight_scale=1.0)
    assert same.fingerprint() == setup.fingerprint()
    for changed in (Setup(saturation_threshold=0.2), Setup(steps=100), Setup(no_bias=True), Setup(weight_scale=2.0),
                    Setup(init="standard")):
        assert changed.fingerprint() != setup.fingerprint()


def test_a_store_of_an_earlier_trainer_is_refused(tmp_path):
    from actlab.diagnostics.db import DiagnoseStore
    from actlab.diagnostics.run import run_setup

    setup = Setup(activations=("tanh",), dataset="moons", depth=2, width=4, epochs=1, seeds=1)
    with DiagnoseStore(tmp_path / "d") as store:
        store.claim(setup.to_dict(), "0123456789abcdef")  # same options, another trainer's fingerprint
    with pytest.raises(ActlabError, match="earlier version of the trainer"):
        run_setup(setup, tmp_path / "d")


def test_a_bias_free_layer_gets_the_speed_its_bias_would_have():
    torch.manual_seed(0)
    spec = actlab.get("tanh")
    with_bias = nn.Sequential(nn.Linear(5, 7), create(spec), nn.Linear(7, 6), create(spec), nn.Linear(6, 3))
    without = nn.Sequential(nn.Linear(5, 7, bias=False), create(spec), nn.Linear(7, 6, bias=False), create(spec),
                            nn.Linear(6, 3, bias=False))
    with torch.no_grad():
        for a, b in zip((m for m in with_bias if isinstance(m, nn.Linear)), (m for m in without if isinstance(m, nn.Linear))):
            a.bias.zero_()
            b.weight.copy_(a.weight)
    x, y = torch.randn(40, 5), torch.randint(0, 3, (40,))
    loss = lambda out: nn.functional.cross_entropy(out, y)  # noqa: E731
    reference = collect(with_bias, x, loss, spec, max_derivative=1.0)
    measured = collect(without, x, loss, spec, max_derivative=1.0)
    for a, b in zip(reference.layers, measured.layers):
        assert b.speed == pytest.approx(a.speed, rel=1e-5) and a.speed > 0
        assert b.weight_grad_norm == pytest.approx(a.weight_grad_norm, rel=1e-5)


def test_collapsed_means_a_whole_layer_dead():
    relu = actlab.get("relu")
    alive = torch.tensor([[1.0, -1.0], [-1.0, -2.0]])  # unit 1 active on example 1
    dead = torch.tensor([[-1.0, -1.0], [-3.0, -2.0]])
    grads = [torch.zeros(2)] * 2, [torch.zeros(2, 2)] * 2
    layers = layer_measures([alive, dead], relu, *grads)
    assert [layer.dead_fraction for layer in layers] == [0.5, 1.0]
    assert collapsed(layers) and not collapsed(layers[:1])
    runs = [{"init": [m.to_dict() for m in layers], "final": [m.to_dict() for m in layers[:1]] * 2, "losses": [1.0]},
            {"init": [layers[0].to_dict()] * 2, "final": [layers[0].to_dict()] * 2, "losses": [1.0]}]
    numbers = verdict(runs)["numbers"]
    assert numbers["collapsed_fraction_init"] == 0.5 and numbers["collapsed_fraction_final"] == 0.0


def test_cli_saturation_threshold(capsys, tmp_path):
    common = ["diagnose", "--act", "sigmoid", "--dataset", "moons", "--depth", "2", "--width", "6", "--epochs", "1",
              "--seeds", "1", "--eval-size", "100", "--init", "nielsen", "--weight-scale", "3", "--json"]
    fractions = []
    for threshold in ("0.01", "0.9"):
        assert main([*common, "--saturation-threshold", threshold, "-o", str(tmp_path / threshold)]) == 0
        data = json.loads(capsys.readouterr().out)
        fractions.append([layer["saturated_fraction_final"] for layer in data["layers"]])
        stored = json.loads((tmp_path / threshold / "diagnostics.json").read_text())
        assert stored["setup"]["saturation_threshold"] == float(threshold)
        assert (tmp_path / threshold / "activations.png").stat().st_size > 10_000
    assert all(high > low for low, high in zip(*fractions))  # weights ×3: wide z, many pairs below 90 %
    code = main([*common, "--saturation-threshold", "0", "-o", str(tmp_path / "bad")])
    _, err = capsys.readouterr()
    assert code == 2 and "--saturation-threshold" in err and "Traceback" not in err


# ----------------------------------------------------------------------------- the core's options
def synthetic(n=40, features=5, classes=3, seed=0, scale=1.0):
    from actlab.diagnostics.run import DiagnoseData

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=g) * scale
    y = torch.randint(0, classes, (n,), generator=g)
    return DiagnoseData(x, y, x[:20], y[:20], classes, "synthetic")


def built_model(setup, data):
    from actlab.diagnostics.run import prepared, train_config
    from actlab.train.config import RunSpec
    from actlab.train.sequential import SingleRun

    return SingleRun(prepared(setup, data), train_config(setup, len(data.x_train)), RunSpec(setup.activations[0], 0)).model


@pytest.mark.parametrize("init,scale", [("standard", 1.0), ("standard", 3.0), ("torch-default", 1.0),
                                        ("he_uniform", 1.0), ("glorot_uniform", 2.0), ("lecun_uniform", 1.0)])
def test_uniform_inits_reach_the_diagnose_model(init, scale):
    setup = Setup(activations=("sigmoid",), depth=3, width=64, init=init, weight_scale=scale)
    linears = [m for m in built_model(setup, synthetic(features=50)).modules() if isinstance(m, nn.Linear)]
    for linear in linears:
        fan_in, fan_out = linear.in_features, linear.out_features
        bound = {"he_uniform": math.sqrt(6 / fan_in), "glorot_uniform": math.sqrt(6 / (fan_in + fan_out)),
                 "lecun_uniform": math.sqrt(3 / fan_in)}.get(init, 1 / math.sqrt(fan_in)) * scale
        w = linear.weight.detach()
        assert float(w.abs().max()) <= bound and float(w.abs().max()) > 0.9 * bound  # uniform: reaches its bound
        assert float(w.std()) == pytest.approx(bound / math.sqrt(3), rel=0.15)
        if init == "torch-default":  # nn.Linear's own: biases U[-1/√n, 1/√n] too
            assert 0 < float(linear.bias.detach().abs().max()) <= 1 / math.sqrt(fan_in)
        else:
            assert float(linear.bias.detach().abs().max()) == 0.0


def test_no_bias_model_and_its_speeds():
    from actlab.diagnostics.run import train_run

    setup = Setup(activations=("tanh",), depth=2, width=6, epochs=1, batch_size=10, no_bias=True)
    assert all(m.bias is None for m in built_model(setup, synthetic()).modules() if isinstance(m, nn.Linear))
    outcome = train_run(setup, "tanh", 0, synthetic())
    assert outcome.status == "finished" and outcome.steps == 4
    assert all(math.isfinite(layer.speed) and layer.speed > 0 for layer in outcome.init.layers + outcome.end.layers)


def test_steps_budget_and_measurement_points(capsys, tmp_path):
    # moons: 600 training points, batch 32 → 19 steps an epoch; --steps 45 crosses two epoch ends
    common = ["diagnose", "--act", "relu", "--dataset", "moons", "--depth", "2", "--width", "6", "--batch-size", "32",
              "--seeds", "1", "--eval-size", "100"]
    assert main([*common, "--steps", "45", "-o", str(tmp_path / "s"), "--json"]) == 0
    capsys.readouterr()
    summary = json.loads((tmp_path / "s" / "diagnostics.json").read_text())
    run = summary["activations"]["relu"]["runs"][0]
    assert run["steps"] == 45 and [p["step"] for p in run["points"]] == [0, 19, 38, 45]
    assert main([*common, "--steps", "45", "--every", "20", "-o", str(tmp_path / "k"), "--json"]) == 0
    capsys.readouterr()
    run = json.loads((tmp_path / "k" / "diagnostics.json").read_text())["activations"]["relu"]["runs"][0]
    assert [p["step"] for p in run["points"]] == [0, 20, 40, 45]
    assert main([*common, "--steps", "0", "-o", str(tmp_path / "z"), "--json"]) == 0  # measured at init only
    capsys.readouterr()
    run = json.loads((tmp_path / "z" / "diagnostics.json").read_text())["activations"]["relu"]["runs"][0]
    assert run["steps"] == 0 and [p["step"] for p in run["points"]] == [0]


@pytest.mark.parametrize("argv,message", [
    (("--steps", "10", "--epochs", "1"), "not both"),
    (("--steps", "-1"), "steps"),
    (("--weight-scale", "0"), "--weight-scale"),
    (("--weight-scale", "nan"), "--weight-scale"),
    (("--init", "standrad"), "did you mean standard"),
    (("--init", "he_unifrom"), "did you mean he_uniform"),
])
def test_bad_core_options_exit_2(capsys, tmp_path, argv, message):
    code = main(["diagnose", "--act", "relu", "--dataset", "moons", *argv, "-o", str(tmp_path / "bad")])
    out, err = capsys.readouterr()
    assert code == 2 and message in err and "Traceback" not in out + err


def test_born_dead_fraction_matches_the_closed_form():
    """Bias-free ReLU nets, symmetric weights: at one input each hidden layer of width N is entirely off with
    probability 2^-N, independently of the layers below, so P(dead at x) = 1 − (1 − 2^-N)^L exactly."""
    from actlab.diagnostics.run import run_setup

    data = synthetic(n=1, features=4, seed=3)
    data = type(data)(data.x_train, data.y_train, data.x_train, data.y_train, 3, "one point")
    seeds, width, depth = 300, 2, 6
    setup = Setup(activations=("relu",), depth=depth, width=width, init="he", no_bias=True, epochs=0, seeds=seeds,
                  eval_size=1)
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        summary = run_setup(setup, out, data=data)
    measured = summary["activations"]["relu"]["numbers"]["collapsed_fraction_init"]
    expected = 1 - (1 - 2.0 ** -width) ** depth  # 0.822
    sigma = math.sqrt(expected * (1 - expected) / seeds)  # 0.022
    assert abs(measured - expected) < 4 * sigma, (measured, expected)


def test_no_training_loop_left_in_the_diagnostics():
    import re
    from pathlib import Path

    root = Path(actlab.__file__).parent
    files = [*sorted((root / "diagnostics").glob("*.py")), root / "analysis" / "depth.py",
             root / "analysis" / "layer_measures.py"]
    pattern = re.compile(r"\.backward\(|optim\.(Adam|AdamW|SGD|RMSprop|LBFGS)\(")
    assert [str(f) for f in files if pattern.search(f.read_text())] == []


def test_the_engines_sigmoid_task_is_nielsens_cost():
    from actlab.diagnostics.run import SIGMOID_TASK, loss_function
    from actlab.train.metrics import correct_count, per_model_loss, prepare_targets

    g = torch.Generator().manual_seed(5)
    out = torch.randn(2, 7, 4, generator=g, dtype=torch.float64) * 3  # two stacked runs, 7 examples, 4 classes
    y = prepare_targets(torch.tensor([0, 3, 1, 1, 2, 0, 3]), SIGMOID_TASK)
    a = torch.sigmoid(out)
    onehot = torch.nn.functional.one_hot(y, 4).double()
    expected = -(onehot * torch.log(a) + (1 - onehot) * torch.log(1 - a)).sum(-1).mean(-1)  # Σ_j, mean over x
    assert per_model_loss(out, y, SIGMOID_TASK) == pytest.approx(expected.tolist(), rel=1e-12)
    assert float(loss_function("sigmoid", y, 4)(out[1])) == pytest.approx(float(expected[1]), rel=1e-6)  # float32 targets
    assert correct_count(out, y, SIGMOID_TASK).tolist() == (out.argmax(-1) == y).sum(-1).tolist()


def test_a_group_of_born_dead_nets_is_judged_dying():
    relu = actlab.get("relu")
    grads = [torch.zeros(2)] * 2, [torch.zeros(2, 2)] * 2
    alive = layer_measures([torch.tensor([[1.0, -1.0]]), torch.tensor([[1.0, 2.0]])], relu, *grads)
    dead = layer_measures([torch.tensor([[1.0, -1.0]]), torch.tensor([[-1.0, -2.0]])], relu, *grads)
    run = lambda layers: {"init": [m.to_dict() for m in layers], "final": [m.to_dict() for m in layers],  # noqa: E731
                          "losses": [1.0]}
    judged = verdict([run(dead)] + [run(alive)] * 9)  # 10 % of the runs collapsed: the threshold
    assert judged["verdict"] == "dying" and "entirely dead" in judged["reasons"][0]
    assert verdict([run(dead)] + [run(alive)] * 10)["verdict"] != "dying"  # 9 %
