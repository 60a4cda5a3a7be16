"""The reference engine: one plain ``nn.Sequential`` and one ``torch.optim`` optimiser per run.

It is the honest PyTorch loop the grid engine is checked against (same init,
same batch order, same maths).  ``precision`` "bf16" runs the forward under
``torch.autocast(dtype=torch.bfloat16)`` with the activations (and dropout) fed
float32, as the grid does.  :class:`SingleRun` trains one run epoch by
epoch, so a caller can step it, pause it and evaluate it between epochs.
"""
from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

from actlab.models import build_model
from actlab.nn import ActivationModule
from actlab.train.config import RunSpec, TrainConfig
from actlab.train.diagnostics_hook import SingleProbe, clip_gradients
from actlab.train.events import EpochEnd, RunDiverged, RunEnd
from actlab.train.metrics import batches, correct_count, epoch_order, per_model_loss
from actlab.train.prepared import Prepared

__all__ = ["SingleRun", "train_sequential", "make_optimizer", "evaluate_model", "autocast_for", "EVAL_BATCH"]

EVAL_BATCH = 4096


def make_optimizer(model: nn.Module, config: TrainConfig, lr: float) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=config.weight_decay)
    if config.optimizer == "rmsprop":
        from actlab.train.optimizers import RMSPROP_ALPHA, RMSPROP_EPS

        return torch.optim.RMSprop(model.parameters(), lr=lr, alpha=RMSPROP_ALPHA, eps=RMSPROP_EPS,
                                   weight_decay=config.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=config.momentum, weight_decay=config.weight_decay)


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
    accuracy = correct / len(x) if kind != "regression" else None
    return total / len(x), accuracy


class SingleRun:
    """One run trained alone; ``train_epoch`` returns an event (EpochEnd or RunDiverged) or None if stopped."""

    def __init__(self, data: Prepared, config: TrainConfig, run: RunSpec):
        self.data, self.config, self.run = data, config, run
        self.model = build_model(run.activation, data.input_shape, data.num_outputs, config, run.seed,
                                 params=dict(run.params)).to(data.x_train.device)
        self.precision = config.resolved_precision(data.x_train.device)  # "fp32" | "bf16"
        if self.precision == "bf16":
            float_activations(self.model)
        self.optimizer = make_optimizer(self.model, config, run.resolved_lr(config))
        self.epoch = 0  # epochs done
        self.step = 0  # optimiser steps done
        self.best: tuple[float, float | None, int] | None = None  # val loss, val acc, epoch
        self.best_state: dict[str, Tensor] | None = None
        self.seconds: list[float] = []
        self.diverged: RunDiverged | None = None
        self.clipped_steps = 0  # steps whose gradient clipping changed
        # dropout masks come from torch's global generator: seed it per run, restore it after
        self._rng = torch.Generator().manual_seed(int(run.seed))

    def train_epoch(self, should_stop: Callable[[], bool] | None = None) -> EpochEnd | RunDiverged | None:
        data, config = self.data, self.config
        start = time.perf_counter()
        order = epoch_order(self.run.seed, self.epoch, len(data.x_train)).to(data.x_train.device)
        self.model.train()
        total, count = 0.0, 0
        with torch.random.fork_rng(devices=[]):
            torch.random.set_rng_state(self._rng.get_state())
            for part in batches(len(order), config.batch_size):
                if should_stop is not None and should_stop():
                    return None
                index = order[part]
                with autocast_for(self.precision, data.x_train.device):
                    out = self.model(data.x_train[index])
                out = out.float()
                loss = per_model_loss(out, data.y_train[index], data.kind)
                if not torch.isfinite(loss):
                    self.diverged = RunDiverged(self.run.run_id, self.epoch + 1, self.step + 1,
                                                f"training loss became {float(loss.detach())}")
                    return self.diverged
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.clipped_steps += clip_gradients(self.model.parameters(), config)
                self.optimizer.step()
                self.step += 1
                total += float(loss.detach()) * len(index)
                count += len(index)
            self._rng.set_state(torch.random.get_rng_state())
        val_loss, val_acc = evaluate_model(self.model, data.x_val, data.y_val, data.kind, self.precision)
        self.epoch += 1
        seconds = time.perf_counter() - start
        self.seconds.append(seconds)
        if not math.isfinite(val_loss):
            self.diverged = RunDiverged(self.run.run_id, self.epoch, self.step, f"validation loss became {val_loss}")
            return self.diverged
        if self.best is None or val_loss < self.best[0]:
            self.best = (val_loss, val_acc, self.epoch)
            self.best_state = copy.deepcopy(self.model.state_dict())
        return EpochEnd(self.run.run_id, self.epoch, self.step, total / count, val_loss, val_acc, seconds)

    def finish(self) -> RunEnd:
        """Test metrics with the best-validation weights."""
        assert self.best is not None and self.best_state is not None
        self.model.load_state_dict(self.best_state)
        test_loss, test_acc = evaluate_model(self.model, self.data.x_test, self.data.y_test, self.data.kind,
                                             self.precision)
        val_loss, val_acc, best_epoch = self.best
        return RunEnd(self.run.run_id, best_epoch, test_loss, test_acc, val_loss, val_acc,
                      sum(self.seconds) / len(self.seconds))


def train_sequential(data: Prepared, config: TrainConfig, runs: list[RunSpec],
                     emit: Callable[[object], None], should_stop: Callable[[], bool] | None,
                     results: dict[str, RunEnd | RunDiverged], checkpoint=None) -> bool:
    """Train ``runs`` one after another; fills ``results``; False when ``should_stop`` interrupted.

    ``checkpoint`` (one run only): start from its last state and save the state after each epoch.
    """
    if checkpoint is not None and len(runs) != 1:
        raise ValueError("a sequential checkpoint holds one run")
    for run in runs:
        single = SingleRun(data, config, run)
        probe = SingleProbe(single)  # --diagnostics and clipping counts
        resumed = False
        if checkpoint is not None:
            from actlab.train.checkpoint import load_single_state, single_state

            state = checkpoint.load()
            if state is not None:
                load_single_state(single, state)
                resumed = True
        if not resumed:
            probe.start(emit)  # the measurement at initialisation
        while single.epoch < config.epochs:
            event = single.train_epoch(should_stop)
            if event is None:
                return False
            emit(event)
            if isinstance(event, RunDiverged):
                results[run.run_id] = event
                break
            probe.epoch_end(emit)
            if checkpoint is not None:
                checkpoint.save(single_state(single))
        else:
            end = single.finish()
            emit(end)
            results[run.run_id] = end
    return True
