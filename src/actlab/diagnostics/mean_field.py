"""``diagnose`` against the mean-field prediction: each hidden layer's pre-activation second moment at init.

For each activation of a diagnose setup, the seed-0 net at initialisation (:func:`actlab.models.build`,
the setup's init) is run on the evaluation batch; forward hooks record each hidden Linear layer's mean
squared pre-activation.  The prediction (:func:`actlab.analysis.signal.predicted_lengths`) maps each
input's first-layer length q¹ = σ_w¹² · mean(x²) + σ_b¹² through the length map, layer by layer with
that layer's own σ_w² = fan_in · mean(W²) and σ_b² = mean(b²) read from the drawn weights; inputs are
grouped into quantile bins of q¹.  The ratio measured/predicted is about 1 where the net behaves as its
infinitely wide random counterpart.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["compare_at_init", "summary_lines", "BINS"]

BINS = 16  # quantile groups of the inputs' first-layer length


def _layer_values(model: nn.Module, x: torch.Tensor) -> tuple[list[float], list[float], list[float], np.ndarray]:
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)][:-1]  # the hidden layers
    measured: list[float] = []
    hooks = [layer.register_forward_hook(lambda _m, _i, out: measured.append(float(out.detach().double().pow(2).mean())))
             for layer in linears]
    with torch.no_grad():
        model.eval()
        model(x)
    for hook in hooks:
        hook.remove()
    weights = [float(layer.weight.detach().double().pow(2).mean() * layer.weight.shape[1]) for layer in linears]
    biases = [0.0 if layer.bias is None else float(layer.bias.detach().double().pow(2).mean()) for layer in linears]
    first = weights[0] * x.double().reshape(len(x), -1).pow(2).mean(dim=1).numpy() + biases[0]
    return measured, weights, biases, first


def compare_at_init(setup: Any, x: torch.Tensor, num_classes: int, out: Path | None = None) -> dict[str, Any]:
    """{activation: {layers, measured, predicted, ratio}} for the setup's nets at init; a figure in ``out``."""
    from actlab.analysis.signal import predicted_lengths
    from actlab.models import ModelConfig, build

    result: dict[str, Any] = {}
    config = ModelConfig(kind="mlp", depth=setup.depth, width=setup.width, init=setup.init,
                         weight_scale=setup.weight_scale, bias=not setup.no_bias)
    flat = x.reshape(len(x), -1).float()
    for name in setup.activations:
        model = build(config, name, (flat.shape[1],), num_classes, 0, dict(setup.params))
        measured, weights, biases, first = _layer_values(model, flat)
        groups = np.array([chunk.mean() for chunk in np.array_split(np.sort(first), min(BINS, len(first)))])
        try:
            predicted = predicted_lengths(name, groups, weights, biases)
        except ValueError as error:  # an activation the analysis cannot take (not element-wise, bounded domain)
            result[name] = {"error": str(error)}
            continue
        result[name] = {"layers": list(range(1, len(measured) + 1)), "measured": measured, "predicted": predicted,
                        "ratio": [m / p if p > 0 else float("nan") for m, p in zip(measured, predicted)]}
    if out is not None and any("measured" in v for v in result.values()):
        result_path = _figure(result, out / "mean_field.png")
        for value in result.values():
            value.setdefault("figure", str(result_path))
    return result


def _figure(result: dict[str, Any], path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from actlab.analysis.plots import save
    from actlab.palette import color_for

    figure = Figure(figsize=(6.4, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    for name, value in result.items():
        if "measured" not in value:
            continue
        color = color_for(name)
        ax.plot(value["layers"], value["measured"], "o", color=color, label=f"{name}: measured")
        ax.plot(value["layers"], value["predicted"], "-", color=color, label=f"{name}: mean-field q^l")
    ax.set_yscale("log")
    ax.set_xlabel("hidden layer")
    ax.set_ylabel("mean squared pre-activation at init")
    ax.set_title("pre-activation second moment at init: the net vs the mean-field length map", fontsize=9)
    ax.legend(fontsize=7)
    return save(figure, path)


def summary_lines(result: dict[str, Any]) -> list[str]:
    """One line per activation: measured / predicted pre-activation second moment, per hidden layer."""
    lines = []
    for name, value in result.items():
        if "ratio" not in value:
            lines.append(f"  {name}: no mean-field prediction ({value.get('error', '')})")
            continue
        ratios = " ".join(f"{r:.2f}" for r in value["ratio"])
        lines.append(f"  {name}: pre-activation E z² at init, measured / mean-field q^l per layer: {ratios}")
    return lines
