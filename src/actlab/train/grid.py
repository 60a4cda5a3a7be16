"""The vectorised engine: many runs of one architecture trained as one computation.

Every weight is stacked along a leading model axis (``M`` runs): linear layers
as ``(M, in, out)`` with ``torch.baddbmm``, conv layers as grouped convolutions,
one per activation group, in channels-last layout (:mod:`actlab.train.grid_cnn`).  Runs are ordered so that runs with the same activation (and
activation parameters) form one contiguous slice: each activation is applied by
one call on its slice — torch's native op where the spec has one (as the
sequential engine's modules), else the spec's autograd Function
(:func:`actlab.nn.function_for`, analytic backward).  Runs with the same seed share the mini-batch,
which is gathered from the training set once per seed.  Adam and SGD(momentum)
are implemented on the stacked tensors with per-model learning rates and follow
``torch.optim.Adam`` / ``SGD`` step for step, so a grid run equals the same run
trained alone (see :mod:`actlab.train.sequential`) within float tolerance.

The MLP (elementwise activations) takes a fast path without autograd
(:mod:`actlab.train.fast_mlp`: layer 1 as one GEMM per seed group on the batch's
nonzero input columns, backward by the specs' analytic derivatives); the CNN and
maxout go through autograd.  ``config.precision`` "bf16" multiplies in bfloat16
on both paths (float32 master weights, optimiser state, activations and losses);
Adam is ``torch._fused_adam_`` (one call per learning rate) where torch has it.

A run whose loss turns NaN/inf is masked out (its gradients zeroed, the
optimiser skips it); the others go on.  :class:`GridTrainer` implements the engine protocol of
:mod:`actlab.train.driver` (``train_steps``, ``evaluate``, ``keep``, ``live_models``, ``state_dict``);
:func:`train_grid` hands it to the driver.

Bias-free models (``bias=False``) keep zero bias tensors whose gradients are zeroed before every
update, so they stay exactly 0 (every optimiser here maps a zero gradient on a zero parameter to zero).
Depth 0 (a linear model) runs on the autograd path.
"""
from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable

import torch
from torch import Tensor

from actlab.models import MLP_MODELS, initial_weights, resolve_activation, uses_alpha_dropout
from actlab.nn.alpha_dropout import alpha_prime, drop_terms
from actlab.spec import ActivationSpec
from actlab.train.config import RunSpec, TrainConfig
from actlab.train.events import EpochEnd, RunDiverged, RunEnd
from actlab.train.fast_mlp import StackedMLP
from actlab.train.grid_cnn import apply_activation, cnn_features
from actlab.train.grid_parts import (
    _gc_paused,
    _Group,
    copy_stacked_weights,
    fast_path_supports,
    grid_handles,
    grid_supports,
)
from actlab.train.metrics import batches, correct_count, epoch_order, per_model_loss
from actlab.train.optimizers import StackedOptimizer
from actlab.train.prepared import Prepared

__all__ = ["GridTrainer", "train_grid", "EVAL_BATCH", "grid_supports", "grid_handles", "fast_path_supports", "copy_stacked_weights"]

EVAL_BATCH = 2048


