"""The stacked engine for any ``nn.Module``: every seed of one arm in one set of tensors, with ``torch.func``.

The runs of a cell (one activation, one learning rate, several seeds) are built as usual — one module each,
from the same builder and seed as the sequential engine — and their parameters and buffers stacked
(``torch.func.stack_module_state``).  One ``vmap`` of ``functional_call`` over the stack computes every run's
forward on its own batch (each seed keeps its own batch order), the per-run mean losses are summed (each run's
gradient is its own: the runs share nothing) and one optimiser steps the stacked tensors.  Adam, SGD and RMSprop
act elementwise, so this is the sequential engine's arithmetic, batched; gradient clipping by norm uses each
run's own norm.  Dropout masks come from the cell's own random stream (they differ from the sequential
engine's, as in the grid).

A model ``vmap`` cannot run — Python control flow on tensor values (``if x.sum() > 0``), ``.item()`` in
forward, modules whose structure differs between seeds — raises :class:`Unstackable` at construction (one trial
step on a copy decides), and :func:`actlab.train.engine.train_runs` trains those runs with the sequential engine
instead, saying so (an :class:`~actlab.train.events.EngineNote`).
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import Tensor
from torch.func import functional_call, stack_module_state, vmap

from actlab.models import build_model, resolve_activation
from actlab.train.config import RunSpec, TrainConfig
from actlab.train.events import RunDiverged
from actlab.train.metrics import batches, correct_count, epoch_order, per_model_loss
from actlab.train.prepared import Prepared
from actlab.train.sequential import EVAL_BATCH, autocast_for, float_activations, make_optimizer

__all__ = ["FuncStack", "Unstackable", "train_stacked"]


class Unstackable(Exception):
    """The runs cannot be stacked with ``torch.func`` (the message says why)."""


class FuncStack:
    """``M`` runs of one user model stacked (the engine protocol of :mod:`actlab.train.driver`)."""

    def __init__(self, data: Prepared, config: TrainConfig, runs: list[RunSpec]):
        if len({(run.activation, run.params, run.resolved_lr(config)) for run in runs}) != 1:
            raise ValueError("a stacked cell holds runs of one activation and one learning rate")
        self.data, self.config, self.runs = data, config, list(runs)
        device = data.x_train.device
        first = runs[0]
        self.spec = resolve_activation(first.activation, dict(first.params), config.model)
        self.models = [build_model(run.activation, data.input_shape, data.num_outputs, config, run.seed,
                                   params=dict(run.params)).to(device) for run in runs]
        try:
            params, buffers = stack_module_state(self.models)
        except Exception as error:  # noqa: BLE001 — any refusal (shapes differ between seeds, …) means: not stackable
            raise Unstackable(f"its parameters do not stack ({_first_line(error)})") from None
        self.params = {name: tensor.detach().clone().requires_grad_(True) for name, tensor in params.items()}
        self.buffers = {name: tensor.detach().clone() for name, tensor in buffers.items()}
        self.base = copy.deepcopy(self.models[0]).to("meta")
        self.precision = config.resolved_precision(device)
        if self.precision == "bf16":
            float_activations(self.base)
        self._train = vmap(self._call, in_dims=(0, 0, 0), randomness="different")
        self._eval = vmap(self._call, in_dims=(0, 0, None), randomness="different")
        self._rng = torch.Generator().manual_seed(int(sum(run.seed * 7919 ** i for i, run in enumerate(runs))
                                                       % (2 ** 63)))
        self._trial()
        self.optimizer = make_optimizer(list(self.params.values()), config, first.resolved_lr(config))
        self.step = 0
        self.steps_per_epoch = config.steps_per_epoch(len(data.x_train))
        self.slots: dict[str, dict[str, Tensor]] = {}
        self.diverged: dict[int, RunDiverged] = {}
        self.clipped = [0] * len(runs)
        self._orders: tuple[int, Tensor] | None = None

    # ---------------------------------------------------------------- arithmetic
    def _call(self, params: dict[str, Tensor], buffers: dict[str, Tensor], x: Tensor) -> Tensor:
        return functional_call(self.base, (params, buffers), (x,))

    def _trial(self) -> None:
        """One forward and backward on a copy (weights and buffers untouched): raise Unstackable if vmap cannot."""
        n = min(2, len(self.data.x_train))
        x = self.data.x_train[:n].unsqueeze(0).expand(len(self.runs), *self.data.x_train[:n].shape)
        params = {k: v.detach().clone().requires_grad_(True) for k, v in self.params.items()}
        buffers = {k: v.clone() for k, v in self.buffers.items()}
        try:
            with torch.random.fork_rng(devices=[]):
                self.base.train()
                out = self._train(params, buffers, x)
                if tuple(out.shape[-1:]) != (self.data.num_outputs,):
                    raise Unstackable(f"it gives outputs of shape {tuple(out.shape[1:])}")
                grads = torch.autograd.grad(out.float().sum(), [p for p in params.values()], allow_unused=True)
                del grads
        except Unstackable:
            raise
        except Exception as error:  # noqa: BLE001 — vmap refuses data-dependent control flow and more: reported
            raise Unstackable(f"torch.func.vmap cannot run its forward ({_first_line(error)})") from None

    def _orders_for(self, epoch: int) -> Tensor:
        if self._orders is None or self._orders[0] != epoch:
            n = len(self.data.x_train)
            order = torch.stack([epoch_order(run.seed, epoch, n) for run in self.runs]).to(self.data.x_train.device)
            self._orders = (epoch, order)
        return self._orders[1]

    @property
    def epoch(self) -> int:
        return self.step // self.steps_per_epoch

    @property
    def run_ids(self) -> list[str]:
        return [run.run_id for run in self.runs]

    def alive_runs(self) -> list[bool]:
        return [i not in self.diverged for i in range(len(self.runs))]

    def train_steps(self, count: int, should_stop: Callable[[], bool] | None = None,
                    emit: Callable[[object], None] | None = None, record_steps: bool = False):
        """``count`` steps of every live run; a :class:`~actlab.train.driver.Chunk`, or None when stopped."""
        from actlab.train.driver import Chunk

        data, config = self.data, self.config
        n, batch = len(data.x_train), config.batch_size
        first = self.step
        sums = torch.zeros(len(self.runs), dtype=torch.float64)
        examples = 0
        per_step: list[Tensor] = []
        params = list(self.params.values())
        self.base.train()
        stopped = False
        with torch.random.fork_rng(devices=[]):
            torch.random.set_rng_state(self._rng.get_state())
            for _ in range(int(count)):
                alive = torch.tensor(self.alive_runs())
                if not bool(alive.any()):
                    break
                if should_stop is not None and should_stop():
                    stopped = True
                    break
                epoch, position = divmod(self.step, self.steps_per_epoch)
                index = self._orders_for(epoch)[:, position * batch:min((position + 1) * batch, n)]
                with autocast_for(self.precision, data.x_train.device):
                    out = self._train(self.params, self.buffers, data.x_train[index])
                losses = per_model_loss(out.float(), data.y_train[index], data.kind)
                values = losses.detach().double().cpu()
                for i in torch.nonzero(alive & ~torch.isfinite(values)).flatten().tolist():
                    self.diverged[i] = RunDiverged(self.runs[i].run_id, epoch + 1, self.step + 1,
                                                   f"training loss became {float(values[i])}")
                    if emit is not None:
                        emit(self.diverged[i])
                live = torch.tensor(self.alive_runs())
                self.optimizer.zero_grad(set_to_none=True)
                torch.where(live.to(losses.device), losses, torch.zeros_like(losses)).sum().backward()
                self._clip(params, live)
                self.optimizer.step()
                self.step += 1
                sums += torch.where(live, values, torch.zeros_like(values)) * index.shape[1]
                examples += index.shape[1]
                if record_steps:
                    per_step.append(torch.where(live, values, torch.full_like(values, math.nan)).float())
            self._rng.set_state(torch.random.get_rng_state())
        if stopped:
            return None
        steps = torch.stack(per_step) if record_steps and per_step else None
        return Chunk(first, self.step, sums, max(examples, 1), steps)

    def _clip(self, params: list[Tensor], live: Tensor) -> None:
        config = self.config
        grads = [p.grad for p in params if p.grad is not None]
        if not grads or (config.clip_value is None and config.clip_norm is None):
            return
        with torch.no_grad():
            if config.clip_value is not None:
                changed = torch.zeros(len(self.runs), dtype=torch.bool)
                for g in grads:
                    changed |= (g.abs() > config.clip_value).flatten(1).any(1).cpu()
                    g.clamp_(-config.clip_value, config.clip_value)
            else:  # each run's own global norm, as clip_grad_norm_ on its model
                norm = torch.stack([g.flatten(1).double().pow(2).sum(1) for g in grads]).sum(0).sqrt()
                scale = (config.clip_norm / (norm + 1e-6)).clamp(max=1.0)
                changed = (scale < 1.0).cpu()
                for g in grads:
                    g.mul_(scale.to(g.dtype).view(-1, *([1] * (g.dim() - 1))))
        for i in torch.nonzero(changed & live).flatten().tolist():
            self.clipped[i] += 1

    @torch.no_grad()
    def evaluate_split(self, split: str, slot: str | None = None) -> tuple[Tensor, Tensor | None]:
        data = self.data
        x, y = (data.x_val, data.y_val) if split == "val" else (data.x_test, data.y_test)
        params = {k: v.detach() for k, v in self.params.items()}
        buffers = dict(self.buffers)
        if slot is not None and slot in self.slots:
            kept = self.slots[slot]
            params = {k: kept[k] for k in params}
            buffers = {k: kept[k] for k in buffers}
        self.base.eval()
        total = torch.zeros(len(self.runs), dtype=torch.float64)
        correct = torch.zeros(len(self.runs), dtype=torch.float64)
        for part in batches(len(x), EVAL_BATCH):
            with autocast_for(self.precision, x.device):
                out = self._eval(params, buffers, x[part]).float()
            total += per_model_loss(out, y[part], data.kind).double().cpu() * len(out[0])
            hits = correct_count(out, y[part], data.kind)
            if hits is not None:
                correct += hits.double().cpu()
        self.base.train()
        accuracy = None if data.kind == "regression" else correct / max(len(x), 1)
        return total / max(len(x), 1), accuracy

    def keep(self, slot: str, indices: list[int]) -> None:
        current = {**{k: v.detach() for k, v in self.params.items()}, **self.buffers}
        if slot not in self.slots:
            self.slots[slot] = {k: v.clone() for k, v in current.items()}
            return
        index = torch.tensor(indices, dtype=torch.long, device=next(iter(current.values())).device)
        for name, tensor in current.items():
            self.slots[slot][name][index] = tensor[index]

    def mark_diverged(self, indices: list[int], values: list[float], reason: str,
                      emit: Callable[[object], None] | None = None) -> None:
        for i, value in zip(indices, values):
            if i not in self.diverged:
                self.diverged[i] = RunDiverged(self.runs[i].run_id, self.epoch, self.step, f"{reason} {value}")
                if emit is not None:
                    emit(self.diverged[i])

    def clip_counts(self) -> list[int] | None:
        if self.config.clip_value is None and self.config.clip_norm is None:
            return None
        return list(self.clipped)

    @torch.no_grad()
    def live_models(self):
        """(index, run_id, a plain module holding the run's current weights, the spec) per live run."""
        for i, model in enumerate(self.models):
            if i in self.diverged:
                continue
            for name, tensor in model.named_parameters():
                tensor.copy_(self.params[name][i])
            for name, tensor in model.named_buffers():
                if name in self.buffers:
                    tensor.copy_(self.buffers[name][i])
            yield i, self.runs[i].run_id, model, self.spec

    def state_dict(self) -> dict:
        cpu = {"params": {k: v.detach().to("cpu", copy=True) for k, v in self.params.items()},
               "buffers": {k: v.to("cpu", copy=True) for k, v in self.buffers.items()}}
        return {"engine": "stacked", "epoch": int(self.epoch), "step": int(self.step), **cpu,
                "optimizer": self.optimizer.state_dict(), "rng": self._rng.get_state(),
                "slots": {s: {k: v.to("cpu", copy=True) for k, v in kept.items()} for s, kept in self.slots.items()},
                "diverged": {i: [e.run_id, e.epoch, e.step, e.reason] for i, e in self.diverged.items()},
                "clipped": list(self.clipped)}

    @torch.no_grad()
    def load_state_dict(self, state: dict) -> None:
        device = self.data.x_train.device
        for name, tensor in self.params.items():
            tensor.copy_(state["params"][name].to(device))
        for name, tensor in self.buffers.items():
            tensor.copy_(state["buffers"][name].to(device))
        self.optimizer.load_state_dict(state["optimizer"])
        self._rng.set_state(state["rng"])
        self.slots = {s: {k: v.to(device) for k, v in kept.items()} for s, kept in state["slots"].items()}
        self.diverged = {int(i): RunDiverged(e[0], int(e[1]), int(e[2]), e[3]) for i, e in state["diverged"].items()}
        self.clipped = [int(c) for c in state.get("clipped", self.clipped)]
        self.step = int(state["step"])


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:200]


