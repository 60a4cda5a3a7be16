"""What a tiny 2-D net learned: its feature space (left) and its decision boundary (right), one row per activation.

Left panel, by hidden size H: a 1-D strip with the output's threshold (H = 1); a
scatter of the hidden activations with the output layer's separating line (H = 2);
a 3-D scatter with the separating plane (H = 3); a 2-D PCA projection of the hidden
activations with the trace of the separating hyperplane in the projection plane (H > 3).
The plotted coordinates are the hidden activations of the trained net (see
:func:`feature_space`).  Right panel: the predicted probability of class 1 as a filled
contour, its 0.5 contour, the true boundary, train and test points and the
extrapolation points (×).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from actlab.lab2d.train import TrainedRow

__all__ = ["FeatureSpace", "boundary_figure", "draw_row", "feature_space", "window"]

CLASS_COLORS = ("#1f77b4", "#ff7f0e")  # class 0, class 1 (as actlab data show)
GRID = 200


@dataclass
class FeatureSpace:
    """The coordinates the left panel plots, and the separating line/plane in them."""

    coordinates: np.ndarray  # (N, min(H, 3)) hidden activations, or (N, 2) PCA coordinates when H > 3
    hidden: np.ndarray  # (N, H) the hidden activations themselves
    weights: np.ndarray  # (H,) output weights
    bias: float  # output bias
    projection: np.ndarray | None = None  # (H, 2) principal directions (H > 3)
    mean: np.ndarray | None = None  # (H,) the mean the projection is centred on

    @property
    def projected(self) -> bool:
        return self.projection is not None


def feature_space(trained: TrainedRow, seed_index: int, x: torch.Tensor, weights: dict[str, Any] | None = None) -> FeatureSpace:
    """Hidden activations of one seed's net for points ``x``; PCA to 2-D when H > 3."""
    w = weights or trained.weights()
    hidden = trained.features(x, w)[seed_index].double().numpy()
    out_w = w["w2"][seed_index, :, 0].double().numpy()
    out_b = float(w["b2"][seed_index, 0, 0])
    if hidden.shape[1] <= 3:
        return FeatureSpace(hidden, hidden, out_w, out_b)
    mean = hidden.mean(axis=0)
    _, _, vt = np.linalg.svd(hidden - mean, full_matrices=False)
    projection = vt[:2].T  # (H, 2)
    return FeatureSpace((hidden - mean) @ projection, hidden, out_w, out_b, projection, mean)


def window(dataset) -> tuple[float, float, float, float]:
    """The plotting window: the set's domain, widened to its extrapolation region."""
    domain = dataset.extra.get("domain")
    points = torch.cat([dataset.x_train, dataset.x_test]).numpy()
    if domain is None:
        pad = 0.1 * (points.max(axis=0) - points.min(axis=0) + 1e-9)
        domain = (points[:, 0].min() - pad[0], points[:, 0].max() + pad[0],
                  points[:, 1].min() - pad[1], points[:, 1].max() + pad[1])
    if "extrapolation_region" in dataset.extra:
        outer = dataset.extra["extrapolation_region"][0]
        domain = (min(domain[0], outer[0]), max(domain[1], outer[1]), min(domain[2], outer[2]), max(domain[3], outer[3]))
    return tuple(float(v) for v in domain)


def _fmt(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "–"
    return f"{100 * mean:.1f}" + (f"±{100 * std:.1f}" if std else "") + "%"


def row_title(summary: dict[str, Any]) -> str:
    """'tanh · hidden 3 · bias · train 98.0±1.0% test … extrap …' for one row's summary."""
    parts = [f"{summary['activation']}", f"hidden {summary['hidden']}", "bias" if summary["bias"] else "no bias"]
    accuracies = (f"train {_fmt(summary['train_accuracy'], summary['train_accuracy_std'])}  "
                  f"test {_fmt(summary['test_accuracy'], summary['test_accuracy_std'])}")
    if summary.get("extrapolation_accuracy") is not None:
        accuracies += f"  extrap. {_fmt(summary['extrapolation_accuracy'], summary['extrapolation_accuracy_std'])}"
    seeds = summary["seeds"]
    shown = f" (mean±std of {len(seeds)} seeds; seed {summary['shown_seed']} shown)" if len(seeds) > 1 else f" (seed {seeds[0]})"
    return " · ".join(parts) + "\n" + accuracies + shown


def boundary_figure(dataset, trained: list[TrainedRow], summaries: list[dict[str, Any]], *,
                    weights: list[dict[str, Any]] | None = None, subtitle: str = "") -> Figure:
    """One row of (feature space, decision boundary) per trained activation row."""
    rows = len(trained)
    figure = Figure(figsize=(12, 5.2 * rows + 0.6), dpi=100)
    draw_all(figure, dataset, trained, summaries, weights=weights, subtitle=subtitle)
    return figure


def draw_all(figure: Figure, dataset, trained: list[TrainedRow], summaries: list[dict[str, Any]], *,
             weights: list[dict[str, Any]] | None = None, subtitle: str = "") -> None:
    figure.clear()
    rows = len(trained)
    for r, (row, summary) in enumerate(zip(trained, summaries)):
        left_3d = row.hidden == 3
        left = figure.add_subplot(rows, 2, 2 * r + 1, projection="3d" if left_3d else None)
        right = figure.add_subplot(rows, 2, 2 * r + 2)
        draw_row(left, right, dataset, row, summary, weights=None if weights is None else weights[r])
    noise = dataset.extra.get("options", {}).get("noise", 0.0)
    head = (f"actlab boundary: {dataset.name} (noise {noise:g}, {len(dataset.y_train)} train / "
            f"{len(dataset.y_test)} test points)" + (f" · {subtitle}" if subtitle else ""))
    figure.suptitle(head, fontsize=11, fontweight="bold")
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.45 / figure.get_figheight()))


