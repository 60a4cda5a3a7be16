"""actlab.swap: every activation module replaced, functional calls found (not silently left), outputs as a hand edit."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import actlab
from actlab.nn import ActivationModule


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.act = nn.GELU()

    def forward(self, x):
        return F.relu(self.act(self.fc(x)))  # the functional call swap cannot reach


class Net(nn.Module):
    """Five activation modules (ReLU, Tanh, GELU, SiLU, ELU) and one F.relu."""

    def __init__(self):
        super().__init__()
        self.head = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 6), nn.Tanh())
        self.block = Block()
        self.mid = nn.SiLU()
        self.last = nn.ELU()
        self.out = nn.Linear(6, 2)

    def forward(self, x):
        return self.out(self.last(self.mid(self.block(self.head(x)))))


def test_swap_replaces_five_modules_reports_the_functional_call_and_matches_a_hand_edit():
    torch.manual_seed(0)
    model = Net()
    by_hand = copy.deepcopy(model)  # the same weights, edited by hand with torch's own Softplus modules
    by_hand.head[1], by_hand.head[3], by_hand.block.act = nn.Softplus(), nn.Softplus(), nn.Softplus()
    by_hand.mid, by_hand.last = nn.Softplus(), nn.Softplus()
    result = actlab.swap(model, "softplus")
    assert result.replaced == {"ReLU": 1, "Tanh": 1, "GELU": 1, "SiLU": 1, "ELU": 1}
    assert result.count == 5
    assert set(result.paths) == {"head.1", "head.3", "block.act", "mid", "last"}
    assert [(c.where, c.function) for c in result.functional] == [("block", "torch.nn.functional.relu")]
    assert result.traced and "F.relu" not in result.summary() and "functional.relu in block" in result.summary()
    assert sum(isinstance(m, ActivationModule) for m in model.modules()) == 5
    x = torch.randn(64, 3, dtype=torch.float64)
    torch.testing.assert_close(model.double()(x), by_hand.double()(x), rtol=1e-12, atol=1e-12)


def test_only_keeps_the_other_types():
    model = Net()
    result = actlab.swap(model, "gelu", only=["relu", "SiLU"])
    assert result.replaced == {"ReLU": 1, "SiLU": 1}
    assert isinstance(model.head[3], nn.Tanh) and isinstance(model.last, nn.ELU)


def test_method_and_torch_calls_are_found_with_their_place():
    class Calls(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Sequential(nn.Linear(2, 2))

        def forward(self, x):
            return torch.tanh(self.inner(x)).sigmoid()

    result = actlab.swap(Calls(), "relu")
    assert result.count == 0
    assert {c.function for c in result.functional} == {"torch.tanh", "Tensor.sigmoid"}


def test_a_model_that_does_not_trace_is_said_so():
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(x) if x.sum() > 0 else -x

    model = Branchy()
    result = actlab.swap(model, "tanh")
    assert result.replaced == {"ReLU": 1} and not result.traced and result.functional == []
    assert "could not trace" in result.note and "not checked" in result.summary()
    x = torch.linspace(0.1, 2, 5)
    torch.testing.assert_close(model(x), torch.tanh(x))


def test_an_unknown_activation_names_it():
    with pytest.raises(actlab.UnknownNameError, match="gleu"):
        actlab.swap(Net(), "gleu")
