"""The 2-D nets' rows: one hidden layer's activations (:class:`ActivationRow`), the trained nets of a row
(:class:`TrainedRow`) and the hidden layer's forward pass shared by training and evaluation."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from actlab.errors import ActlabError
from actlab.nn import create
from actlab.nn.per_neuron import (
    ActivationItem,
    PerNeuron,
    apply_item,
    check_elementwise,
    parse_item,
    split_list,
)

__all__ = ["ActivationRow", "TrainedRow", "parse_row"]



@dataclass(frozen=True)
class ActivationRow:
    """One ``--act`` value: a whole-layer activation or one activation per hidden unit."""

    text: str
    items: tuple[ActivationItem, ...]  # one per hidden unit (the same item repeated for a whole layer)
    pieces: int = 1  # maxout's k (the layer before is k× wider), 1 otherwise
    per_neuron: bool = False

    @property
    def label(self) -> str:
        return self.text

    @property
    def hidden(self) -> int:
        return len(self.items)

    @functools.cached_property
    def groups(self) -> list[tuple[ActivationItem, list[int]]]:
        """Units sharing an activation: (item, unit indices), in order of first appearance."""
        return _unit_groups(self)


def parse_row(text: str, hidden: int) -> ActivationRow:
    """Parse one ``--act`` value for a hidden layer of ``hidden`` units (errors name the problem)."""
    if hidden < 1:
        raise ActlabError(f"--hidden must be at least 1, got {hidden}")
    parts = split_list(text)
    if len(parts) > 1:
        if len(parts) != hidden:
            raise ActlabError(f"--act {text!r} lists {len(parts)} activations but --hidden is {hidden}; "
                              "a per-neuron list needs one activation per hidden unit")
        items = [parse_item(p) for p in parts]
        for item in items:
            check_elementwise(item)
        return ActivationRow(text.strip(), tuple(items), per_neuron=True)
    item = parse_item(parts[0])
    spec = item.spec
    if spec.kind == "grouped":
        return ActivationRow(text.strip(), (item,) * hidden, pieces=spec.width_divisor)
    check_elementwise(item)
    return ActivationRow(text.strip(), (item,) * hidden)


def _unit_groups(row: ActivationRow) -> list[tuple[ActivationItem, list[int]]]:
    groups: dict[str, list[int]] = {}
    first: dict[str, ActivationItem] = {}
    for unit, item in enumerate(row.items):
        groups.setdefault(item.label, []).append(unit)
        first.setdefault(item.label, item)
    return [(first[key], units) for key, units in groups.items()]


@dataclass
class TrainedRow:
    """The K trained nets (one per seed) of one activation row; weights stacked along dim 0."""

    row: ActivationRow
    config: Any  # the recipe that trained it (actlab.lab2d.train.BoundaryConfig in the lab)
    seeds: list[int]
    w1: Tensor  # (K, 2, P)
    b1: Tensor | None  # (K, 1, P)
    w2: Tensor  # (K, H, 1)
    b2: Tensor  # (K, 1, 1)
    learnable: list[dict[str, Tensor]]  # per unit group: name -> (K, 1, 1) or (K, 1, g)
    final_loss: Tensor = field(default_factory=lambda: torch.empty(0))  # (K,) training loss after the last step
    snapshots: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (epoch, weights)

    @property
    def hidden(self) -> int:
        return self.row.hidden

    def weights(self) -> dict[str, Any]:
        return {"w1": self.w1, "b1": self.b1, "w2": self.w2, "b2": self.b2, "learnable": self.learnable}

    def features(self, x: Tensor, weights: dict[str, Any] | None = None) -> Tensor:
        """Hidden activations (K, N, H) of the K nets for points ``x`` (N, 2) (evaluation mode)."""
        w = weights or self.weights()
        with torch.no_grad():
            return _hidden(self.row, x, w["w1"], w["b1"], w["learnable"], training=False)

    def logits(self, x: Tensor, weights: dict[str, Any] | None = None) -> Tensor:
        """Output logits (K, N)."""
        w = weights or self.weights()
        h = self.features(x, w)
        with torch.no_grad():
            return (torch.matmul(h, w["w2"]) + w["b2"]).squeeze(-1)

    def probabilities(self, x: Tensor, weights: dict[str, Any] | None = None) -> Tensor:
        return torch.sigmoid(self.logits(x, weights))

    def accuracy(self, x: Tensor, y: Tensor) -> Tensor:
        """Accuracy (K,) of each seed's net on (x, y)."""
        if len(y) == 0:
            return torch.full((len(self.seeds),), float("nan"))
        return ((self.logits(x) > 0).long() == y.reshape(1, -1)).float().mean(dim=1)

    def module(self, seed_index: int) -> nn.Sequential:
        """The net of one seed as an ordinary ``nn.Sequential`` (Linear → activation → Linear)."""
        k = seed_index
        pieces = self.row.pieces
        first = nn.Linear(2, self.w1.shape[-1], bias=self.b1 is not None)
        with torch.no_grad():
            first.weight.copy_(self.w1[k].T)
            if self.b1 is not None:
                first.bias.copy_(self.b1[k, 0])
        if pieces > 1:
            activation: nn.Module = create(self.row.items[0].spec)
        else:
            activation = PerNeuron([item.spec for item in self.row.items])
            # copy learned parameters (PerNeuron groups by spec object; rebuild per unit when learnable)
            if any(self.learnable):
                activation = _LearnedUnits(self.row, [{n: v[k] for n, v in g.items()} for g in self.learnable])
        last = nn.Linear(self.hidden, 1)
        with torch.no_grad():
            last.weight.copy_(self.w2[k].T)
            last.bias.copy_(self.b2[k, 0])
        return nn.Sequential(first, activation, last).eval()


class _LearnedUnits(nn.Module):
    """Per-unit activations with fixed learned parameters (for :meth:`TrainedRow.module`)."""

    def __init__(self, row: ActivationRow, learned: list[dict[str, Tensor]]):
        super().__init__()
        self.row = row
        self.learned = learned

    def forward(self, z: Tensor) -> Tensor:
        return _activate(self.row, z, self.learned, training=False)


def _activate(row: ActivationRow, z: Tensor, learnable: list[dict[str, Tensor]], training: bool) -> Tensor:
    if row.pieces > 1:
        return apply_item(row.items[0], z, {}, training)
    groups = row.groups
    if len(groups) == 1:
        return apply_item(groups[0][0], z, learnable[0], training)
    outputs, order = [], []
    for (item, units), learned in zip(groups, learnable):
        index = torch.tensor(units, device=z.device)
        outputs.append(apply_item(item, z.index_select(-1, index), learned, training))
        order += units
    inverse = torch.argsort(torch.tensor(order, device=z.device))
    return torch.cat(outputs, dim=-1).index_select(-1, inverse)


def _hidden(row: ActivationRow, x: Tensor, w1: Tensor, b1: Tensor | None, learnable, training: bool) -> Tensor:
    z = torch.matmul(x, w1)  # (N, 2) @ (K, 2, P) → (K, N, P)
    if b1 is not None:
        z = z + b1
    return _activate(row, z, learnable, training)
