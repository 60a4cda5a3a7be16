"""The playground's net is a model config built by actlab.models.build: a per-neuron net with Glorot-uniform
weights and every bias 0.1 (the TensorFlow Playground's node bias), checked against the formulas."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from actlab.errors import ActlabError
from actlab.models import ModelConfig, build
from actlab.nn.per_neuron import PerNeuron
from actlab.web.trainer import MODEL, build_net


def test_playground_net_is_the_documented_model():
    assert (MODEL.kind, MODEL.init, MODEL.bias_init) == ("per-neuron", "glorot_uniform", 0.1)
    layers = (("tanh", "relu", "f:x**2"), ("sin", "sigmoid"))
    net = build_net(3, layers, seed=5)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [(3, 3), (2, 3), (1, 2)]
    for m in linears:
        fan_out, fan_in = m.weight.shape
        bound = math.sqrt(6.0 / (fan_in + fan_out))  # Glorot & Bengio's uniform bound
        largest = float(m.weight.detach().abs().max())
        assert 0.3 * bound < largest <= bound
        assert torch.equal(m.bias, torch.full_like(m.bias, 0.1))
    assert [m.names for m in net if isinstance(m, PerNeuron)] == [list(u) for u in layers]
    x = torch.tensor([[0.5, -1.0, 2.0]])
    z = linears[0](x)[0]
    h = torch.stack([torch.tanh(z[0]), torch.relu(z[1]), z[2] ** 2])
    torch.testing.assert_close(net[1](linears[0](x))[0], h)
    again = build_net(3, layers, seed=5)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))
    other = build_net(3, layers, seed=6)
    assert not torch.equal(other[0].weight, net[0].weight)


def test_the_glorot_uniform_draw_has_the_right_spread():
    net = build(ModelConfig(kind="per-neuron", depth=1, init="glorot_uniform"), [["tanh"] * 400], (300,), 1, 0)
    weight = net[0].weight.detach().double()
    bound = math.sqrt(6.0 / 700)
    assert float(weight.var()) == pytest.approx(bound ** 2 / 3, rel=0.02)  # U[-a, a]: variance a²/3
    assert torch.equal(net[0].bias, torch.zeros(400))  # glorot: zero biases unless bias_init says otherwise


def test_per_neuron_model_refuses_mismatched_layers():
    with pytest.raises(ActlabError, match="2 lists of activations for 1 hidden layers"):
        build(ModelConfig(kind="per-neuron", depth=1), [["tanh"], ["relu"]], (2,), 1, 0)
    with pytest.raises(ActlabError, match="one list of activations per hidden layer"):
        build(ModelConfig(kind="per-neuron", depth=1), ["tanh"], (2,), 1, 0)
