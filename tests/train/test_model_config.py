"""ModelConfig and the one builder: init schemes against their closed-form variances, bias, depth 0, gain."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from actlab.errors import ActlabError
from actlab.models import INIT_SCHEMES, ModelConfig, build, canonical_scheme, draw_layer, initial_weights
from actlab.train import TrainConfig

FAN_IN, FAN_OUT = 400, 300  # 120 000 weights per draw


def _variance(scheme: str, fan_in: int, fan_out: int) -> tuple[float, bool]:
    """(weight variance, uniform?) from the definitions, independently of the code under test."""
    table = {
        "he_normal": (2 / fan_in, False), "he_uniform": ((6 / fan_in) / 3, True),
        "glorot_normal": (2 / (fan_in + fan_out), False), "glorot_uniform": ((6 / (fan_in + fan_out)) / 3, True),
        "lecun_normal": (1 / fan_in, False), "lecun_uniform": ((3 / fan_in) / 3, True),
        "torch-default": ((1 / fan_in) / 3, True), "standard": ((1 / fan_in) / 3, True),
        "nielsen": (1 / fan_in, False),
        "siren": ((6 / fan_in) / 3, True),  # a hidden layer, ω₀ = 1 (draw_layer's default): U[±√(6/fan_in)/ω₀]
    }
    return table[scheme]


@pytest.mark.parametrize("scheme", INIT_SCHEMES)
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_weight_variance_matches_the_closed_form(scheme, gain):
    generator = torch.Generator().manual_seed(0)
    weight, bias = draw_layer(scheme, (FAN_OUT, FAN_IN), FAN_IN, FAN_OUT, generator, gain=gain)
    variance, uniform = _variance(scheme, FAN_IN, FAN_OUT)
    variance *= gain ** 2
    n = weight.numel()
    w = weight.double()
    # standard error of the sample variance: sqrt((mu4 - sigma^4) / n); normal mu4 = 3 s^4, uniform 9/5 s^4
    mu4 = (9 / 5 if uniform else 3.0) * variance ** 2
    se = math.sqrt((mu4 - variance ** 2) / n)
    assert abs(float(w.var()) - variance) < 5 * se, scheme
    assert abs(float(w.mean())) < 5 * math.sqrt(variance / n)
    if uniform:  # bounded by sqrt(3) sigma, and reaches close to it
        bound = math.sqrt(3 * variance)
        assert float(w.abs().max()) <= bound * (1 + 1e-6)
        assert float(w.abs().max()) > 0.99 * bound
    else:  # normal: the kurtosis is 3 (uniform: 1.8)
        kurtosis = float(((w - w.mean()) ** 4).mean() / w.var() ** 2)
        assert abs(kurtosis - 3.0) < 0.1


def test_bias_draws():
    g = torch.Generator().manual_seed(1)
    _, bias = draw_layer("torch-default", (20000, 50), 50, 20000, g)
    assert float(bias.abs().max()) <= 1 / math.sqrt(50) and float(bias.var()) == pytest.approx(1 / 150, rel=0.05)
    _, bias = draw_layer("nielsen", (20000, 50), 50, 20000, g)
    assert float(bias.var()) == pytest.approx(1.0, rel=0.05)  # N(0, 1) as in Nielsen's book
    for scheme in ("he_normal", "standard", "glorot_uniform"):
        assert torch.equal(draw_layer(scheme, (7, 5), 5, 7, g)[1], torch.zeros(7))
    assert torch.equal(draw_layer("nielsen", (7, 5), 5, 7, g, bias_init=0.1)[1], torch.full((7,), 0.1))
    assert draw_layer("nielsen", (7, 5), 5, 7, g, bias=False)[1] is None


def test_torch_default_is_what_nn_linear_draws():
    """Same distribution as PyTorch's own nn.Linear init: U[-1/sqrt(fan_in), 1/sqrt(fan_in)] for both."""
    torch.manual_seed(0)
    reference = nn.Linear(FAN_IN, FAN_OUT)
    ours = draw_layer("torch-default", (FAN_OUT, FAN_IN), FAN_IN, FAN_OUT, torch.Generator().manual_seed(0))[0]
    assert float(reference.weight.detach().var()) == pytest.approx(float(ours.var()), rel=0.03)
    assert float(reference.weight.detach().abs().max()) == pytest.approx(float(ours.abs().max()), rel=1e-3)


def test_plain_names_are_the_normal_schemes_and_draw_the_same_numbers():
    assert canonical_scheme("he") == "he_normal" and canonical_scheme("glorot") == "glorot_normal"
    a = initial_weights("relu", (20,), 3, ModelConfig(depth=1, width=16, init="he"), seed=4)
    b = initial_weights("relu", (20,), 3, ModelConfig(depth=1, width=16, init="he_normal"), seed=4)
    assert all(torch.equal(x[0], y[0]) for x, y in zip(a, b))
    with pytest.raises(ActlabError, match="did you mean he_uniform"):
        canonical_scheme("he_unifrom")


def test_depth_zero_is_one_linear_layer():
    net = build(ModelConfig(depth=0), "relu", (40,), 10, seed=0)
    assert [type(m).__name__ for m in net] == ["Flatten", "Linear"]
    assert net(torch.randn(3, 40)).shape == (3, 10)


def test_no_bias_model_has_no_bias_parameters():
    net = build(ModelConfig(depth=2, width=8, bias=False), "tanh", (5,), 3, seed=0)
    assert all(not name.endswith("bias") for name, _ in net.named_parameters())
    cnn = build(ModelConfig(kind="cnn", bias=False), "relu", (1, 8, 8), 10, seed=0)
    assert all(not name.endswith("bias") for name, _ in cnn.named_parameters())


def test_weight_scale_and_bias_init_reach_the_model():
    base = build(ModelConfig(depth=1, width=8), "tanh", (5,), 3, seed=2)
    scaled = build(ModelConfig(depth=1, width=8, weight_scale=3.0, bias_init=0.25), "tanh", (5,), 3, seed=2)
    torch.testing.assert_close(scaled[1].weight, base[1].weight * 3.0)
    assert torch.equal(scaled[1].bias, torch.full((8,), 0.25))


def test_per_layer_activations():
    net = build(ModelConfig(depth=2, width=4), ["tanh", "relu"], (3,), 2, seed=0)
    names = [m.spec.name for m in net if hasattr(m, "spec")]
    assert names == ["tanh", "relu"]
    with pytest.raises(ActlabError, match="2 hidden layers"):
        build(ModelConfig(depth=2, width=4), ["tanh"], (3,), 2, seed=0)


def test_train_config_exposes_its_model_config():
    config = TrainConfig(depth=0, bias=False, init="standard", weight_scale=0.5)
    assert config.model_config == ModelConfig(depth=0, bias=False, init="standard", weight_scale=0.5)
    config.validate()


@pytest.mark.parametrize("fields, match", [
    ({"depth": -1}, "depth"), ({"weight_scale": 0.0}, "weight_scale"), ({"bias_init": math.nan}, "bias_init"),
    ({"bias": False, "bias_init": 0.1}, "no-bias"), ({"init": "uniform"}, "init scheme"), ({"kind": "mpl"}, "mlp"),
])
def test_bad_model_config(fields, match):
    with pytest.raises(ActlabError, match=match):
        ModelConfig(**fields).validate()
