"""Models: architecture, init per activation, dropout kind, rejected activations."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from actlab.errors import ActlabError
from actlab.models import (
    build_model,
    init_std,
    initial_weights,
    layer_plan,
    output_units,
    resolve_activation,
)
from actlab.train import TrainConfig


def test_mlp_shape_and_layers():
    net = build_model("relu", (784,), 10, TrainConfig(depth=3, width=32), seed=0)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [(32, 784), (32, 32), (32, 32), (10, 32)]
    assert net(torch.randn(5, 784)).shape == (5, 10)
    assert net(torch.randn(5, 1, 28, 28)).shape == (5, 10)  # Flatten first


def test_cnn_architecture():
    net = build_model("relu", (1, 28, 28), 10, TrainConfig(model="cnn", dropout=0.25), seed=0)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Conv2d", "ActivationModule", "Conv2d", "ActivationModule", "MaxPool2d", "Dropout",
                     "Flatten", "Linear", "ActivationModule", "Dropout", "Linear"]
    assert net[7].in_features == 64 * 12 * 12
    assert net(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    small = build_model("tanh", (1, 8, 8), 10, TrainConfig(model="cnn"), seed=0)
    assert small(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def test_selu_gets_lecun_init_and_alpha_dropout():
    config = TrainConfig(depth=2, width=256, dropout=0.1)
    net = build_model("selu", (400,), 10, config, seed=0)
    assert any(isinstance(m, nn.AlphaDropout) for m in net)
    assert not any(type(m) is nn.Dropout for m in net)
    assert net[1].weight.std().item() == pytest.approx(math.sqrt(1 / 400), rel=0.05)
    relu = build_model("relu", (400,), 10, config, seed=0)
    assert any(type(m) is nn.Dropout for m in relu)
    assert relu[1].weight.std().item() == pytest.approx(math.sqrt(2 / 400), rel=0.05)


def test_same_seed_same_weights_up_to_scale():
    config = TrainConfig(depth=1, width=16)
    he = initial_weights(resolve_activation("relu"), (20,), 3, config, seed=7)
    lecun = initial_weights(resolve_activation("selu"), (20,), 3, config, seed=7)
    ratio = init_std("he", 20, 16) / init_std("lecun", 20, 16)
    torch.testing.assert_close(he[0][0], lecun[0][0] * ratio)
    other = initial_weights(resolve_activation("relu"), (20,), 3, config, seed=8)
    assert not torch.equal(he[0][0], other[0][0])


def test_init_override():
    config = TrainConfig(depth=1, width=64, init="glorot")
    w = initial_weights(resolve_activation("relu"), (1000,), 2, config, seed=0)[0][0]
    assert w.std().item() == pytest.approx(init_std("glorot", 1000, 64), rel=0.05)


def test_formula_activation_builds():
    pytest.importorskip("sympy")
    try:
        net = build_model("x*sigmoid(x)", (4,), 2, TrainConfig(depth=1, width=8), seed=0)
    except ImportError:
        pytest.skip("formula module not available")
    assert net(torch.randn(3, 4)).shape == (3, 2)


def test_maxout_mlp_is_k_times_wider():
    net = build_model("maxout", (10,), 3, TrainConfig(depth=2, width=8), seed=0)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [(16, 10), (16, 8), (3, 8)]
    assert net(torch.randn(4, 10)).shape == (4, 3)


@pytest.mark.parametrize("name, model, match", [
    ("binary_step", "mlp", "backprop"),
    ("softmax", "mlp", "output activation"),
    ("maxout", "cnn", "mlp model only"),
])
def test_rejected_activations(name, model, match):
    with pytest.raises(ActlabError, match=match):
        resolve_activation(name, model=model)


def test_output_units_per_task():
    assert output_units("classification", 10) == 10
    assert output_units("classification", 2) == 1
    assert output_units("regression", 0, (100, 1)) == 1
    assert output_units("regression", 0, (100, 3)) == 3
    with pytest.raises(ActlabError):
        layer_plan("resnet", (4,), 2, 1, 4)
    with pytest.raises(ActlabError, match="too small"):
        layer_plan("cnn", (1, 4, 4), 2, 1, 4)
