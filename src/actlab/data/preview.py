"""Pictures and summaries of a :class:`Dataset` (matplotlib ``Figure`` objects, no pyplot state).

:func:`preview` picks the picture from ``dataset.extra["kind"]``: a scatter
with the true boundary for toy 2-D sets, a grid of sample images for image
sets, a few traces per class for sequences, and for other tables a class
(or target) histogram next to a scatter of the first two features.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from actlab.data.base import Dataset
from actlab.palette import CLASS_COLORS

__all__ = ["summary", "preview"]




def summary(dataset: Dataset) -> dict[str, Any]:
    """Sizes, shapes and class balance (or target statistics) as plain JSON-able values."""
    splits = {}
    for part in ("train", "val", "test"):
        x: torch.Tensor = getattr(dataset, f"x_{part}")
        y: torch.Tensor = getattr(dataset, f"y_{part}")
        entry: dict[str, Any] = {"size": int(x.shape[0]), "x_shape": list(x.shape), "y_shape": list(y.shape)}
        if dataset.task == "classification":
            counts = torch.bincount(y.reshape(-1), minlength=dataset.num_classes) if len(y) else torch.zeros(dataset.num_classes, dtype=torch.long)
            entry["class_counts"] = [int(c) for c in counts]
        elif len(y):
            entry["target"] = {"mean": float(y.mean()), "std": float(y.std(unbiased=False)),
                               "min": float(y.min()), "max": float(y.max())}
        splits[part] = entry
    result: dict[str, Any] = {
        "name": dataset.name,
        "task": dataset.task,
        "description": dataset.description,
        "input_shape": list(dataset.input_shape),
        "num_classes": dataset.num_classes,
        "splits": splits,
    }
    if "extrapolation" in dataset.extra:  # toy sets: points from the same rule outside the training domain
        far_y = dataset.extra["extrapolation"][1]
        result["extrapolation"] = {"size": len(far_y),
                                   "class_counts": [int(c) for c in torch.bincount(far_y, minlength=dataset.num_classes)],
                                   "region": [list(box) for box in dataset.extra["extrapolation_region"]]}
    if "classes" in dataset.extra:
        result["classes"] = list(dataset.extra["classes"])
    truth = dataset.extra.get("boundary") or dataset.extra.get("target")
    if truth is not None and hasattr(truth, "formula"):
        result["true_" + truth.kind] = truth.formula
    return result


def preview(dataset: Dataset, *, max_points: int = 2000, seed: int = 0) -> Figure:
    """A picture of ``dataset``'s training split (see the module docstring)."""
    kind = dataset.extra.get("kind")
    if kind == "toy2d" or (dataset.input_shape == (2,) and kind != "image"):
        return _scatter_2d(dataset, max_points, seed)
    if kind == "image":
        return _image_grid(dataset, seed)
    if kind == "sequence":
        return _traces(dataset, seed)
    if kind == "text":
        return _text(dataset)
    return _table(dataset, max_points, seed)


def _text(dataset: Dataset) -> Figure:
    """Character frequencies of the training text and its opening characters."""
    vocab = dataset.extra["vocab"]
    counts = np.bincount(np.asarray(dataset.extra["train_tokens"]), minlength=len(vocab))
    figure = Figure(figsize=(10, 4.2), dpi=100)
    left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    order = np.argsort(counts)[::-1][:30]
    left.bar(range(len(order)), counts[order], color=CLASS_COLORS[0])
    left.set_xticks(range(len(order)), ["␣" if vocab[i] == " " else repr(vocab[i])[1:-1] for i in order], fontsize=7)
    left.set_title("the 30 most frequent characters (train)", fontsize=9)
    opening = "".join(vocab[i] for i in dataset.x_train[:6].reshape(-1).tolist())
    right.axis("off")
    right.text(0, 1, "\n".join(opening[i:i + 48] for i in range(0, len(opening), 48)), va="top", family="monospace",
               fontsize=8, transform=right.transAxes)
    right.set_title("the opening of the training text", fontsize=9)
    figure.suptitle(_title(dataset), fontsize=10)
    return figure


