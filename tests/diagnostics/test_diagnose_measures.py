"""Per-layer measures against independent autograd computations; dead, saturated, verdict thresholds."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import actlab
from actlab.analysis.layer_measures import (
    DYING_GROWTH,
    VANISHING_RATIO,
    collect,
    hidden_layers,
    layer_measures,
    max_abs_derivative,
    verdict,
)
from actlab.diagnostics.presets import Setup, preset_defaults
from actlab.diagnostics.run import load_data, loss_function
from actlab.models import ModelConfig, build


def build_mlp(spec, sizes, init, seed):
    """The core's MLP: ``sizes`` = [inputs, width × depth, outputs] (one width)."""
    assert len(set(sizes[1:-1])) == 1
    return build(ModelConfig(depth=len(sizes) - 2, width=sizes[1], init=init), spec, (sizes[0],), sizes[-1], seed)


def manual_bias_grads(model, x, loss_of_output):
    """An independent forward: x @ Wᵀ + b then spec.forward, layer by layer; grads of the biases by autograd."""
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    acts = [a for _, a in hidden_layers(model)]
    biases = [lin.bias.detach().clone().requires_grad_(True) for lin in linears]
    weights = [lin.weight.detach().clone().requires_grad_(True) for lin in linears]
    h = x
    zs = []
    for i, (w, b) in enumerate(zip(weights, biases)):
        z = h @ w.T + b
        if i < len(acts):
            zs.append(z)
            spec = acts[i].spec
            params = {k: v for k, v in acts[i].fixed.items()}
            params.update({k: v.reshape(()) for k, v in acts[i].learnable.items()})
            h = spec.forward(z, **params)
        else:
            h = z
    loss = loss_of_output(h)
    grads = torch.autograd.grad(loss, biases[:-1] + weights[:-1])
    depth = len(acts)
    return zs, grads[:depth], grads[depth:]


# random biases for the rectifiers: with zero biases a unit whose inputs are all zero gets z = 0 exactly,
# where autograd of the plain forward and the spec's kink convention (relu'(0) = 0) legitimately differ
@pytest.mark.parametrize("activation,init", [("sigmoid", "nielsen"), ("relu", "nielsen"), ("prelu", "nielsen"),
                                             ("elu", "nielsen"), ("tanh", None), ("sigmoid", "standard"),
                                             ("tanh", "torch-default")])
def test_collect_speeds_equal_manual_autograd(activation, init):
    torch.manual_seed(0)
    spec = actlab.get(activation)
    model = build_mlp(spec, [12, 8, 8, 8, 3], init, seed=3)
    x = torch.randn(64, 12)
    y = torch.randint(0, 3, (64,))
    loss = loss_function("sigmoid", y, 3)
    snapshot = collect(model, x, loss, spec, max_derivative=max_abs_derivative(spec))
    zs, bias_grads, weight_grads = manual_bias_grads(model, x, loss)
    assert len(snapshot.layers) == 3
    for layer, z, gb, gw in zip(snapshot.layers, zs, bias_grads, weight_grads):
        assert layer.speed == pytest.approx(float(gb.norm()), rel=1e-5, abs=1e-12)
        assert layer.weight_grad_norm == pytest.approx(float(gw.norm()), rel=1e-5, abs=1e-12)
        a = spec.forward(z.detach(), **spec.resolve())
        assert layer.mean == pytest.approx(float(a.mean()), rel=1e-5, abs=1e-7)
    # the model's parameters are left untouched (no .grad written)
    assert all(p.grad is None for p in model.parameters())


def test_sequential_engine_model_measured_like_manual_autograd():
    """The model trained by actlab.train.sequential, measured by collect(), agrees with a manual computation."""
    from actlab import data
    from actlab.train import RunSpec, TrainConfig
    from actlab.train.metrics import per_model_loss
    from actlab.train.prepared import prepare
    from actlab.train.sequential import SingleRun

    dataset = data.load("moons", n=200, seed=0)
    config = TrainConfig(depth=3, width=8, epochs=1, batch_size=32, lr=0.05, precision="fp32")
    prepared = prepare(dataset, "mlp")
    single = SingleRun(prepared, config, RunSpec("tanh", seed=1))
    single.train_epoch()
    model = single.model
    x, y = prepared.x_val, prepared.y_val
    spec = actlab.get("tanh")

    def loss(out):
        return per_model_loss(out, y, prepared.kind)

    snapshot = collect(model, x, loss, spec, max_derivative=1.0)
    plain = torch.nn.Sequential(*[m for m in model if not isinstance(m, torch.nn.Flatten)])
    _, bias_grads, weight_grads = manual_bias_grads(plain, x.reshape(len(x), -1), loss)
    assert [m.speed for m in snapshot.layers] == pytest.approx([float(g.norm()) for g in bias_grads], rel=1e-5)
    assert [m.weight_grad_norm for m in snapshot.layers] == pytest.approx([float(g.norm()) for g in weight_grads],
                                                                           rel=1e-5)
    assert all(m.speed > 0 for m in snapshot.layers)


