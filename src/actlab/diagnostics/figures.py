"""Figures of a diagnose run (matplotlib, Agg): speeds per layer, activation histograms, dead/saturated units.

All take the summary of :func:`actlab.diagnostics.run.summarise` (and the store for histograms)
and write PNG files; each returns the paths it wrote.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from actlab.diagnostics.db import DiagnoseStore

__all__ = [
    "activation_figure",
    "dead_saturated_figure",
    "exploding_figure",
    "histogram_figure",
    "speed_by_activation_figure",
    "speed_figure",
    "write_figures",
]

DPI = 110


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _series(runs: list[dict[str, Any]], layer: int | None, key: str) -> tuple[list[float], list[float], list[float], list[float]]:
    """(epochs, mean, low, high) over seeds of ``key`` at each measured step (``layer`` None: pooled over layers)."""
    by_step: dict[int, tuple[float, list[float]]] = {}
    for run in runs:
        for point in run["points"]:
            layers = point["layers"]
            if layer is not None:
                value = layers[layer - 1][key]
            else:
                values = [(entry[key], entry["units"]) for entry in layers if entry[key] is not None]
                value = sum(v * u for v, u in values) / sum(u for _, u in values) if values else None
            if value is None or not math.isfinite(value):
                continue
            by_step.setdefault(point["step"], (point["epoch"], []))[1].append(value)
    steps = sorted(by_step)
    epochs = [by_step[s][0] for s in steps]
    mean = [sum(by_step[s][1]) / len(by_step[s][1]) for s in steps]
    low = [min(by_step[s][1]) for s in steps]
    high = [max(by_step[s][1]) for s in steps]
    return epochs, mean, low, high


def _grid(plt, count: int, width: float = 5.0, height: float = 3.6):
    cols = min(count, 3)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def speed_figure(summary: dict[str, Any], path: Path) -> Path:
    """Speed of learning per hidden layer vs epoch (log scale): line = mean over seeds, band = min–max."""
    plt = _plt()
    acts = summary["activations"]
    fig, axes = _grid(plt, len(acts))
    for ax, (name, data) in zip(axes, acts.items()):
        for layer in range(1, len(data["layers"]) + 1):
            epochs, mean, low, high = _series(data["runs"], layer, "speed")
            positive = [(e, m, lo, hi) for e, m, lo, hi in zip(epochs, mean, low, high) if m > 0]
            if not positive:
                continue
            e, m, lo, hi = zip(*positive)
            line, = ax.plot(e, m, marker="o", markersize=3, label=f"hidden layer {layer}")
            ax.fill_between(e, [max(v, 1e-30) for v in lo], hi, color=line.get_color(), alpha=0.2)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("speed ‖mean ∂C/∂b‖")
        ax.set_title(f"{name}: {data['verdict']} ({len(data['runs'])} seeds)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def histogram_figure(store: DiagnoseStore, run_id: str, title: str, path: Path) -> Path | None:
    """Activation histograms per hidden layer (one panel each): at initialisation and at the end, overlaid."""
    init, end = store.histograms(run_id, "init"), store.histograms(run_id, "end")
    if not init:
        return None
    plt = _plt()
    count = len(init)
    cols = min(count, 4)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.6 * rows + 0.6), squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index >= count:
            ax.set_visible(False)
            continue
        for (edges, counts), label, color in ((init[index], "init", "C0"), (end[index], "end", "C1")):
            ax.stairs(counts, edges, fill=True, alpha=0.45, color=color, label=label)
        ax.set_title(f"hidden layer {index + 1}", fontsize=9)
        ax.set_xlabel("f(z)", fontsize=8)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


DEAD_AXIS = "dead units (% of hidden units)"
SATURATED_AXIS = "saturated (example, unit) pairs (%), per hidden layer"
LAYER_STYLES = ("-", "--", ":", "-.")


def dead_saturated_figure(summary: dict[str, Any], path: Path) -> Path:
    """Left: dead units (all hidden units pooled) vs epoch, one line per activation, seeds as band.  Right: the
    saturated fraction of *each* hidden layer (one line per activation and layer: a pooled mean would hide a
    saturated first layer behind healthy later ones).  Both axes in percent, ticks marked %."""
    plt = _plt()
    fig = dead_saturated_plot(summary)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def dead_saturated_plot(summary: dict[str, Any]) -> Any:
    """The figure :func:`dead_saturated_figure` writes (a matplotlib Figure, not closed)."""
    plt = _plt()
    from matplotlib.ticker import PercentFormatter

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for name, data in summary["activations"].items():
        epochs, mean, low, high = _series(data["runs"], None, "dead_fraction")
        color = None
        if epochs:
            line, = axes[0].plot(epochs, [100 * v for v in mean], marker="o", markersize=3, label=name)
            axes[0].fill_between(epochs, [100 * v for v in low], [100 * v for v in high], color=line.get_color(),
                                 alpha=0.2)
            color = line.get_color()
        for layer in range(1, len(data["layers"]) + 1):
            epochs, mean, low, high = _series(data["runs"], layer, "saturated_fraction")
            if not epochs:
                continue
            line, = axes[1].plot(epochs, [100 * v for v in mean], marker="o", markersize=2, color=color,
                                 linestyle=LAYER_STYLES[(layer - 1) % len(LAYER_STYLES)],
                                 label=f"{name}, hidden layer {layer}")
            color = line.get_color()
            axes[1].fill_between(epochs, [100 * v for v in low], [100 * v for v in high], color=color, alpha=0.12)
    axes[0].set_ylabel(DEAD_AXIS)
    axes[1].set_ylabel(SATURATED_AXIS)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.set_ylim(bottom=0, top=min(100.0, max(1.0, ax.get_ylim()[1])))
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=100))
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7 if ax is axes[1] else 8)
    fig.tight_layout()
    return fig


def activation_figure(summary: dict[str, Any], path: Path) -> Path:
    """Per hidden layer vs epoch: the mean activation (top row) and the saturated fraction (bottom row).

    One column per activation; line = mean over seeds, band = min–max (Glorot & Bengio's figure 2
    shows the first, with the standard deviation over units as bars).
    """
    plt = _plt()
    acts = summary["activations"]
    threshold = summary["setup"].get("saturation_threshold", 0.01)
    fig, axes = plt.subplots(2, len(acts), figsize=(5.0 * len(acts), 6.6), squeeze=False)
    for column, (name, data) in enumerate(acts.items()):
        for row, key in enumerate(("mean", "saturated_fraction")):
            ax = axes[row, column]
            scale = 100 if key == "saturated_fraction" else 1
            for layer in range(1, len(data["layers"]) + 1):
                epochs, mean, low, high = _series(data["runs"], layer, key)
                if not epochs:
                    continue
                line, = ax.plot(epochs, [scale * v for v in mean], marker="o", markersize=2, label=f"hidden layer {layer}")
                ax.fill_between(epochs, [scale * v for v in low], [scale * v for v in high], color=line.get_color(),
                                alpha=0.2)
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
            if ax.lines:
                ax.legend(fontsize=7)
        axes[0, column].set_title(f"{name}: mean activation f(z) per layer", fontsize=10)
        axes[0, column].set_ylabel("mean f(z)")
        axes[1, column].set_title(f"{name}: saturated (|f′| < {100 * threshold:g} % of max |f′|)", fontsize=10)
        axes[1, column].set_ylabel("saturated (example, unit) pairs (%)")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def speed_by_activation_figure(summary: dict[str, Any], path: Path) -> Path:
    """Speed at initialisation per hidden layer, one bar per activation (mean ± std over seeds, log scale)."""
    plt = _plt()
    acts = summary["activations"]
    depth = max(len(d["layers"]) for d in acts.values())
    fig, ax = plt.subplots(figsize=(min(11.0, max(6.0, 2.0 + 0.45 * depth * len(acts))), 4))
    width = 0.8 / len(acts)
    for i, (name, data) in enumerate(acts.items()):
        xs = [layer["layer"] - 0.4 + width * (i + 0.5) for layer in data["layers"]]
        ys = [layer["speed_at_init"] for layer in data["layers"]]
        errors = [layer["speed_at_init_std"] if math.isfinite(layer["speed_at_init_std"]) else 0 for layer in data["layers"]]
        ax.bar(xs, ys, width=width, yerr=errors, capsize=2, label=name)
    ax.set_yscale("log")
    ax.set_xticks(range(1, depth + 1), [f"layer {i}" for i in range(1, depth + 1)])
    ax.set_ylabel("speed at init ‖mean ∂C/∂b‖")
    ax.legend(fontsize=8, ncol=min(len(acts), 5))
    ax.grid(alpha=0.3, axis="y", which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def exploding_figure(result: dict[str, Any], path: Path) -> Path:
    """|∂C/∂b_l| along the chain (log scale), and the size of the update unclipped / clipped."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    layers = list(range(1, result["depth"] + 1))
    axes[0].bar(layers, [abs(g) for g in result["bias_gradients"]], color="C3")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("layer (1 = nearest the input)")
    axes[0].set_ylabel("|∂C/∂b_l|")
    axes[0].set_title(f"w = {result['weight']:g}, {result['activation']}: ×{result['expected_growth']:g} per layer")
    labels = ["unclipped", f"clip value {result['clip_value']:g}", f"clip norm {result['clip_norm']:g}"]
    updates = result["updates"]
    norms = [updates[k]["norm"] for k in ("none", "value", "norm")]
    maxima = [updates[k]["max_abs"] for k in ("none", "value", "norm")]
    xs = range(3)
    axes[1].bar([x - 0.2 for x in xs], norms, width=0.4, label="‖update‖₂")
    axes[1].bar([x + 0.2 for x in xs], maxima, width=0.4, label="max |update|")
    axes[1].set_xticks(list(xs), labels)
    axes[1].set_yscale("log")
    axes[1].set_title(f"one SGD step, lr = {result['lr']:g}")
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3, axis="y", which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def write_figures(summary: dict[str, Any], store: DiagnoseStore, out: Path) -> list[Path]:
    """Every figure of a trained setup into ``out`` (histograms of seed 0 of each activation)."""
    out = Path(out)
    paths = [speed_figure(summary, out / "speed.png"), dead_saturated_figure(summary, out / "dead_saturated.png"),
             activation_figure(summary, out / "activations.png")]
    for name, data in summary["activations"].items():
        run_id = data["runs"][0]["run_id"]
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
        written = histogram_figure(store, run_id, f"{name}, seed {data['runs'][0]['seed']}",
                                   out / f"histograms-{safe}.png")
        if written is not None:
            paths.append(written)
    if len(summary["activations"]) > 1:
        paths.append(speed_by_activation_figure(summary, out / "speed_by_activation.png"))
    return paths
