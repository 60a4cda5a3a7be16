"""The depth experiment: each layer's activation mean and variance in a deep MLP, per activation.

Standardised inputs go through ``depth`` × [Linear (width) → activation →
dropout] at initialisation and again after a short training (``steps`` Adam
steps on the dataset); for each layer the mean and variance of its outputs (over
the batch and the units) are recorded.  SELU with lecun_normal weights keeps
(0, 1), which is what :mod:`actlab.analysis.selfnorm` predicts; tanh's variance
shrinks layer after layer, ReLU's shrinks by half a layer under lecun weights
(and wanders under He weights); SELU with He weights runs to another fixed point
(variance ≈ 18.5 for τ = 2) — the condition on the weights matters.

Dropout after each hidden layer is AlphaDropout (:mod:`actlab.nn.alpha_dropout`)
for activations for which (0, 1) is a fixed point of the mean/variance map
(SELU, solved formulas), plain dropout otherwise.  Statistics are taken in
training mode, so dropout is part of what they show.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from actlab.errors import ActlabError
from actlab.nn import create
from actlab.resolve import get
from actlab.spec import INIT_SCHEMES, ActivationSpec

__all__ = ["DATASETS", "INITS", "DepthCurve", "DepthResult", "depth_experiment", "plot_depth", "is_self_normalising"]

DATASETS = ("gaussian", "mnist")
INITS = ("auto", *INIT_SCHEMES)
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


def _inputs(dataset: str, seed: int, samples: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    from actlab import data

    if dataset not in DATASETS:
        raise ActlabError(f"unknown dataset {dataset!r} for the depth experiment; choose one of {', '.join(DATASETS)}")
    if dataset == "mnist":
        ds = data.load("mnist", subset=max(samples, 1000), standardize=True, seed=seed)
    else:
        ds = data.load("gaussian", n=max(2 * samples, 1000), standardize=True, seed=seed, noise=0.5)
    x = torch.as_tensor(ds.x_train, dtype=torch.float32).reshape(len(ds.x_train), -1)
    y = torch.as_tensor(ds.y_train).long().reshape(-1)
    return x, y, int(ds.num_classes)


def _network(spec: ActivationSpec, scheme: str, in_features: int, depth: int, width: int, classes: int,
             rate: float, alpha: bool, generator: torch.Generator) -> nn.Sequential:
    from actlab.models import init_std
    from actlab.nn.alpha_dropout import AlphaDropout

    layers: list[nn.Module] = []
    fan_in = in_features
    for _ in range(depth):
        linear = nn.Linear(fan_in, width)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(width, fan_in, generator=generator) * init_std(scheme, fan_in, width))
            linear.bias.zero_()
        layers += [linear, create(spec)]
        if rate > 0:
            layers.append(AlphaDropout(rate, spec) if alpha else nn.Dropout(rate))
        fan_in = width
    out = nn.Linear(width, classes)
    with torch.no_grad():
        out.weight.copy_(torch.randn(classes, width, generator=generator) * init_std("glorot", width, classes))
        out.bias.zero_()
    return nn.Sequential(*layers, out)


def _statistics(net: nn.Sequential, x: torch.Tensor, depth: int) -> tuple[list[float], list[float]]:
    """Mean and variance of each hidden layer's output (after activation and dropout)."""
    means, variances = [], []
    h = x
    modules = list(net)[:-1]
    per_layer = len(modules) // depth
    with torch.no_grad():
        for i in range(depth):
            for module in modules[i * per_layer:(i + 1) * per_layer]:
                h = module(h)
            h64 = h.double()
            means.append(float(h64.mean()))
            variances.append(float(h64.var(unbiased=False)))
    return means, variances


# bounds refused before anything is built (a hostile --depth 1000000 or --width 100000000 allocated without end)
MAX_DEPTH = 10_000
MAX_WIDTH = 16_384
MAX_WEIGHTS = 200_000_000
MAX_STEPS = 1_000_000


