"""The reference engine: one plain ``nn.Sequential`` and one ``torch.optim`` optimiser per run.

It is the honest PyTorch loop the grid engine is checked against (same init,
same batch order, same maths).  ``precision`` "bf16" runs the forward under
``torch.autocast(dtype=torch.bfloat16)`` with the activations (and dropout) fed
float32, as the grid does.  :class:`SingleRun` implements the engine protocol of
:mod:`actlab.train.driver` for one run (and can be stepped by hand: ``train_steps``, ``train_epoch``);
:func:`train_sequential` hands each run to the driver.
"""
from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Iterable

import torch
from torch import Tensor, nn

from actlab.models import build_model
from actlab.nn import ActivationModule
from actlab.train.config import RunSpec, TrainConfig
from actlab.train.events import EpochEnd, RunDiverged, RunEnd
from actlab.train.metrics import batches, correct_count, epoch_order, lm_batch, per_model_loss
from actlab.train.prepared import Prepared

__all__ = ["SingleRun", "train_sequential", "make_optimizer", "evaluate_model", "autocast_for", "clip_gradients",
           "EVAL_BATCH"]

EVAL_BATCH = 4096


def make_optimizer(model: nn.Module | Iterable[Tensor], config: TrainConfig, lr: float) -> torch.optim.Optimizer:
    """The ``torch.optim`` optimiser ``config`` names, with its hyper-parameters (``model``: a module or tensors)."""
    parameters = list(model.parameters() if isinstance(model, nn.Module) else model)
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=lr, betas=(config.adam_beta1, config.adam_beta2),
                                eps=config.eps, weight_decay=config.weight_decay)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=lr, alpha=config.rmsprop_alpha, eps=config.eps,
                                   momentum=config.rmsprop_momentum, centered=config.rmsprop_centered,
                                   weight_decay=config.weight_decay)
    return torch.optim.SGD(parameters, lr=lr, momentum=config.momentum, nesterov=config.nesterov,
                           weight_decay=config.weight_decay)


def clip_gradients(parameters: Iterable[nn.Parameter], config: TrainConfig) -> bool:
    """Clip in place as ``config`` says (by value or by global norm); True when clipping changed a gradient.

    A step counts as clipped when clipping changed its gradient (some |g| > c; or the global norm + 1e-6 > c,
    where ``clip_grad_norm_`` scales by c / (norm + 1e-6) < 1)."""
    if config.clip_value is None and config.clip_norm is None:
        return False
    parameters = list(parameters)
    if config.clip_value is not None:
        changed = any(bool((p.grad.abs() > config.clip_value).any()) for p in parameters if p.grad is not None)
        nn.utils.clip_grad_value_(parameters, config.clip_value)
        return changed
    total = nn.utils.clip_grad_norm_(parameters, config.clip_norm)
    return bool(config.clip_norm / (float(total) + 1e-6) < 1.0)


def autocast_for(precision: str, device: torch.device):
    """bfloat16 autocast for "bf16", nothing for "fp32"."""
    if precision != "bf16":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def _float_input(module: nn.Module, args: tuple) -> tuple:
    return (args[0].float(), *args[1:])


def float_activations(model: nn.Module) -> nn.Module:
    """Feed every actlab activation float32 (under bf16 autocast the Linear before it gives bfloat16)."""
    for module in model.modules():
        if isinstance(module, ActivationModule):
            module.register_forward_pre_hook(_float_input)
    return model


@torch.no_grad()
def evaluate_model(model: nn.Module, x: Tensor, y: Tensor, kind: str,
                   precision: str = "fp32") -> tuple[float, float | None]:
    """Mean loss and accuracy (None for regression) over (x, y), in large batches."""
    was_training = model.training
    model.eval()
    total, correct = 0.0, 0
    for part in batches(len(x), EVAL_BATCH):
        with autocast_for(precision, x.device):
            out = model(x[part])
        out = out.float()
        total += float(per_model_loss(out, y[part], kind)) * len(out)
        hits = correct_count(out, y[part], kind)
        correct += int(hits) if hits is not None else 0
    model.train(was_training)
    accuracy = correct / (y.numel() if kind == "lm" else len(x)) if kind != "regression" else None
    return total / len(x), accuracy


