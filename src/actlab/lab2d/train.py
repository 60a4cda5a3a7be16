"""Tiny 2-D classifiers (2 inputs → one hidden layer → 1 sigmoid output), every activation × seed at once.

The net of one activation row and one seed is ``logit = act(x W1 [+ b1]) W2 + b2``,
trained full-batch with Adam on binary cross-entropy.  All rows × seeds of one
call are trained together: rows whose hidden layer has the same pre-activation
width are stacked along a leading model axis (``W1`` (M, 2, P), ``W2`` (M, H, 1)),
so each step is two batched matmuls for the whole stack plus one activation call
per (row, distinct activation).  The loss is the sum of the models' mean losses;
the models share no weight and Adam is elementwise, so each model follows the
trajectory it would follow alone.

An activation row is a catalog name, a formula, a per-neuron list
(``"cos,identity"``: unit 1 cos, unit 2 identity; its length must equal the hidden
size), or an item with options: ``"prelu"`` (one learnable slope per net),
``"prelu:per_unit"`` (one per unit), ``"rrelu"`` (random slopes in training, their
mean in evaluation), ``"maxout:k=3"`` (each hidden unit the max of k affine pieces).

Initial weights: seed ``s`` draws W1 then W2 from ``torch.Generator().manual_seed(s)``
as ``randn · std`` (W1's std from each unit's activation's recommended init, W2 glorot),
biases zero — so the rows of one call start from the same numbers (paired).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
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

__all__ = ["ActivationRow", "BoundaryConfig", "TrainedRow", "median_seed", "parse_row", "train_rows"]


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


# bounds of the lab's tiny nets: a hostile --hidden 100000000 or --epochs 1e11 is refused, not run for hours
MAX_HIDDEN = 4096
MAX_EPOCHS = 1_000_000
MAX_SEEDS = 1000

@dataclass(frozen=True)
class BoundaryConfig:
    hidden: int = 2  # hidden units
    bias: bool = True  # hidden-layer bias (the output bias is always there)
    epochs: int = 2000  # full-batch Adam steps
    lr: float = 0.03  # Adam learning rate
    seeds: int = 1  # seeds per activation: first_seed, first_seed + 1, ...
    first_seed: int = 0
    snapshots: int = 0  # keep this many parameter snapshots over training (for animations)

    def validate(self) -> None:
        if not 1 <= self.hidden <= MAX_HIDDEN:
            raise ActlabError(f"--hidden must be between 1 and {MAX_HIDDEN} (a 2-D lab net), got {self.hidden}")
        if not 1 <= self.epochs <= MAX_EPOCHS:
            raise ActlabError(f"--epochs must be between 1 and {MAX_EPOCHS:,}, got {self.epochs}")
        if self.seeds > MAX_SEEDS:
            raise ActlabError(f"--seeds must be at most {MAX_SEEDS}, got {self.seeds}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ActlabError(f"--lr must be a positive number, got {self.lr}")
        if self.seeds < 1:
            raise ActlabError(f"--seeds must be at least 1, got {self.seeds}")
        if self.first_seed < 0:
            raise ActlabError(f"the first seed must be >= 0, got {self.first_seed}")


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
    config: BoundaryConfig
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


def _initial(row: ActivationRow, config: BoundaryConfig, seeds: Sequence[int]) -> dict[str, Any]:
    from actlab.models import (  # the same init schemes as every other model
        init_scheme,
        init_std,
    )

    hidden, pieces = config.hidden, row.pieces
    width = hidden * pieces
    w1_std = torch.tensor([init_std(init_scheme(row.items[u // pieces].spec), 2, hidden) for u in range(width)])
    w2_std = init_std("glorot", hidden, 1)
    w1, w2 = [], []
    for seed in seeds:
        generator = torch.Generator().manual_seed(int(seed))
        w1.append(torch.randn(2, width, generator=generator) * w1_std)
        w2.append(torch.randn(hidden, 1, generator=generator) * w2_std)
    k = len(seeds)
    learnable = []
    for item, units in (_unit_groups(row) if pieces == 1 else [(row.items[0], list(range(hidden)))]):
        resolved = item.spec.resolve()
        learnable.append({p.name: torch.full((k, 1, len(units) if item.per_unit else 1), float(resolved[p.name]))
                          for p in item.spec.learnable_params})
    return {"w1": torch.stack(w1), "b1": torch.zeros(k, 1, width) if config.bias else None,
            "w2": torch.stack(w2), "b2": torch.zeros(k, 1, 1), "learnable": learnable}


def train_rows(rows: Sequence[ActivationRow], x: Tensor, y: Tensor, config: BoundaryConfig) -> list[TrainedRow]:
    """Train every row × seed on (x (N, 2), y (N,) in {0, 1}), full batch; see the module docstring."""
    config.validate()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tensors of a few thousand numbers: threads cost more than they save
    try:
        return _train_rows(rows, x, y, config)
    finally:
        torch.set_num_threads(threads)


def _train_rows(rows: Sequence[ActivationRow], x: Tensor, y: Tensor, config: BoundaryConfig) -> list[TrainedRow]:
    for row in rows:
        if row.hidden != config.hidden:
            raise ActlabError(f"activation {row.text!r} has {row.hidden} units but the hidden layer has {config.hidden}")
    seeds = list(range(config.first_seed, config.first_seed + config.seeds))
    k = len(seeds)
    x = x.float()
    target = y.float().reshape(1, -1, 1)
    # stack rows with the same pre-activation width into one tensor per weight
    widths = sorted({row.pieces * config.hidden for row in rows})
    stacks = []
    for width in widths:
        members = [i for i, row in enumerate(rows) if row.pieces * config.hidden == width]
        inits = [_initial(rows[i], config, seeds) for i in members]
        stack = {
            "members": members,
            "w1": torch.cat([w["w1"] for w in inits]).requires_grad_(),
            "b1": torch.cat([w["b1"] for w in inits]).requires_grad_() if config.bias else None,
            "w2": torch.cat([w["w2"] for w in inits]).requires_grad_(),
            "b2": torch.cat([w["b2"] for w in inits]).requires_grad_(),
            "learnable": [[{n: v.requires_grad_() for n, v in g.items()} for g in w["learnable"]] for w in inits],
        }
        stacks.append(stack)
    parameters = []
    for stack in stacks:
        parameters += [stack["w1"], stack["w2"], stack["b2"]] + ([stack["b1"]] if config.bias else [])
        parameters += [v for groups in stack["learnable"] for g in groups for v in g.values()]
    optimiser = torch.optim.Adam(parameters, lr=config.lr, foreach=True)
    snapshot_epochs = _snapshot_epochs(config)
    snapshots: dict[int, list[tuple[int, dict[str, Any]]]] = {i: [] for i in range(len(rows))}
    last_losses: dict[int, Tensor] = {}

    def forward(stack) -> Tensor:
        z = torch.matmul(x, stack["w1"])
        if stack["b1"] is not None:
            z = z + stack["b1"]
        hs = []
        for slot, i in enumerate(stack["members"]):
            hs.append(_activate(rows[i], z[slot * k:(slot + 1) * k], stack["learnable"][slot], training=True))
        h = torch.cat(hs) if len(hs) > 1 else hs[0]
        return torch.baddbmm(stack["b2"], h, stack["w2"])  # (M, N, 1)

    def snapshot(epoch: int) -> None:
        for stack in stacks:
            for slot, i in enumerate(stack["members"]):
                part = slice(slot * k, (slot + 1) * k)
                snapshots[i].append((epoch, {
                    "w1": stack["w1"][part].detach().clone(),
                    "b1": stack["b1"][part].detach().clone() if stack["b1"] is not None else None,
                    "w2": stack["w2"][part].detach().clone(), "b2": stack["b2"][part].detach().clone(),
                    "learnable": [{n: v.detach().clone() for n, v in g.items()} for g in stack["learnable"][slot]],
                }))

    if 0 in snapshot_epochs:
        snapshot(0)
    for epoch in range(1, config.epochs + 1):
        optimiser.zero_grad(set_to_none=True)
        total = x.new_zeros(())
        for index, stack in enumerate(stacks):
            logits = forward(stack)
            per_model = F.binary_cross_entropy_with_logits(
                logits, target.expand_as(logits), reduction="none").mean(dim=(1, 2))
            per_model = torch.nan_to_num(per_model, nan=0.0, posinf=0.0)  # a diverged net stops learning
            total = total + per_model.sum()
            last_losses[index] = per_model.detach()
        total.backward()
        optimiser.step()
        if epoch in snapshot_epochs:
            snapshot(epoch)

    results: list[TrainedRow | None] = [None] * len(rows)
    for stack in stacks:
        # the loss after the last step
        with torch.no_grad():
            logits = _forward_eval(stack, rows, x, k)
            final = F.binary_cross_entropy_with_logits(logits, target.expand_as(logits), reduction="none").mean(dim=(1, 2))
        for slot, i in enumerate(stack["members"]):
            part = slice(slot * k, (slot + 1) * k)
            results[i] = TrainedRow(
                row=rows[i], config=config, seeds=seeds,
                w1=stack["w1"][part].detach().clone(),
                b1=stack["b1"][part].detach().clone() if stack["b1"] is not None else None,
                w2=stack["w2"][part].detach().clone(), b2=stack["b2"][part].detach().clone(),
                learnable=[{n: v.detach().clone() for n, v in g.items()} for g in stack["learnable"][slot]],
                final_loss=final[part].clone(), snapshots=snapshots[i],
            )
    return [r for r in results if r is not None]


def _forward_eval(stack, rows, x: Tensor, k: int) -> Tensor:
    z = torch.matmul(x, stack["w1"])
    if stack["b1"] is not None:
        z = z + stack["b1"]
    hs = [_activate(rows[i], z[slot * k:(slot + 1) * k], stack["learnable"][slot], training=False)
          for slot, i in enumerate(stack["members"])]
    return torch.baddbmm(stack["b2"], torch.cat(hs), stack["w2"])


def _snapshot_epochs(config: BoundaryConfig) -> set[int]:
    if config.snapshots <= 0:
        return set()
    count = min(config.snapshots, config.epochs + 1)
    # denser early (training changes fastest at the start): quadratic spacing
    return {round(config.epochs * (i / max(count - 1, 1)) ** 2) for i in range(count)}


def median_seed(accuracy: Tensor, loss: Tensor) -> int:
    """Index of the median seed by test accuracy (ties broken by lower loss)."""
    order = sorted(range(len(accuracy)), key=lambda i: (float(torch.nan_to_num(accuracy[i], nan=-1.0)), -float(loss[i])))
    return order[(len(order) - 1) // 2]