def depth_experiment(acts: Sequence[str], depth: int = 64, width: int = 256, init: str = "auto",
                     dropout: float = 0.0, dataset: str = "gaussian", steps: int = 20, batch_size: int = 64,
                     lr: float = 1e-4, samples: int = 256, seed: int = 0, wrong_init: bool = True) -> DepthResult:
    """Per-layer mean and variance at initialisation and after ``steps`` Adam steps, for each activation.

    ``init``: "auto" (each activation's recommended scheme) or he / glorot / lecun
    for all.  With ``wrong_init`` and SELU among ``acts`` (and not already He), a
    second SELU network with He weights is added ("selu, he init").
    """
    if init not in INITS:
        raise ActlabError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    for name, value, low in (("depth", depth, 1), ("width", width, 1), ("steps", steps, 0),
                             ("batch_size", batch_size, 1), ("samples", samples, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ActlabError(f"{name} must be a whole number >= {low}, got {value!r}")
    if depth > MAX_DEPTH or width > MAX_WIDTH or depth * width * width > MAX_WEIGHTS or steps > MAX_STEPS:
        raise ActlabError(f"depth {depth} × width {width} ({depth * width * width:,} weights per net), {steps} steps "
                          f"is beyond the depth experiment's bounds: at most {MAX_DEPTH} layers, {MAX_WIDTH} units, "
                          f"{MAX_WEIGHTS:,} weights per net (about {MAX_WEIGHTS * 16 / 2 ** 30:.0f} GiB with Adam), "
                          f"{MAX_STEPS:,} steps")
    if not (0.0 <= dropout < 1.0):
        raise ActlabError(f"dropout must be in [0, 1), got {dropout!r}")
    if not (lr > 0 and math.isfinite(lr)):
        raise ActlabError(f"lr must be > 0, got {lr!r}")
    if not acts:
        raise ActlabError("name at least one activation (--acts selu,relu,tanh)")
    specs = []
    for name in acts:
        spec = get(name)
        if spec.kind != "elementwise":
            raise ActlabError(f"{spec.name} is not element-wise; the depth experiment needs element-wise activations")
        specs.append(spec)
    x_all, y_all, classes = _inputs(dataset, seed, samples)
    x_probe = x_all[:samples]
    runs: list[tuple[str, ActivationSpec, str]] = []
    for spec in specs:
        scheme = spec.init.scheme if init == "auto" else init
        runs.append((spec.name, spec, scheme))
        if wrong_init and spec.name == "selu" and scheme != WRONG_INIT:
            runs.append((f"selu, {WRONG_INIT} init", spec, WRONG_INIT))
    labels = [label for label, _, _ in runs]
    if len(set(labels)) != len(labels):
        raise ActlabError(f"an activation is listed twice in {', '.join(acts)}")
    result = DepthResult(depth, width, dataset, init, float(dropout), steps, seed)
    for label, spec, scheme in runs:
        alpha = dropout > 0 and is_self_normalising(spec)
        kind = "none" if dropout == 0 else ("alpha" if alpha else "plain")
        generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)  # dropout masks
        net = _network(spec, scheme, x_all.shape[1], depth, width, classes, dropout, alpha, generator)
        net.train()
        means, variances = _statistics(net, x_probe, depth)
        result.curves.append(DepthCurve(label, spec.name, scheme, "init", kind, means, variances))
        loss = _train(net, x_all, y_all, steps, batch_size, lr, seed)
        result.final_loss[label] = loss
        torch.manual_seed(seed)
        means, variances = _statistics(net, x_probe, depth)
        result.curves.append(DepthCurve(label, spec.name, scheme, "trained", kind, means, variances))
    return result


def _train(net: nn.Sequential, x: torch.Tensor, y: torch.Tensor, steps: int, batch_size: int, lr: float,
           seed: int) -> float:
    if steps == 0:
        return math.nan
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed + 1)
    loss_value = math.nan
    for _ in range(steps):
        index = torch.randint(0, len(x), (min(batch_size, len(x)),), generator=order)
        loss = nn.functional.cross_entropy(net(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss_value = float(loss.detach())
        if not math.isfinite(loss_value):
            break
    return loss_value


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
