"""The depth experiment's results and figure: each layer's activation mean and variance in a deep MLP.

Standardised inputs go through ``depth`` × [Linear (width) → activation →
dropout] at initialisation and again after a short training (``steps`` Adam
steps on the dataset; :func:`actlab.diagnostics.depth.depth_experiment` runs it on
the experiment core); for each layer the mean and variance of its outputs (over
the batch and the units) are recorded (:func:`layer_statistics`).  SELU with lecun_normal weights keeps
(0, 1), which is what :mod:`actlab.analysis.selfnorm` predicts; tanh's variance
shrinks layer after layer, ReLU's shrinks by half a layer under lecun weights
(and wanders under He weights); SELU with He weights runs to another fixed point
(variance ≈ 18.5 for τ = 2) — the condition on the weights matters.

Dropout after each hidden layer is the model builder's: AlphaDropout for SELU,
plain dropout otherwise (:func:`actlab.models.build`).  Statistics are taken in
training mode, so dropout is part of what they show.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from actlab.errors import ActlabError
from actlab.spec import ActivationSpec

__all__ = ["DATASETS", "DepthCurve", "DepthResult", "WRONG_INIT", "is_self_normalising", "layer_statistics",
           "plot_depth"]

DATASETS = ("gaussian", "mnist")
WRONG_INIT = "he"  # SELU with He weights (τ = 2): the fixed point (0, 1) is lost


@dataclass(frozen=True)
class DepthCurve:
    """Per-layer statistics of one network (``phase``: "init" or "trained")."""

    label: str
    activation: str
    init: str
    phase: str
    dropout: str  # "alpha", "plain" or "none"
    mean: list[float]
    variance: list[float]

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "activation": self.activation, "init": self.init, "phase": self.phase,
                "dropout": self.dropout, "mean": self.mean, "variance": self.variance}


@dataclass(frozen=True)
class DepthResult:
    depth: int
    width: int
    dataset: str
    init: str
    dropout_rate: float
    steps: int
    seed: int
    curves: list[DepthCurve] = field(default_factory=list)
    final_loss: dict[str, float] = field(default_factory=dict)

    def curve(self, label: str, phase: str = "init") -> DepthCurve:
        for c in self.curves:
            if c.label == label and c.phase == phase:
                return c
        raise KeyError((label, phase))

    def to_dict(self) -> dict[str, Any]:
        return {"depth": self.depth, "width": self.width, "dataset": self.dataset, "init": self.init,
                "dropout": self.dropout_rate, "steps": self.steps, "seed": self.seed,
                "curves": [c.to_dict() for c in self.curves],
                "final_loss": {k: (v if math.isfinite(v) else None) for k, v in self.final_loss.items()}}


def is_self_normalising(spec: ActivationSpec, tolerance: float = 1e-6) -> bool:
    """(0, 1) is a fixed point of the mean/variance map for ω = 0, τ = 1 (to ``tolerance``)."""
    from actlab.analysis.selfnorm import layer_map

    try:
        mean, variance = layer_map(spec)
    except ActlabError:
        return False
    return abs(mean) <= tolerance and abs(variance - 1.0) <= tolerance


def layer_statistics(net: nn.Module, x: torch.Tensor) -> tuple[list[float], list[float]]:
    """Mean and variance (over the batch and the units) of each hidden layer's output of an MLP ``nn.Sequential``.

    A hidden layer's output is what enters the next Linear: after its activation and any dropout,
    so the module's mode (training: dropout active) is part of what is measured.  Pure: no
    gradient, no change to ``net``; dropout draws from torch's global generator.
    """
    means, variances = [], []
    h = x
    seen_linear = False
    with torch.no_grad():
        for module in net.children() if isinstance(net, nn.Sequential) else [net]:
            if isinstance(module, nn.Linear):
                if seen_linear:
                    h64 = h.double()
                    means.append(float(h64.mean()))
                    variances.append(float(h64.var(unbiased=False)))
                seen_linear = True
            h = module(h)
    return means, variances


# bounds refused before anything is built (a hostile --depth 1000000 or --width 100000000 allocated without end)
MAX_DEPTH = 10_000
MAX_WIDTH = 16_384
MAX_WEIGHTS = 200_000_000
MAX_STEPS = 1_000_000


def plot_depth(result: DepthResult):
    """Four panels: mean and variance per layer, at initialisation and after training."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from actlab.palette import color_for

    figure = Figure(figsize=(11, 7.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(2, 2, sharex=True)
    layers = np.arange(1, result.depth + 1)
    for column, phase in enumerate(("init", "trained")):
        for curve in (c for c in result.curves if c.phase == phase):
            style = "--" if curve.label != curve.activation else "-"
            color = color_for(curve.activation)
            axes[0, column].plot(layers, curve.mean, style, color=color, label=curve.label)
            variance = np.array(curve.variance, dtype=float)
            axes[1, column].plot(layers, np.where(variance > 0, variance, np.nan), style, color=color,
                                 label=curve.label)
        when = "at initialisation" if phase == "init" else f"after {result.steps} Adam steps"
        axes[0, column].set_title(f"activation mean per layer, {when}", fontsize=10)
        axes[1, column].set_title(f"activation variance per layer, {when}", fontsize=10)
        axes[1, column].set_yscale("log")
        axes[1, column].axhline(1.0, color="black", linewidth=0.8, alpha=0.5)
        axes[0, column].axhline(0.0, color="black", linewidth=0.8, alpha=0.5)
        axes[1, column].set_xlabel("layer")
        for ax in axes[:, column]:
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    dropout = f", dropout {result.dropout_rate:g}" if result.dropout_rate else ""
    figure.suptitle(f"depth {result.depth} × width {result.width}, {result.dataset} inputs (standardised), "
                    f"init {result.init}{dropout}", fontsize=11)
    return figure