def _sample(n: int, k: int, seed: int) -> np.ndarray:
    if n <= k:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


def _title(dataset: Dataset) -> str:
    return f"{dataset.name}: train {len(dataset.y_train)}, val {len(dataset.y_val)}, test {len(dataset.y_test)}"


def _scatter_2d(dataset: Dataset, max_points: int, seed: int) -> Figure:
    x = dataset.x_train.numpy()
    y = dataset.y_train.numpy()
    keep = _sample(len(x), max_points, seed)
    x, y = x[keep], y[keep]
    figure = Figure(figsize=(5.5, 5), dpi=100)
    axes = figure.add_subplot()
    standardized = "standardize" in dataset.extra
    domain = dataset.extra.get("domain")
    if domain is None or standardized:
        pad = 0.1 * (x.max(axis=0) - x.min(axis=0) + 1e-9)
        domain = (x[:, 0].min() - pad[0], x[:, 0].max() + pad[0], x[:, 1].min() - pad[1], x[:, 1].max() + pad[1])
    far = dataset.extra.get("extrapolation")
    if far is not None and not standardized:
        outer = dataset.extra["extrapolation_region"][0]
        domain = (min(domain[0], outer[0]), max(domain[1], outer[1]), min(domain[2], outer[2]), max(domain[3], outer[3]))
    truth = None if standardized else (dataset.extra.get("boundary") or dataset.extra.get("target"))
    bound = float(np.abs(y).max()) if dataset.task == "regression" and len(y) else 1.0
    bound = bound if bound > 0 else 1.0
    if truth is not None:
        gx, gy = np.meshgrid(np.linspace(domain[0], domain[1], 300), np.linspace(domain[2], domain[3], 300))
        values = np.asarray(truth(np.stack([gx.ravel(), gy.ravel()], axis=1))).reshape(gx.shape)
        if truth.kind == "boundary":
            axes.contourf(gx, gy, values, levels=[-np.inf, 0, np.inf], colors=[CLASS_COLORS[0], CLASS_COLORS[1]], alpha=0.12)
            axes.contour(gx, gy, values, levels=[0], colors="black", linewidths=1.5)
        else:
            axes.contourf(gx, gy, values, levels=np.linspace(-bound, bound, 21), cmap="coolwarm", alpha=0.25, extend="both")
    if dataset.task == "classification":
        for label in range(dataset.num_classes):
            mask = y == label
            axes.scatter(x[mask, 0], x[mask, 1], s=10, color=CLASS_COLORS[label % 10], edgecolors="white",
                         linewidths=0.3, label=f"class {label} ({int(mask.sum())})")
        if far is not None:
            far_x, far_y = far[0].numpy(), far[1].numpy()
            for label in range(dataset.num_classes):
                mask = far_y == label
                axes.scatter(far_x[mask, 0], far_x[mask, 1], s=14, marker="x", color=CLASS_COLORS[label % 10],
                             linewidths=0.9, label=f"class {label}, extrapolation ({int(mask.sum())})")
            if not standardized:
                inner = dataset.extra["extrapolation_region"][1]
                axes.add_patch(Rectangle((inner[0], inner[2]), inner[1] - inner[0], inner[3] - inner[2], fill=False,
                                         linestyle="--", linewidth=1.0, edgecolor="0.3", label="training domain"))
        axes.legend(loc="upper right", fontsize=8, framealpha=0.8)
    else:
        points = axes.scatter(x[:, 0], x[:, 1], c=y.reshape(-1), s=10, cmap="coolwarm",
                              vmin=-bound, vmax=bound, edgecolors="none")
        figure.colorbar(points, ax=axes, label="target")
    axes.set_xlim(domain[0], domain[1])
    axes.set_ylim(domain[2], domain[3])
    axes.set_xlabel("x0")
    axes.set_ylabel("x1")
    note = f"\ntrue boundary: {truth.formula} = 0" if truth is not None and truth.kind == "boundary" else ""
    axes.set_title(_title(dataset) + note, fontsize=9)
    figure.tight_layout()
    return figure