class GridTrainer:
    """Trains ``runs`` (one architecture) together; ``runs`` must all pass :func:`grid_supports`."""

    def __init__(self, data: Prepared, config: TrainConfig, runs: list[RunSpec]):
        self.data, self.config = data, config
        keyed: dict[tuple, list[RunSpec]] = {}
        specs: dict[tuple, ActivationSpec] = {}
        for run in runs:
            key = (run.activation.strip(), tuple(sorted(run.params)))
            if key not in specs:
                specs[key] = resolve_activation(run.activation, dict(run.params), config.model)
            keyed.setdefault(key, []).append(run)
        self.runs: list[RunSpec] = [run for group in keyed.values() for run in group]
        self.groups: list[_Group] = []
        start = 0
        for key, group in keyed.items():
            spec = specs[key]
            resolved = spec.resolve()
            self.groups.append(_Group(spec, start, start + len(group), tuple(resolved[n] for n in spec.param_names),
                                      uses_alpha_dropout(spec, config.model)))
            start += len(group)
        divisors = {g.spec.width_divisor for g in self.groups}
        if len(divisors) != 1:
            raise ValueError("a grid needs one architecture: runs differ in width_divisor (maxout)")
        self.M = M = len(self.runs)
        device = data.x_train.device
        seeds = sorted({run.seed for run in self.runs})
        self.seeds = seeds
        self.seed_index = torch.tensor([seeds.index(run.seed) for run in self.runs], device=device)
        self.seed_runs = [(self.seed_index == k).nonzero().flatten() for k in range(len(seeds))]
        self.precision = config.resolved_precision(device)  # "fp32" | "bf16"
        self.compute_dtype = torch.bfloat16 if self.precision == "bf16" else torch.float32
        self.fast = fast_path_supports(config, [g.spec for g in self.groups])
        self.lr = torch.tensor([run.resolved_lr(config) for run in self.runs], dtype=torch.float64, device=device)
        self.alive = torch.ones(M, dtype=torch.bool, device=device)
        self.params = self._stack_initial_weights(device)
        self.flat = [p.view(M, -1) for p in self.params]
        self.optimizer = StackedOptimizer(self.flat, self.lr, config)
        self.step = 0  # optimiser steps (all live runs step together); the epoch and batch follow from it
        self.steps_per_epoch = config.steps_per_epoch(len(data.x_train))
        self.slots: dict[str, list[Tensor]] = {}  # kept weights (keep): e.g. the best-validation ones
        self.diverged: dict[int, RunDiverged] = {}
        self._orders: tuple[int, Tensor] | None = None  # (epoch, the seeds' batch orders for it)
        self.dropout_generator = torch.Generator(device=device).manual_seed(int(seeds[0]))
        self.mlp = (StackedMLP(self.groups, self.seed_runs, self.compute_dtype, config.dropout,
                               self.dropout_generator) if self.fast else None)
        self._grad_first = torch.empty_like(self.params[0]) if self.fast else None  # reused every step
        if self.fast:
            for p in self.params:
                p.requires_grad_(False)

    @property
    def epoch(self) -> int:
        """Epochs completed."""
        return self.step // self.steps_per_epoch

    run_ids = property(lambda self: [run.run_id for run in self.runs])

    # ------------------------------------------------------------ weights
    def _stack_initial_weights(self, device: str | torch.device) -> list[Tensor]:
        data, config = self.data, self.config
        per_run = [initial_weights(self._spec_of(i), data.input_shape, data.num_outputs, config, run.seed)
                   for i, run in enumerate(self.runs)]
        stacked: list[Tensor] = []
        for layer in range(len(per_run[0])):
            weights = [w[layer][0] for w in per_run]
            biases = [w[layer][1] if w[layer][1] is not None else torch.zeros(w[layer][0].shape[0])
                      for w in per_run]
            if weights[0].dim() == 4:  # conv: (M·out, in, k, k) and (M·out,) for groups=M
                stacked += [torch.cat(weights), torch.cat(biases)]
            else:  # linear: (M, in, out) and (M, 1, out) for baddbmm
                stacked += [torch.stack([w.t() for w in weights]), torch.stack(biases).unsqueeze(1)]
        return [p.contiguous().to(device).requires_grad_(True) for p in stacked]

    def _spec_of(self, index: int) -> ActivationSpec:
        for group in self.groups:
            if group.start <= index < group.stop:
                return group.spec
        raise IndexError(index)

    # ------------------------------------------------------------ forward
    def _activate(self, z: Tensor, dim: int, per_model: int, train: bool) -> Tensor:
        """Apply each group's activation (then dropout, in training) to its slice along ``dim``."""
        parts = []
        p = self.config.dense_dropout()
        for g in self.groups:
            part = z.narrow(dim, g.start * per_model, (g.stop - g.start) * per_model)
            part = apply_activation(g, part)
            if train and p > 0:
                part = self._dropout(part, p, g.alpha_dropout, g.spec)
            parts.append(part)
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim)

    def _dropout(self, x: Tensor, p: float, alpha: bool, spec: ActivationSpec) -> Tensor:
        keep = (torch.rand(x.shape, generator=self.dropout_generator, device=x.device) >= p).to(x.dtype)
        if not alpha:
            return x * keep * (1.0 / (1.0 - p))
        multiplier, addend = drop_terms(keep, p, alpha_prime(spec))
        return x * multiplier + addend

    def _autocast(self, device: torch.device):
        if self.precision != "bf16":
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=torch.bfloat16)

    def forward(self, params: list[Tensor], x: Tensor, shared: bool, train: bool) -> Tensor:
        """Outputs (M, B, out) float32. ``x``: (B, ...) shared by all runs, or (M, B, ...) one batch per run."""
        if self.fast:
            if not shared:
                raise ValueError("the fast MLP path takes one batch shared by all runs")
            with torch.no_grad():
                return self.mlp.forward(params, x)
        with self._autocast(x.device):
            return self._forward(params, x, shared, train).float()

    def _forward(self, params: list[Tensor], x: Tensor, shared: bool, train: bool) -> Tensor:
        M = self.M
        if self.config.model in MLP_MODELS:
            w, b = params[0], params[1]
            if shared:  # one GEMM for all runs: (B, in) @ (in, M·H)
                z = x @ w.permute(1, 0, 2).reshape(w.shape[1], -1)
                z = z.view(len(x), M, -1).transpose(0, 1) + b
            else:
                z = torch.baddbmm(b, x, w)
            if len(params) == 2:  # depth 0: a linear model
                return z
            h = self._activate(z, 0, 1, train)
            rest = params[2:]
        else:
            h, used = self._cnn_features(params, x, shared, train)
            if used == 6:  # the first dense layer was applied run by run
                h = self._activate(h, 0, 1, train)
            rest = params[used:]
        layers = [(rest[i], rest[i + 1]) for i in range(0, len(rest), 2)]
        for w, b in layers[:-1]:
            h = self._activate(torch.baddbmm(b, h, w), 0, 1, train)
        w, b = layers[-1]
        return torch.baddbmm(b, h, w)

    def _cnn_features(self, params: list[Tensor], x: Tensor, shared: bool, train: bool) -> tuple[Tensor, int]:
        return cnn_features(self, params, x, shared, train)

    # ------------------------------------------------------------ training
    def _batch_order(self, epoch: int) -> Tensor:
        """(S, n): each seed's order of the training set in ``epoch`` (0-based), computed once per epoch."""
        if self._orders is None or self._orders[0] != epoch:
            n = len(self.data.x_train)
            orders = torch.stack([epoch_order(s, epoch, n) for s in self.seeds]).to(self.data.x_train.device)
            self._orders = (epoch, orders)
        return self._orders[1]

    def train_steps(self, count: int, should_stop: Callable[[], bool] | None = None,
                    emit: Callable[[object], None] | None = None, record_steps: bool = False):
        """``count`` optimiser steps for every live run (across epoch ends); see :class:`actlab.train.driver.Engine`.

        Returns a :class:`~actlab.train.driver.Chunk` (per-run summed losses, examples, per-step losses when
        ``record_steps``), or None when ``should_stop`` said so (polled before each step and once after the
        last); the steps taken stay taken.
        """
        from actlab.train.driver import Chunk

        data, config, M = self.data, self.config, self.M
        n, batch = len(data.x_train), config.batch_size
        total = torch.zeros(M, dtype=torch.float64, device=data.x_train.device)  # on the device: no copy per step
        count_examples = 0
        per_step: list[Tensor] = []
        first = self.step
        one_seed = len(self.seeds) == 1
        bias_free = not config.bias
        with _gc_paused():
            for _ in range(int(count)):
                if should_stop is not None and should_stop():
                    return None
                epoch, position = divmod(self.step, self.steps_per_epoch)
                index = self._batch_order(epoch)[:, position * batch:min((position + 1) * batch, n)]  # (S, B)
                if self.fast:
                    xs = data.x_train[index]  # (S, B, in): one batch per seed group
                    y = data.y_train[index][self.seed_index]
                    with torch.no_grad():
                        losses, grads = self.mlp.loss_and_grads(self.params, list(xs), y, data.kind,
                                                                out=self._grad_first)
                else:
                    if one_seed:
                        x, y = data.x_train[index[0]], data.y_train[index[0]]
                        out = self.forward(self.params, x, True, True)
                    else:
                        xs = data.x_train[index]  # gathered once per seed: (S, B, ...)
                        y = data.y_train[index][self.seed_index]
                        out = self.forward(self.params, xs[self.seed_index], False, True)
                    losses = per_model_loss(out, y, data.kind)  # (M,)
                    for p in self.params:
                        p.grad = None
                    losses.sum().backward()
                    grads = [p.grad for p in self.params]
                    losses = losses.detach()
                finite = torch.isfinite(losses)
                if not bool(finite[self.alive].all()):
                    self._mark_diverged(self.alive & ~finite, losses, emit, "training loss became")
                if bias_free:
                    for g in grads[1::2]:
                        g.zero_()
                self._update(grads)
                self.step += 1
                live_losses = torch.where(self.alive, losses, 0).double()
                total += live_losses * index.shape[1]
                count_examples += index.shape[1]
                if record_steps:
                    per_step.append(torch.where(self.alive, losses, torch.nan))
            if should_stop is not None and should_stop():  # before the (long, for a cnn) validation pass
                return None
        steps = torch.stack(per_step).cpu() if per_step else None
        return Chunk(first, self.step, total.cpu(), count_examples, steps)

    def train_epoch(self, should_stop: Callable[[], bool] | None = None,
                    emit: Callable[[object], None] | None = None) -> list[EpochEnd] | None:
        """The rest of the current epoch, then the validation pass: the EpochEnd events (None if stopped)."""
        start_time = time.perf_counter()
        live_at_start = int(self.alive.sum())
        chunk = self.train_steps(self.steps_per_epoch - self.step % self.steps_per_epoch, should_stop, emit)
        if chunk is None:
            return None
        val_loss, val_acc = self.evaluate_split("val")
        bad = self.alive & ~torch.isfinite(val_loss.to(self.alive.device))
        if bool(bad.any()):
            self._mark_diverged(bad, val_loss, emit, "validation loss became", during_epoch=False)
        share = (time.perf_counter() - start_time) / max(live_at_start, 1)
        return [EpochEnd(self.runs[i].run_id, self.epoch, self.step, float(chunk.loss_sums[i] / chunk.examples),
                         float(val_loss[i]), None if val_acc is None else float(val_acc[i]), share)
                for i in self.alive.nonzero().flatten().tolist()]

    # ------------------------------------------------------------ the engine protocol
    def alive_runs(self) -> list[bool]:
        return [bool(a) for a in self.alive.tolist()]

    def mark_diverged(self, indices: list[int], values: list[float], reason: str,
                      emit: Callable[[object], None] | None = None) -> None:
        """Stop runs ``indices`` (their validation loss became ``values``)."""
        mask = torch.zeros(self.M, dtype=torch.bool, device=self.alive.device)
        mask[indices] = True
        losses = torch.full((self.M,), math.nan, dtype=torch.float64)
        losses[indices] = torch.tensor(values, dtype=torch.float64)
        self._mark_diverged(mask & self.alive, losses, emit, reason, during_epoch=False)

    def evaluate_split(self, split: str, slot: str | None = None) -> tuple[Tensor, Tensor | None]:
        """Mean loss (M,) and accuracy (M,) (None for regression) on "val" or "test", with the current weights or
        those kept in ``slot``."""
        x, y = (self.data.x_val, self.data.y_val) if split == "val" else (self.data.x_test, self.data.y_test)
        params = self.params if slot is None else self.slots.get(slot, self.params)
        return self.evaluate(params, x, y)

    @torch.no_grad()
    def keep(self, slot: str, indices: list[int]) -> None:
        """Copy the current weights of runs ``indices`` into ``slot`` (created from the current weights)."""
        if slot not in self.slots:
            self.slots[slot] = [p.detach().clone() for p in self.params]
            return
        idx = torch.tensor(indices, dtype=torch.long, device=self.params[0].device)
        M = self.M
        for kept, p in zip(self.slots[slot], self.params):
            kept.view(M, -1)[idx] = p.detach().view(M, -1)[idx]

    def clip_counts(self) -> list[int] | None:
        if self.config.clip_value is None and self.config.clip_norm is None:
            return None
        return [int(c) for c in self.optimizer.clipped_steps.tolist()]

    def live_models(self):
        """(index, run_id, plain ``nn.Sequential``, activation spec) per live run: its current weights copied into a
        model of the same architecture (one per activation group, reused: use each before taking the next)."""
        from actlab.models import build_model

        if not hasattr(self, "_probe_models"):
            self._probe_models: dict[int, torch.nn.Module] = {}
        alive = self.alive.tolist()
        for group_index, group in enumerate(self.groups):
            for i in range(group.start, group.stop):
                if not alive[i]:
                    continue
                if group_index not in self._probe_models:
                    with torch.random.fork_rng(devices=[]):
                        model = build_model(group.spec, self.data.input_shape, self.data.num_outputs, self.config, 0)
                    self._probe_models[group_index] = model.to(self.data.x_train.device)
                yield i, self.runs[i].run_id, copy_stacked_weights(self._probe_models[group_index], self.params, i,
                                                                   self.M), group.spec

    def state_dict(self) -> dict:
        from actlab.train.checkpoint import grid_state

        return grid_state(self)

    def load_state_dict(self, state: dict) -> None:
        from actlab.train.checkpoint import load_grid_state

        load_grid_state(self, state)

    def _mark_diverged(self, mask: Tensor, losses: Tensor, emit, reason: str, during_epoch: bool = True) -> None:
        for i in mask.nonzero().flatten().tolist():
            event = RunDiverged(self.runs[i].run_id, self.epoch + (1 if during_epoch else 0),
                                self.step + (1 if during_epoch else 0), f"{reason} {float(losses[i].detach())}")
            self.diverged[i] = event
            if emit is not None:
                emit(event)
        self.alive &= ~mask.to(self.alive.device)

    def _update(self, gradients: list[Tensor]) -> None:
        self.optimizer.update(gradients, self.alive, self.step)

    # ---------------------------------------------------------- evaluation
    @torch.no_grad()
    def evaluate(self, params: list[Tensor], x: Tensor, y: Tensor) -> tuple[Tensor, Tensor | None]:
        """Mean loss (M,) float64 and accuracy (M,) (None for regression), all runs on the same batches."""
        kind = self.data.kind
        loss = torch.zeros(self.M, dtype=torch.float64)
        correct = torch.zeros(self.M, dtype=torch.float64)
        chunks = max(1, math.ceil(len(x) / EVAL_BATCH))
        for part in batches(len(x), math.ceil(len(x) / chunks)):  # equal sizes: one shape to compile
            out = self.forward(params, x[part], True, False)
            loss += per_model_loss(out, y[part], kind).double().cpu() * len(out[0])
            hits = correct_count(out, y[part], kind)
            if hits is not None:
                correct += hits.double().cpu()
        return loss / len(x), (None if kind == "regression" else correct / len(x))

def train_grid(data: Prepared, config: TrainConfig, runs: list[RunSpec],
               emit: Callable[[object], None], should_stop: Callable[[], bool] | None,
               results: dict[str, RunEnd | RunDiverged], checkpoint=None, probes=()) -> bool:
    """Train one grid with the driver; fills ``results``; False when ``should_stop`` interrupted.

    ``checkpoint`` (:class:`actlab.train.checkpoint.Checkpoint`): the grid starts from its
    last state, if any, and saves its state after each evaluation's events were emitted.
    """
    from actlab.train.driver import drive

    return drive(GridTrainer(data, config, runs), config, emit=emit, should_stop=should_stop, results=results,
                 checkpoint=checkpoint, probes=probes)
