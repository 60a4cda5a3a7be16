"""The 2-D nets' engine: tiny classifiers (2 inputs → one hidden layer → 1 sigmoid output), many at once.

A *row* is one hidden layer's activations (:class:`ActivationRow`): a catalog name, a formula, a
per-neuron list (``"cos,identity"``: unit 1 cos, unit 2 identity; its length is the hidden size), or an
item with options: ``"prelu"`` (one learnable slope per net), ``"prelu:per_unit"`` (one per unit),
``"rrelu"`` (random slopes in training, their mean in evaluation), ``"maxout:k=3"`` (each hidden unit the
max of k affine pieces).  The net of one row and one initialisation is ``logit = act(x W1 [+ b1]) W2 + b2``.

:class:`Net2dEngine` is the stacked layout of these nets behind the engine protocol of
:mod:`actlab.train.driver`: rows whose hidden layer has the same pre-activation width are stacked along
a leading model axis (``W1`` (M, 2, P), ``W2`` (M, H, 1)), so each step is two batched matmuls for the
whole stack plus one activation call per (row, distinct activation).  Every step is full batch (Adam on
binary cross-entropy); the loss is the sum of the models' mean losses, the models share no weight and
Adam is elementwise, so each model follows the trajectory it would follow alone.

Initial weights (:func:`initial_weights`): generator seed ``s`` draws W1 then W2 from
``torch.Generator().manual_seed(s)`` by the init schemes of :mod:`actlab.models` (W1 by each unit's
activation's recommended scheme or ``init``, W2 glorot_normal, both × ``weight_scale``), biases by the
scheme (zero for the he / glorot / lecun families) — so the rows of one call start from the same numbers
(paired).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from actlab.errors import ActlabError
from actlab.spec import ActivationSpec
from actlab.train.config import RunSpec, TrainConfig
from actlab.train.net2d_rows import ActivationRow, TrainedRow, _activate, _unit_groups, parse_row
from actlab.train.prepared import Prepared

__all__ = ["ActivationRow", "Net2dEngine", "TrainedRow", "initial_weights", "parse_row", "two_d_data"]


def initial_weights(row: ActivationRow, hidden: int, seeds: Sequence[int], *, bias: bool = True,
                    init: str | None = None, weight_scale: float = 1.0) -> dict[str, Any]:
    """Initial weights of one row for generator seeds ``seeds`` (see the module docstring): per seed W1
    (units with the same scheme drawn as one block), its bias when the scheme draws one, then W2 and b2."""
    from actlab.models import init_scheme, parse_init, siren_omega

    pieces = row.pieces
    width = hidden * pieces
    schemes = [init_scheme(row.items[u // pieces].spec, init) for u in range(width)]
    default, _ = parse_init(init)
    output_scheme = default or "glorot_normal"
    blocks: list[tuple[str, list[int]]] = []
    for unit, scheme in enumerate(schemes):
        if blocks and blocks[-1][0] == scheme:
            blocks[-1][1].append(unit)
        else:
            blocks.append((scheme, [unit]))
    w1, b1, w2, b2 = [], [], [], []
    for seed in seeds:
        generator = torch.Generator().manual_seed(int(seed))
        weights, biases = [], []
        for scheme, units in blocks:
            weight, unit_bias = _draw(scheme, 2, len(units), hidden, generator, weight_scale, bias, first_layer=True)
            weights.append(weight)
            biases.append(unit_bias)
        w1.append(torch.cat(weights, dim=1))
        if bias:
            b1.append(torch.cat(biases).reshape(1, width))
        weight, out_bias = _draw(output_scheme, hidden, 1, 1, generator, weight_scale, True,
                                 omega_0=siren_omega(row.items[-1].spec))
        w2.append(weight)
        b2.append(out_bias.reshape(1, 1))
    k = len(seeds)
    learnable = []
    for item, units in (_unit_groups(row) if pieces == 1 else [(row.items[0], list(range(hidden)))]):
        resolved = item.spec.resolve()
        learnable.append({p.name: torch.full((k, 1, len(units) if item.per_unit else 1), float(resolved[p.name]))
                          for p in item.spec.learnable_params})
    return {"w1": torch.stack(w1), "b1": torch.stack(b1) if bias else None, "w2": torch.stack(w2),
            "b2": torch.stack(b2), "learnable": learnable}


def _draw(scheme: str, fan_in: int, units: int, fan_out: int, generator: torch.Generator, gain: float,
          bias: bool, *, first_layer: bool = False, omega_0: float = 1.0) -> tuple[Tensor, Tensor]:
    """A (fan_in, units) weight block (drawn in that layout: ``x @ W``) and its (units,) bias (zero unless the
    scheme draws one), by :func:`actlab.models.draw_layer` (``first_layer``, ``omega_0``: the siren scheme's)."""
    from actlab.models import draw_layer

    siren = {"first_layer": first_layer, "omega_0": omega_0}
    weight, _ = draw_layer(scheme, (fan_in, units), fan_in, fan_out, generator, gain=gain, bias=False, **siren)
    unit_bias = torch.zeros(units)
    if bias:  # an empty weight draws nothing: only the scheme's bias (torch-default, nielsen, siren) takes numbers
        _, drawn = draw_layer(scheme, (units, 0), fan_in, fan_out, generator, gain=gain, bias=True, **siren)
        unit_bias = drawn if drawn is not None else unit_bias
    return weight, unit_bias


def two_d_data(x: Tensor, y: Tensor, x_test: Tensor | None = None, y_test: Tensor | None = None) -> Prepared:
    """A 2-D binary set as the engines take it: no validation split; the test split (default: the training
    points) is what the driver's final evaluation reads."""
    x, y = x.float().contiguous(), y.reshape(-1).float().contiguous()
    x_test = x if x_test is None else x_test.float().contiguous()
    y_test = y if y_test is None else y_test.reshape(-1).float().contiguous()
    return Prepared(x, y, x[:0], y[:0], x_test, y_test, (2,), 1, "binary")


class Net2dEngine:
    """The 2-D nets of ``rows`` × ``seeds`` (generator seeds), stacked; the engine protocol of
    :mod:`actlab.train.driver` with full-batch steps (``config.batch_size`` is ignored: one step is one epoch).

    ``config``: a :class:`TrainConfig` with ``optimizer`` "adam", ``lr``, Adam's betas and eps, ``bias``,
    ``init``, ``weight_scale``, ``width`` (the hidden units); ``snapshot_steps``: steps after which the
    weights are copied (0: at initialisation), for animations.  Runs are row-major: run ``r·K + k`` is
    row ``r``, seed ``seeds[k]``.
    """

    def __init__(self, data: Prepared, config: TrainConfig, rows: Sequence[ActivationRow], seeds: Sequence[int],
                 snapshot_steps: set[int] | frozenset[int] = frozenset()):
        if config.optimizer != "adam":
            raise ActlabError(f"the 2-D nets train with adam, not {config.optimizer!r}")
        hidden = config.width
        for row in rows:
            if row.hidden != hidden:
                raise ActlabError(f"activation {row.text!r} has {row.hidden} units but the hidden layer has {hidden}")
        self.data, self.config, self.rows, self.seeds = data, config, list(rows), [int(s) for s in seeds]
        self.k = len(self.seeds)
        self.runs = [RunSpec(row.text, seed) for row in self.rows for seed in self.seeds]
        self.step = 0
        self.steps_per_epoch = 1
        self.diverged: dict[int, Any] = {}
        self.snapshot_steps = set(snapshot_steps)
        self.snapshots: dict[int, list[tuple[int, dict[str, Any]]]] = {i: [] for i in range(len(self.rows))}
        self.slots: dict[str, list[dict[str, Any]]] = {}
        # random activations (rrelu) draw from torch's global generator: seed it for these nets, restore it after
        self._rng = torch.Generator().manual_seed(self.seeds[0] if self.seeds else 0)
        self.stacks = []
        for width in sorted({row.pieces * hidden for row in self.rows}):
            members = [i for i, row in enumerate(self.rows) if row.pieces * hidden == width]
            inits = [initial_weights(self.rows[i], hidden, self.seeds, bias=config.bias, init=config.init,
                                     weight_scale=config.weight_scale) for i in members]
            self.stacks.append({
                "members": members,
                "w1": torch.cat([w["w1"] for w in inits]).requires_grad_(),
                "b1": torch.cat([w["b1"] for w in inits]).requires_grad_() if config.bias else None,
                "w2": torch.cat([w["w2"] for w in inits]).requires_grad_(),
                "b2": torch.cat([w["b2"] for w in inits]).requires_grad_(),
                "learnable": [[{n: v.requires_grad_() for n, v in g.items()} for g in w["learnable"]] for w in inits],
            })
        parameters = []
        for stack in self.stacks:
            parameters += [stack["w1"], stack["w2"], stack["b2"]] + ([stack["b1"]] if config.bias else [])
            parameters += [v for groups in stack["learnable"] for g in groups for v in g.values()]
        self.parameters = parameters
        self.optimizer = torch.optim.Adam(parameters, lr=config.lr, betas=(config.adam_beta1, config.adam_beta2),
                                          eps=config.eps, weight_decay=config.weight_decay, foreach=True)
        if 0 in self.snapshot_steps:
            self._snapshot()

    # ------------------------------------------------------------------ the arithmetic
    @property
    def epoch(self) -> int:
        return self.step

    @property
    def run_ids(self) -> list[str]:
        return [run.run_id for run in self.runs]

    def alive_runs(self) -> list[bool]:
        return [True] * len(self.runs)

    def _forward(self, stack: dict[str, Any], x: Tensor, training: bool,
                 weights: dict[str, Any] | None = None) -> Tensor:
        w = weights or stack
        z = torch.matmul(x, w["w1"])
        if w["b1"] is not None:
            z = z + w["b1"]
        k = self.k
        hs = [_activate(self.rows[i], z[slot * k:(slot + 1) * k], w["learnable"][slot], training=training)
              for slot, i in enumerate(stack["members"])]
        h = torch.cat(hs) if len(hs) > 1 else hs[0]
        return torch.baddbmm(w["b2"], h, w["w2"])  # (M, N, 1)

    def _losses(self, logits: Tensor, y: Tensor) -> Tensor:
        target = y.reshape(1, -1, 1)
        return F.binary_cross_entropy_with_logits(logits, target.expand_as(logits), reduction="none").mean(dim=(1, 2))

    def train_steps(self, count: int, should_stop: Callable[[], bool] | None = None,
                    emit: Callable[[object], None] | None = None, record_steps: bool = False):
        """``count`` full-batch steps of every net; a :class:`~actlab.train.driver.Chunk`, or None when stopped."""
        from actlab.train.driver import Chunk

        x, y = self.data.x_train, self.data.y_train
        first = self.step
        sums = torch.zeros(len(self.runs), dtype=torch.float64)
        per_step = []
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tensors of a few thousand numbers: threads cost more than they save
        try:
            with torch.random.fork_rng(devices=[]):
                torch.random.set_rng_state(self._rng.get_state())
                stopped = self._steps(int(count), should_stop, x, y, sums, per_step, record_steps)
                self._rng.set_state(torch.random.get_rng_state())
        finally:
            torch.set_num_threads(threads)
        if stopped:
            return None
        steps = torch.stack(per_step) if record_steps else None
        return Chunk(first, self.step, sums, max((self.step - first) * len(x), 1), steps)

    def _steps(self, count: int, should_stop: Callable[[], bool] | None, x: Tensor, y: Tensor, sums: Tensor,
               per_step: list[Tensor], record_steps: bool) -> bool:
        """The steps themselves; True when ``should_stop`` interrupted them."""
        for _ in range(count):
            if should_stop is not None and should_stop():
                return True
            self.optimizer.zero_grad(set_to_none=True)
            total = x.new_zeros(())
            losses = []
            for stack in self.stacks:
                per_model = self._losses(self._forward(stack, x, training=True), y)
                per_model = torch.nan_to_num(per_model, nan=0.0, posinf=0.0)  # a diverged net stops learning
                total = total + per_model.sum()
                losses.append(per_model.detach())
            total.backward()
            self.optimizer.step()
            self.step += 1
            values = self._in_run_order(losses)
            sums += values.double() * len(x)
            if record_steps:
                per_step.append(values)
            if self.step in self.snapshot_steps:
                self._snapshot()
        return False

    def _in_run_order(self, per_stack: Sequence[Tensor]) -> Tensor:
        out = torch.empty(len(self.runs))
        for stack, values in zip(self.stacks, per_stack):
            for slot, i in enumerate(stack["members"]):
                out[i * self.k:(i + 1) * self.k] = values[slot * self.k:(slot + 1) * self.k]
        return out

    # ------------------------------------------------------------------ the protocol's bookkeeping
    @torch.no_grad()
    def evaluate_split(self, split: str, slot: str | None = None) -> tuple[Tensor, Tensor | None]:
        data = self.data
        x, y = {"train": (data.x_train, data.y_train), "val": (data.x_val, data.y_val),
                "test": (data.x_test, data.y_test)}[split]
        losses, accuracies = [], []
        for index, stack in enumerate(self.stacks):
            weights = self.slots[slot][index] if slot is not None and slot in self.slots else None
            logits = self._forward(stack, x, training=False, weights=weights)
            losses.append(self._losses(logits, y))
            accuracies.append(((logits[..., 0] > 0).float() == y.reshape(1, -1)).float().mean(dim=1))
        return self._in_run_order(losses).double(), self._in_run_order(accuracies).double()

    def keep(self, slot: str, indices: list[int]) -> None:
        self.slots[slot] = [self._copy(stack) for stack in self.stacks]  # all nets at once: one full-batch step

    def mark_diverged(self, indices: list[int], values: list[float], reason: str,
                      emit: Callable[[object], None] | None = None) -> None:
        """The 2-D nets are not stopped: a diverged net's loss is zeroed and it stops learning by itself."""

    def clip_counts(self) -> list[int] | None:
        return None

    def live_models(self) -> Iterator[tuple[int, str, nn.Module, ActivationSpec | None]]:
        for r, trained in enumerate(self.trained_rows()):
            for k in range(self.k):
                yield r * self.k + k, self.runs[r * self.k + k].run_id, trained.module(k), trained.row.items[0].spec

    def state_dict(self) -> dict[str, Any]:
        return {"step": self.step, "stacks": [self._copy(stack) for stack in self.stacks],
                "optimizer": self.optimizer.state_dict(), "rng": self._rng.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            for stack, saved in zip(self.stacks, state["stacks"]):
                for name in ("w1", "b1", "w2", "b2"):
                    if stack[name] is not None:
                        stack[name].copy_(saved[name])
                for groups, saved_groups in zip(stack["learnable"], saved["learnable"]):
                    for g, s in zip(groups, saved_groups):
                        for n in g:
                            g[n].copy_(s[n])
        self.optimizer.load_state_dict(state["optimizer"])
        self._rng.set_state(state["rng"])
        self.step = int(state["step"])

    @staticmethod
    def _copy(stack: dict[str, Any]) -> dict[str, Any]:
        return {"w1": stack["w1"].detach().clone(),
                "b1": None if stack["b1"] is None else stack["b1"].detach().clone(),
                "w2": stack["w2"].detach().clone(), "b2": stack["b2"].detach().clone(),
                "learnable": [[{n: v.detach().clone() for n, v in g.items()} for g in groups]
                              for groups in stack["learnable"]]}

    def _snapshot(self) -> None:
        for stack in self.stacks:
            for slot, i in enumerate(stack["members"]):
                part = slice(slot * self.k, (slot + 1) * self.k)
                self.snapshots[i].append((self.step, {
                    "w1": stack["w1"][part].detach().clone(),
                    "b1": stack["b1"][part].detach().clone() if stack["b1"] is not None else None,
                    "w2": stack["w2"][part].detach().clone(), "b2": stack["b2"][part].detach().clone(),
                    "learnable": [{n: v.detach().clone() for n, v in g.items()} for g in stack["learnable"][slot]],
                }))

    # ------------------------------------------------------------------ results
    @torch.no_grad()
    def trained_rows(self, config: Any = None) -> list[TrainedRow]:
        """Every row's K nets (current weights), their training loss now and their snapshots; ``config`` is
        attached to each (the caller's description of the recipe)."""
        results: list[TrainedRow | None] = [None] * len(self.rows)
        for stack in self.stacks:
            final = self._losses(self._forward(stack, self.data.x_train, training=False), self.data.y_train)
            for slot, i in enumerate(stack["members"]):
                part = slice(slot * self.k, (slot + 1) * self.k)
                results[i] = TrainedRow(
                    row=self.rows[i], config=config, seeds=list(self.seeds),
                    w1=stack["w1"][part].detach().clone(),
                    b1=stack["b1"][part].detach().clone() if stack["b1"] is not None else None,
                    w2=stack["w2"][part].detach().clone(), b2=stack["b2"][part].detach().clone(),
                    learnable=[{n: v.detach().clone() for n, v in g.items()} for g in stack["learnable"][slot]],
                    final_loss=final[part].clone(), snapshots=list(self.snapshots[i]))
        return [r for r in results if r is not None]