def draw_row(left, right, dataset, trained: TrainedRow, summary: dict[str, Any], *,
             weights: dict[str, Any] | None = None) -> FeatureSpace:
    """Draw one activation row (its shown seed) into ``left`` (feature space) and ``right`` (input space)."""
    k = summary["shown_index"]
    x, y = dataset.x_train, dataset.y_train.numpy()
    space = feature_space(trained, k, x, weights)
    _draw_feature_space(left, space, y, trained.hidden)
    _draw_boundary(right, dataset, trained, k, weights)
    right.set_title(row_title(summary), fontsize=9)
    return space


def _class_scatter(axes, coordinates: np.ndarray, y: np.ndarray, **kwargs) -> None:
    for label in (0, 1):
        mask = y == label
        axes.scatter(*coordinates[mask].T, s=12, color=CLASS_COLORS[label], edgecolors="white", linewidths=0.3,
                     label=f"class {label} (train)", **kwargs)


def _draw_feature_space(axes, space: FeatureSpace, y: np.ndarray, hidden: int) -> None:
    c = space.coordinates
    w, b = space.weights, space.bias
    if hidden == 1:
        rng = np.random.default_rng(0)
        jitter = y + rng.uniform(-0.25, 0.25, len(y))
        _class_scatter(axes, np.stack([c[:, 0], jitter], axis=1), y)
        if abs(w[0]) > 1e-12:
            axes.axvline(-b / w[0], color="black", linewidth=1.5, label="output threshold")
        axes.set_yticks([0, 1], ["class 0", "class 1"])
        axes.set_xlabel("h1 (hidden activation)")
        axes.set_title("feature space: 1 hidden unit (rows: class, jittered)", fontsize=9)
    elif hidden == 2:
        _class_scatter(axes, c, y)
        x0, x1 = _limits(c[:, 0]), _limits(c[:, 1])
        _line(axes, w, b, x0, x1)
        axes.set_xlim(*x0)
        axes.set_ylim(*x1)
        axes.set_xlabel("h1")
        axes.set_ylabel("h2")
        axes.set_title("feature space: hidden activations (h1, h2), output's line", fontsize=9)
    elif hidden == 3:
        _class_scatter(axes, c, y, depthshade=False)
        _plane(axes, w, b, c)
        axes.set_xlabel("h1")
        axes.set_ylabel("h2")
        axes.set_zlabel("h3")
        axes.set_title("feature space: 3 hidden units, output's plane", fontsize=9)
    else:
        _class_scatter(axes, c, y)
        x0, x1 = _limits(c[:, 0]), _limits(c[:, 1])
        # w·(mean + P c) + b = 0  →  (Pᵀ w)·c + (w·mean + b) = 0
        _line(axes, space.projection.T @ w, float(w @ space.mean + b), x0, x1, label="boundary's trace in this plane")
        axes.set_xlim(*x0)
        axes.set_ylim(*x1)
        axes.set_xlabel("PC 1 of the hidden activations")
        axes.set_ylabel("PC 2")
        axes.set_title(f"feature space: PCA projection of {hidden} hidden units", fontsize=9)
    axes.legend(loc="best", fontsize=7, framealpha=0.8)


def _limits(values: np.ndarray) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    pad = 0.08 * (high - low) if high > low else 0.5
    return low - pad, high + pad