def test_deep_sigmoid_net_speeds_increase_towards_the_output():
    setup = Setup(**{**preset_defaults("nielsen"), "subset": 1000, "eval_size": 1000})
    batch = load_data(setup)
    spec = actlab.get("sigmoid")
    loss = loss_function("sigmoid", batch.y_eval, 10)
    for seed in range(3):
        model = build_mlp(spec, [784, 30, 30, 30, 30, 10], "nielsen", seed)
        speeds = [m.speed for m in collect(model, batch.x_eval, loss, spec).layers]
        assert all(a < b for a, b in zip(speeds, speeds[1:])), speeds
        assert speeds[0] / speeds[-1] < VANISHING_RATIO


def test_relu_layer_with_all_negative_pre_activations_is_all_dead():
    spec = actlab.get("relu")
    torch.manual_seed(1)
    negative = -torch.rand(50, 6) - 0.1
    mixed = torch.randn(50, 6)
    mixed[:, :2] = -mixed[:, :2].abs() - 0.1  # two of six units dead, the rest live
    zeros = [torch.zeros(6), torch.zeros(6)]
    layers = layer_measures([negative, mixed], spec, zeros, [torch.zeros(6, 3)] * 2, max_derivative=1.0)
    assert layers[0].dead_fraction == 1.0
    assert layers[0].zero_fraction == 1.0
    assert layers[0].saturated_fraction == 1.0
    assert layers[1].dead_fraction == pytest.approx(2 / 6)
    # leaky ReLU never dies: its derivative is alpha > 0 on the negative side
    leaky = layer_measures([negative], actlab.get("leaky_relu"), zeros[:1], [torch.zeros(6, 3)], max_derivative=1.0)
    assert leaky[0].dead_fraction == 0.0 and leaky[0].zero_fraction == 0.0


def test_saturation_uses_the_property_tables_max_derivative():
    spec = actlab.get("sigmoid")
    assert max_abs_derivative(spec) == pytest.approx(0.25)
    assert max_abs_derivative(actlab.get("relu")) == pytest.approx(1.0)
    # sigma'(z) < 0.0025 iff |z| > 5.99
    z = torch.tensor([[0.0, 3.0, 5.9, 6.1, -8.0, 12.0]])
    (layer,) = layer_measures([z], spec, [torch.zeros(6)], [torch.zeros(6, 2)], max_derivative=0.25)
    assert layer.saturated_fraction == pytest.approx(3 / 6)
    assert layer.dead_fraction == 0.0
    # in float32, sigma'(20) underflows to exactly 0: no gradient flows, so the unit counts as dead
    (far,) = layer_measures([torch.full((4, 2), 20.0)], spec, [torch.zeros(2)], [torch.zeros(2, 2)],
                            max_derivative=0.25)
    assert far.dead_fraction == 1.0


def _run(speeds_init, speeds_final, dead_init=0.0, dead_final=0.0, grad_growth=1.0, loss=1.0):
    def layers(speeds, dead, grad):
        return [{"layer": i + 1, "speed": s, "weight_grad_norm": grad, "dead_fraction": dead, "units": 10}
                for i, s in enumerate(speeds)]
    return {"init": layers(speeds_init, dead_init, 1.0), "final": layers(speeds_final, dead_final, grad_growth),
            "losses": [loss]}


def test_verdict_thresholds():
    assert verdict([_run([1, 1, 1], [1, 1, 1])])["verdict"] == "healthy"
    assert verdict([_run([0.01, 0.1, 1], [1, 1, 1])])["verdict"] == "vanishing"
    assert verdict([_run([100, 10, 1], [1, 1, 1])])["verdict"] == "exploding"
    assert verdict([_run([1, 1, 1], [1, 1, 1], grad_growth=1e3)])["verdict"] == "exploding"
    assert verdict([_run([1, 1, 1], [1, 1, 1], loss=math.nan)])["verdict"] == "exploding"
    assert verdict([{**_run([1, 1, 1], [1, 1, 1]), "diverged": True}])["verdict"] == "exploding"
    assert verdict([_run([1, 1, 1], [1, 1, 1], dead_final=DYING_GROWTH + 0.01)])["verdict"] == "dying"
    assert verdict([_run([1, 1, 1], [1, 1, 1], dead_final=DYING_GROWTH - 0.01)])["verdict"] == "healthy"
    # one layer dying is enough, even when the pooled fraction grows by less than the threshold
    one_layer = _run([1, 1, 1], [1, 1, 1])
    one_layer["final"][0]["dead_fraction"] = 0.2
    judged = verdict([one_layer])
    assert judged["verdict"] == "dying" and judged["numbers"]["dead_growth_per_layer"] == pytest.approx([0.2, 0, 0])
    assert judged["numbers"]["dead_fraction_final"] == pytest.approx(0.2 / 3)
    judged = verdict([_run([0.01, 0.1, 1], [0.02, 0.1, 1]), _run([0.03, 0.1, 1], [0.02, 0.1, 1])])
    assert judged["numbers"]["speed_ratio_first_last_init"] == pytest.approx(0.02)
    assert judged["reasons"]


def test_loss_function_sigmoid_is_nielsens_cross_entropy():
    out = torch.tensor([[0.3, -1.0, 2.0], [1.0, 0.0, -0.5]])
    y = torch.tensor([2, 0])
    a = torch.sigmoid(out)
    target = F.one_hot(y, 3).float()
    expected = -(target * a.log() + (1 - target) * (1 - a).log()).sum(1).mean()
    assert float(loss_function("sigmoid", y, 3)(out)) == pytest.approx(float(expected), rel=1e-6)
