"""The gradient-flow panel takes actlab.analysis.layer_measures' numbers, pooled over a per-neuron layer's groups."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import actlab
from actlab.analysis.layer_measures import SATURATION_FRACTION, layer_measures, max_abs_derivative
from actlab.web.panels import gradient_flow
from actlab.web.trainer import Playground, Settings, make_data


def _layers(net):
    return [m for m in net if isinstance(m, nn.Linear)]


def _grads(playground, net):
    loss = playground.loss(net(playground.f_train), playground.data.y_train)
    linears = _layers(net)[:-1]
    return torch.autograd.grad(loss, [t for m in linears for t in (m.bias, m.weight)])


def _pre(net, x):
    out, h = [], x
    for i in range(0, len(net) - 1, 2):
        z = net[i](h)
        out.append(z.detach())
        h = net[i + 1](z)
    return out


def test_a_uniform_net_gets_the_diagnostics_numbers():
    playground = Playground(make_data("circle", n=200, seed=1), Settings(layers=(("tanh",) * 4, ("tanh",) * 3)))
    playground.step()
    net = playground.runs[0].net
    before = [m.weight.detach().clone() * 0.9 for m in _layers(net)]
    rows = gradient_flow(net, playground.f_train, lambda out: playground.loss(out, playground.data.y_train), before)
    grads = _grads(playground, net)
    spec = actlab.get("tanh")
    expected = layer_measures(_pre(net, playground.f_train), spec, grads[0::2], grads[1::2],
                              max_derivative=max_abs_derivative(spec))
    assert len(rows) == 2
    for row, m in zip(rows, expected):
        assert row["speed"] == pytest.approx(m.speed, rel=1e-6)
        assert row["dead"] == pytest.approx(m.dead_fraction)
        assert row["saturated"] == pytest.approx(m.saturated_fraction)
        assert row["update_ratio"] == pytest.approx(1 / 9, rel=1e-4)  # ‖W − 0.9 W‖ / ‖0.9 W‖


def test_a_mixed_layer_pools_its_groups():
    layers = (("relu", "tanh", "relu", "f:x*sigmoid(1.702*x)"),)
    playground = Playground(make_data("xor", n=200, seed=2), Settings(layers=layers))
    net = playground.runs[0].net
    with torch.no_grad():  # push the relu units far negative on every point: dead
        net[0].bias[[0, 2]] = -100.0
    before = [m.weight.detach().clone() for m in _layers(net)]
    (row,) = gradient_flow(net, playground.f_train, lambda out: playground.loss(out, playground.data.y_train), before)
    grads = _grads(playground, net)
    assert row["speed"] == pytest.approx(float(grads[0].norm()), rel=1e-6)  # the whole layer's ‖∂C/∂b‖
    assert row["dead"] == pytest.approx(2 / 4)
    z = _pre(net, playground.f_train)[0]
    tanh_sat = float((1 - torch.tanh(z[:, 1]) ** 2 < SATURATION_FRACTION * 1.0).double().mean())
    x = z[:, 3].double()
    s = torch.sigmoid(1.702 * x)
    swish_d = (s + 1.702 * x * s * (1 - s)).abs()
    sampled = torch.linspace(-10, 10, 4001, dtype=torch.float64)
    ss = torch.sigmoid(1.702 * sampled)
    top = float((ss + 1.702 * sampled * ss * (1 - ss)).abs().max())
    swish_sat = float((swish_d < SATURATION_FRACTION * top).double().mean())
    assert row["saturated"] == pytest.approx((1.0 + 1.0 + tanh_sat + swish_sat) / 4, abs=1e-6)  # dead relu: saturated too
    assert row["update_ratio"] == 0.0 and not math.isnan(row["speed"])


def test_an_unbounded_derivative_is_left_out_of_saturated():
    playground = Playground(make_data("circle", n=100, seed=0), Settings(layers=(("f:exp(x)*exp(x)",) * 2,)))
    playground.step()
    (row,) = playground.runs[0].flow
    assert row["saturated"] is None and row["dead"] == 0.0