def train_stacked(data: Prepared, config: TrainConfig, runs: list[RunSpec],
                  emit: Callable[[object], None], should_stop: Callable[[], bool] | None,
                  results: dict, checkpoint=None, probes=(), engine: FuncStack | None = None) -> bool:
    """Train one stacked cell with the driver; False when ``should_stop`` interrupted."""
    from actlab.train.driver import drive

    return drive(engine or FuncStack(data, config, runs), config, emit=emit, should_stop=should_stop,
                 results=results, checkpoint=checkpoint, probes=probes)


def train_stacked_or_sequential(data: Prepared, config: TrainConfig, runs: list[RunSpec],
                                emit: Callable[[object], None], should_stop: Callable[[], bool] | None,
                                results: dict, checkpoint=None, probes=()) -> bool:
    """A stacked cell where one checkpoint stands for the cell (a Ray task): stacked when it can be; else its
    runs one after another (an EngineNote says so), checkpointed only when the cell holds one run."""
    from actlab.train.events import EngineNote
    from actlab.train.sequential import train_sequential

    try:
        engine = FuncStack(data, config, runs)
    except Unstackable as error:
        emit(EngineNote(runs[0].run_id, "sequential", len(runs), str(error)))
        for run in runs:
            if not train_sequential(data, config, [run], emit, should_stop, results,
                                    checkpoint if len(runs) == 1 else None, probes):
                return False
        return True
    emit(EngineNote(runs[0].run_id, "stacked", len(runs), f"{len(runs)} runs stacked with torch.func"))
    return train_stacked(data, config, runs, emit, should_stop, results, checkpoint, probes, engine=engine)
