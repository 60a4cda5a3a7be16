"""PerNeuron: a different activation per unit; gradients checked in float64 against finite differences."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from actlab.errors import ActlabError
from actlab.nn.per_neuron import PerNeuron, parse_item, split_list


def test_each_unit_gets_its_own_activation():
    layer = PerNeuron(["cos", "identity", "relu", "sign(x)*x**2", "cos"])
    x = torch.linspace(-2, 2, 15).reshape(3, 5)
    y = layer(x)
    expected = torch.stack([torch.cos(x[:, 0]), x[:, 1], torch.relu(x[:, 2]),
                            torch.sign(x[:, 3]) * x[:, 3] ** 2, torch.cos(x[:, 4])], dim=1)
    torch.testing.assert_close(y, expected)
    assert len(layer.groups) == 4  # the two cos units are applied together


@pytest.mark.parametrize("items", [["cos", "identity"], ["tanh", "softplus", "sign(x)*x**2"],
                                   ["prelu", "sigmoid", "prelu"], ["prelu:per_unit", "elu:alpha=0.5", "prelu:per_unit"]])
def test_gradcheck_float64(items):
    torch.manual_seed(0)
    layer = PerNeuron(items).double()
    x = (torch.randn(6, len(items), dtype=torch.float64) + 0.05).requires_grad_()  # away from kinks at 0
    params = tuple(layer.parameters())
    assert torch.autograd.gradcheck(lambda x_, *p: layer(x_), (x, *params))


def test_learnable_slopes_shared_and_per_unit():
    shared = PerNeuron(["prelu", "prelu", "identity"])
    per_unit = PerNeuron(["prelu:per_unit", "prelu:per_unit", "identity"])
    assert [p.numel() for p in shared.parameters()] == [1]
    assert [p.numel() for p in per_unit.parameters()] == [2]
    x = torch.tensor([[-1.0, -2.0, -3.0]])
    per_unit(x).sum().backward()
    grad = next(per_unit.parameters()).grad
    torch.testing.assert_close(grad, torch.tensor([-1.0, -2.0]))  # d(alpha*x)/d alpha = x per unit


def test_works_in_sequential_and_trains():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), PerNeuron(["tanh", "cos", "prelu"]), nn.Linear(3, 1))
    x = torch.randn(64, 2)
    y = (x[:, :1] * x[:, 1:] > 0).float()
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(60):
        optimiser.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]
    assert "tanh, cos, prelu" in repr(model)


def test_rrelu_samples_in_training_and_is_fixed_in_eval():
    torch.manual_seed(0)
    layer = PerNeuron(["rrelu", "identity"])
    x = -torch.ones(1000, 2)
    train_out = layer(x)[:, 0]
    assert train_out.std() > 0.01 and -1 / 3 <= train_out.min() and train_out.max() <= -1 / 8
    layer.eval()
    assert torch.allclose(layer(x)[:, 0], torch.full((1000,), -(1 / 8 + 1 / 3) / 2))


def test_bad_items_are_named():
    with pytest.raises(ActlabError, match="maxout"):
        PerNeuron(["maxout", "relu"])
    with pytest.raises(ActlabError, match="per_unit"):
        parse_item("relu:per_unit")
    with pytest.raises(ActlabError, match="not a number"):
        parse_item("elu:alpha=big")
    with pytest.raises(ValueError, match="last dimension"):
        PerNeuron(["cos", "relu"])(torch.zeros(3, 4))


def test_split_list_keeps_formula_commas():
    assert split_list("cos, maximum(x, 0),identity") == ["cos", "maximum(x, 0)", "identity"]
    with pytest.raises(ActlabError, match="empty item"):
        split_list("cos,,relu")
    assert parse_item("maxout:k=3").spec.resolve()["k"] == 3
    assert math.isclose(parse_item("elu:alpha=0.5").spec.resolve()["alpha"], 0.5)