class SingleRun:
    """One run trained alone: the sequential engine (the protocol of :mod:`actlab.train.driver`, M = 1)."""

    def __init__(self, data: Prepared, config: TrainConfig, run: RunSpec):
        self.data, self.config, self.run = data, config, run
        self.runs = [run]
        self.model = build_model(run.activation, data.input_shape, data.num_outputs, config, run.seed,
                                 params=dict(run.params)).to(data.x_train.device)
        self.precision = config.resolved_precision(data.x_train.device)  # "fp32" | "bf16"
        if self.precision == "bf16":
            float_activations(self.model)
        self.optimizer = make_optimizer(self.model, config, run.resolved_lr(config))
        self.step = 0  # optimiser steps done
        self.steps_per_epoch = config.steps_per_epoch(len(data.x_train))
        self.slots: dict[str, dict[str, Tensor]] = {}
        self.diverged_event: RunDiverged | None = None
        self.clipped_steps = 0  # steps whose gradient clipping changed
        self._order: tuple[int, Tensor] | None = None
        # dropout masks come from torch's global generator: seed it per run, restore it after
        self._rng = torch.Generator().manual_seed(int(run.seed))

    @property
    def epoch(self) -> int:
        """Epochs completed."""
        return self.step // self.steps_per_epoch

    @property
    def run_ids(self) -> list[str]:
        return [self.run.run_id]

    @property
    def diverged(self) -> dict[int, RunDiverged]:
        return {} if self.diverged_event is None else {0: self.diverged_event}

    def alive_runs(self) -> list[bool]:
        return [self.diverged_event is None]

    def _batch_order(self, epoch: int) -> Tensor:
        if self._order is None or self._order[0] != epoch:
            order = epoch_order(self.run.seed, epoch, len(self.data.x_train)).to(self.data.x_train.device)
            self._order = (epoch, order)
        return self._order[1]

    def train_steps(self, count: int, should_stop: Callable[[], bool] | None = None,
                    emit: Callable[[object], None] | None = None, record_steps: bool = False):
        """``count`` optimiser steps (across epoch ends); a :class:`~actlab.train.driver.Chunk`, or None when
        ``should_stop`` said so."""
        from actlab.train.driver import Chunk

        data, config = self.data, self.config
        n, batch = len(data.x_train), config.batch_size
        first = self.step
        total, examples = 0.0, 0
        per_step: list[float] = []
        self.model.train()
        stopped = False
        with torch.random.fork_rng(devices=[]):
            torch.random.set_rng_state(self._rng.get_state())
            for _ in range(int(count)):
                if self.diverged_event is not None:
                    break
                if should_stop is not None and should_stop():
                    stopped = True
                    break
                epoch, position = divmod(self.step, self.steps_per_epoch)
                if data.stream is not None:  # language modelling: random contiguous windows of the text
                    x, y = lm_batch(data.stream, self.run.seed, self.step, batch, data.input_shape[0])
                else:
                    index = self._batch_order(epoch)[position * batch:min((position + 1) * batch, n)]
                    x, y = data.x_train[index], data.y_train[index]
                with autocast_for(self.precision, data.x_train.device):
                    out = self.model(x)
                out = out.float()
                loss = per_model_loss(out, y, data.kind)
                if not torch.isfinite(loss):
                    self.diverged_event = RunDiverged(self.run.run_id, epoch + 1, self.step + 1,
                                                      f"training loss became {float(loss.detach())}")
                    if emit is not None:
                        emit(self.diverged_event)
                    break
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.clipped_steps += clip_gradients(self.model.parameters(), config)
                self.optimizer.step()
                self.step += 1
                value = float(loss.detach())
                total += value * len(x)
                examples += len(x)
                if record_steps:
                    per_step.append(value)
            self._rng.set_state(torch.random.get_rng_state())
        if stopped:
            return None
        steps = torch.tensor(per_step, dtype=torch.float32).unsqueeze(1) if record_steps else None
        return Chunk(first, self.step, torch.tensor([total], dtype=torch.float64), max(examples, 1), steps)

    def train_epoch(self, should_stop: Callable[[], bool] | None = None) -> EpochEnd | RunDiverged | None:
        """The rest of the current epoch, then the validation pass: EpochEnd or RunDiverged, or None if stopped.
        (A convenience for stepping by hand; the driver keeps the best weights.)"""
        start = time.perf_counter()
        chunk = self.train_steps(self.steps_per_epoch - self.step % self.steps_per_epoch, should_stop)
        if chunk is None:
            return None
        if self.diverged_event is not None:
            return self.diverged_event
        val_loss, val_acc = evaluate_model(self.model, self.data.x_val, self.data.y_val, self.data.kind,
                                           self.precision)
        if not math.isfinite(val_loss):
            self.mark_diverged([0], [val_loss], "validation loss became")
            return self.diverged_event
        return EpochEnd(self.run.run_id, self.epoch, self.step, float(chunk.loss_sums[0]) / chunk.examples,
                        val_loss, val_acc, time.perf_counter() - start)

    # ------------------------------------------------------------ the engine protocol
    def mark_diverged(self, indices: list[int], values: list[float], reason: str,
                      emit: Callable[[object], None] | None = None) -> None:
        if 0 in indices and self.diverged_event is None:
            self.diverged_event = RunDiverged(self.run.run_id, self.epoch, self.step, f"{reason} {values[0]}")
            if emit is not None:
                emit(self.diverged_event)

    def evaluate_split(self, split: str, slot: str | None = None) -> tuple[Tensor, Tensor | None]:
        data = self.data
        x, y = (data.x_val, data.y_val) if split == "val" else (data.x_test, data.y_test)
        if slot is not None and slot in self.slots:
            current = copy.deepcopy(self.model.state_dict())
            self.model.load_state_dict(self.slots[slot])
            loss, acc = evaluate_model(self.model, x, y, data.kind, self.precision)
            self.model.load_state_dict(current)
        else:
            loss, acc = evaluate_model(self.model, x, y, data.kind, self.precision)
        return (torch.tensor([loss], dtype=torch.float64),
                None if acc is None else torch.tensor([acc], dtype=torch.float64))

    def keep(self, slot: str, indices: list[int]) -> None:
        if 0 in indices:
            self.slots[slot] = copy.deepcopy(self.model.state_dict())

    def clip_counts(self) -> list[int] | None:
        if self.config.clip_value is None and self.config.clip_norm is None:
            return None
        return [int(self.clipped_steps)]

    def live_models(self):
        """(0, run_id, the run's own model, its activation spec) while the run is alive."""
        if self.diverged_event is None:
            yield 0, self.run.run_id, self.model, _activation_spec(self.model)

    def state_dict(self) -> dict:
        from actlab.train.checkpoint import single_state

        return single_state(self)

    def load_state_dict(self, state: dict) -> None:
        from actlab.train.checkpoint import load_single_state

        load_single_state(self, state)


def _activation_spec(model: nn.Module):
    from actlab.spec import ActivationSpec

    for module in model.modules():
        spec = getattr(module, "spec", None)
        if isinstance(spec, ActivationSpec):
            return spec
    return None


def train_sequential(data: Prepared, config: TrainConfig, runs: list[RunSpec],
                     emit: Callable[[object], None], should_stop: Callable[[], bool] | None,
                     results: dict[str, RunEnd | RunDiverged], checkpoint=None, probes=()) -> bool:
    """Train ``runs`` one after another with the driver; fills ``results``; False when ``should_stop``
    interrupted.  ``checkpoint`` (one run only): start from its last state and save after each evaluation."""
    from actlab.train.driver import drive

    if checkpoint is not None and len(runs) != 1:
        raise ValueError("a sequential checkpoint holds one run")
    for run in runs:
        if not drive(SingleRun(data, config, run), config, emit=emit, should_stop=should_stop, results=results,
                     checkpoint=checkpoint, probes=probes):
            return False
    return True
