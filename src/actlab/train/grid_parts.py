"""The grid engine's small parts: which runs and configs it takes, its activation groups, the garbage-collector
pause around its steps, and a run's weights copied out of the stacks into a plain model."""
from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass

import torch
from torch import Tensor

from actlab.models import MLP_MODELS
from actlab.spec import ActivationSpec
from actlab.train.config import TrainConfig

__all__ = ["grid_supports", "grid_handles", "fast_path_supports", "copy_stacked_weights"]


@contextlib.contextmanager
def _gc_paused():
    """Python's cyclic garbage collector off while the steps run (restored after).

    A step frees its tensors by reference count; an automatic full collection over the
    many objects that torch.compile leaves behind took ~0.25 s in the middle of an epoch.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def grid_supports(spec: ActivationSpec) -> bool:
    """Learnable (PReLU) or randomised (RReLU) activation parameters are trained by the sequential engine."""
    return not spec.learnable_params and spec.sample is None


def grid_handles(config: TrainConfig) -> bool:
    """Whether the stacked grid trains this config's model (every model and optimiser option but the gpt, which
    the sequential engine trains)."""
    return config.model != "gpt"


def fast_path_supports(config: TrainConfig, specs: list[ActivationSpec]) -> bool:
    """The hand-written MLP path covers elementwise activations (not maxout) in the mlp."""
    return (config.model in MLP_MODELS and config.depth >= 1
            and all(spec.kind == "elementwise" for spec in specs))


@dataclass(frozen=True)
class _Group:
    """Runs [start, stop) share this activation."""

    spec: ActivationSpec
    start: int
    stop: int
    values: tuple
    alpha_dropout: bool


def copy_stacked_weights(model: torch.nn.Module, params: list[Tensor], index: int, runs: int) -> torch.nn.Module:
    """Copy run ``index`` of the grid's stacked ``params`` into ``model``'s Linear / Conv2d layers (in order).

    Linear: weight (M, in, out) and bias (M, 1, out); conv (groups = M): weight
    (M·out, in, k, k) and bias (M·out,) — the layouts of ``GridTrainer._stack_initial_weights``.
    A bias-free model's layers have no bias to copy (the grid's are zero).
    """
    layers = [m for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    with torch.no_grad():
        for layer, weight, bias in zip(layers, params[0::2], params[1::2]):
            if weight.dim() == 4:
                out = weight.shape[0] // runs
                layer.weight.copy_(weight[index * out:(index + 1) * out])
                if layer.bias is not None:
                    layer.bias.copy_(bias[index * out:(index + 1) * out])
            else:
                layer.weight.copy_(weight[index].t())
                if layer.bias is not None:
                    layer.bias.copy_(bias[index, 0])
    return model