def _line(axes, w: np.ndarray, b: float, x0: tuple[float, float], x1: tuple[float, float],
          label: str = "output's separating line") -> None:
    """The line w[0]·u + w[1]·v + b = 0 inside the box, with the class-1 side shaded."""
    gu, gv = np.meshgrid(np.linspace(*x0, 100), np.linspace(*x1, 100))
    values = w[0] * gu + w[1] * gv + b
    axes.contourf(gu, gv, values, levels=[-np.inf, 0, np.inf], colors=[CLASS_COLORS[0], CLASS_COLORS[1]], alpha=0.10)
    if values.min() < 0 < values.max():
        axes.contour(gu, gv, values, levels=[0], colors="black", linewidths=1.5)
    axes.plot([], [], color="black", linewidth=1.5, label=label)


def _plane(axes, w: np.ndarray, b: float, c: np.ndarray) -> None:
    """The plane w·h + b = 0 as a surface, solved for its steepest coordinate."""
    axis = int(np.argmax(np.abs(w)))
    if abs(w[axis]) < 1e-12:
        return
    others = [i for i in range(3) if i != axis]
    u, v = np.meshgrid(np.linspace(*_limits(c[:, others[0]]), 12), np.linspace(*_limits(c[:, others[1]]), 12))
    solved = -(b + w[others[0]] * u + w[others[1]] * v) / w[axis]
    low, high = _limits(c[:, axis])
    solved = np.where((solved >= low) & (solved <= high), solved, np.nan)
    grid = [None, None, None]
    grid[others[0]], grid[others[1]], grid[axis] = u, v, solved
    axes.plot_surface(*grid, color="0.4", alpha=0.3, linewidth=0)
    axes.plot([], [], color="0.4", linewidth=4, alpha=0.5, label="separating plane")
    axes.set_xlim(*_limits(c[:, 0]))
    axes.set_ylim(*_limits(c[:, 1]))
    axes.set_zlim(*_limits(c[:, 2]))


def _draw_boundary(axes, dataset, trained: TrainedRow, k: int, weights: dict[str, Any] | None) -> None:
    x0a, x0b, x1a, x1b = window(dataset)
    gx, gy = np.meshgrid(np.linspace(x0a, x0b, GRID), np.linspace(x1a, x1b, GRID))
    points = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32))
    probability = trained.probabilities(points, weights)[k].numpy().reshape(gx.shape)
    filled = axes.contourf(gx, gy, probability, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35, vmin=0, vmax=1)
    axes.figure.colorbar(filled, ax=axes, label="P(class 1)", fraction=0.046, pad=0.02)
    if probability.min() < 0.5 < probability.max():
        axes.contour(gx, gy, probability, levels=[0.5], colors="black", linewidths=1.6)
    truth = dataset.extra.get("boundary")
    if truth is not None and "standardize" not in dataset.extra:
        values = np.asarray(truth(np.stack([gx.ravel(), gy.ravel()], axis=1))).reshape(gx.shape)
        axes.contour(gx, gy, values, levels=[0], colors="#2ca02c", linewidths=1.4, linestyles="--")
    for label in (0, 1):
        train = dataset.y_train.numpy() == label
        test = dataset.y_test.numpy() == label
        axes.scatter(*dataset.x_train.numpy()[train].T, s=10, color=CLASS_COLORS[label], edgecolors="white", linewidths=0.3)
        axes.scatter(*dataset.x_test.numpy()[test].T, s=22, marker="^", color=CLASS_COLORS[label], edgecolors="black",
                     linewidths=0.4)
    far = dataset.extra.get("extrapolation")
    handles = [
        Line2D([], [], color="black", linewidth=1.6, label="learned boundary (P = 0.5)"),
        Line2D([], [], color="#2ca02c", linewidth=1.4, linestyle="--", label="true boundary"),
        Line2D([], [], marker="o", linestyle="", color="0.4", markersize=4, label="train"),
        Line2D([], [], marker="^", linestyle="", color="0.4", markeredgecolor="black", markersize=5, label="test"),
    ]
    if far is not None:
        for label in (0, 1):
            mask = far[1].numpy() == label
            axes.scatter(*far[0].numpy()[mask].T, s=18, marker="x", color=CLASS_COLORS[label], linewidths=1.0)
        handles.append(Line2D([], [], marker="x", linestyle="", color="0.4", markersize=5, label="extrapolation"))
        inner = dataset.extra["extrapolation_region"][1]
        axes.add_patch(Rectangle((inner[0], inner[2]), inner[1] - inner[0], inner[3] - inner[2], fill=False,
                                 linestyle=":", linewidth=1.0, edgecolor="0.3"))
        handles.append(Line2D([], [], color="0.3", linestyle=":", label="training domain"))
    handles += [Line2D([], [], marker="s", linestyle="", color=CLASS_COLORS[i], label=f"class {i}") for i in (0, 1)]
    axes.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=7, framealpha=0.85, ncol=5)
    axes.set_xlim(x0a, x0b)
    axes.set_ylim(x1a, x1b)
    axes.set_xlabel("x0")
    axes.set_ylabel("x1")