def _image_grid(dataset: Dataset, seed: int, rows: int = 4, cols: int = 8) -> Figure:
    shape = tuple(dataset.extra.get("image_shape", dataset.input_shape[-2:]))
    x = dataset.x_train.numpy().reshape(len(dataset.x_train), *shape)
    y = dataset.y_train.numpy()
    keep = _sample(len(x), rows * cols, seed)
    figure = Figure(figsize=(cols * 1.1, rows * 1.25 + 0.4), dpi=100)
    for slot, index in enumerate(keep):
        axes = figure.add_subplot(rows, cols, slot + 1)
        axes.imshow(x[index], cmap="gray_r", interpolation="nearest")
        axes.set_title(f"label {int(y[index])}", fontsize=8)
        axes.set_axis_off()
    figure.suptitle(_title(dataset), fontsize=10)
    figure.tight_layout()
    return figure


def _traces(dataset: Dataset, seed: int, per_class: int = 3) -> Figure:
    x = dataset.x_train.numpy().reshape(len(dataset.x_train), -1)
    y = dataset.y_train.numpy()
    classes = min(dataset.num_classes, 10)
    figure = Figure(figsize=(12, 4.8), dpi=100)
    rng = np.random.default_rng(seed)
    for label in range(classes):
        axes = figure.add_subplot(2, (classes + 1) // 2, label + 1)
        members = np.flatnonzero(y == label)
        for index in rng.choice(members, size=min(per_class, len(members)), replace=False) if len(members) else []:
            axes.plot(np.arange(x.shape[1]), x[index], color=CLASS_COLORS[label % 10], linewidth=1.2, alpha=0.8)
        axes.set_title(f"class {label}", fontsize=9)
        axes.tick_params(labelsize=7)
    figure.suptitle(_title(dataset) + f" ({per_class} training traces per class)", fontsize=10)
    figure.tight_layout()
    return figure


def _table(dataset: Dataset, max_points: int, seed: int) -> Figure:
    x = dataset.x_train.numpy().reshape(len(dataset.x_train), -1)
    y = dataset.y_train.numpy()
    figure = Figure(figsize=(10, 4.2), dpi=100)
    left = figure.add_subplot(1, 2, 1)
    if dataset.task == "classification":
        counts = np.bincount(y, minlength=dataset.num_classes)
        labels = [str(c) for c in dataset.extra.get("classes", range(dataset.num_classes))]
        left.bar(range(len(counts)), counts, color=[CLASS_COLORS[i % 10] for i in range(len(counts))])
        left.set_xticks(range(len(counts)), labels, rotation=45 if len(counts) > 8 else 0, fontsize=8)
        left.set_title("class balance (train)", fontsize=9)
    else:
        left.hist(y.reshape(-1), bins=30, color=CLASS_COLORS[0])
        left.set_title("target histogram (train)", fontsize=9)
    right = figure.add_subplot(1, 2, 2)
    names = dataset.extra.get("feature_names") or [f"x{i}" for i in range(x.shape[1])]
    keep = _sample(len(x), max_points, seed)
    if x.shape[1] >= 2:
        colors = y[keep] if dataset.task == "classification" else y[keep].reshape(-1)
        cmap = "tab10" if dataset.task == "classification" else "coolwarm"
        right.scatter(x[keep, 0], x[keep, 1], c=colors, cmap=cmap, s=10, vmin=0 if dataset.task == "classification" else None,
                      vmax=9 if dataset.task == "classification" else None)
        right.set_xlabel(names[0])
        right.set_ylabel(names[1])
        right.set_title("first two features", fontsize=9)
    else:
        right.scatter(x[keep, 0], y[keep].reshape(-1), s=10, color=CLASS_COLORS[0])
        right.set_xlabel(names[0])
        right.set_ylabel("label" if dataset.task == "classification" else "target")
    figure.suptitle(_title(dataset), fontsize=10)
    figure.tight_layout()
    return figure
