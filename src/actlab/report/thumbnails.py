"""2-D toy sets: one decision-boundary thumbnail per activation, from the boundary lab (:mod:`actlab.lab2d`).

The store keeps no weights, so the thumbnails come from the boundary lab's own small net (one hidden
layer of :data:`HIDDEN` units, :data:`EPOCHS` full-batch Adam steps, seed 0) trained on the same toy
set — what each activation *can* draw, next to the compared runs' numbers.  Shading is P(class 1),
black the learned boundary (P = 0.5), dashed green the true boundary.
"""

from typing import Any

import numpy as np

from actlab.report.summary import ReportData

HIDDEN = 8
EPOCHS = 400
GRID = 120


def is_toy_classification(data: ReportData) -> bool:
    from actlab.data.toy_truth import TOY_CLASSIFICATION

    return data.classification and str(data.sweep["config"].get("dataset", "")).lower() in TOY_CLASSIFICATION


def figure_thumbnails(data: ReportData, colors: dict[str, str]) -> Any:
    """The thumbnails' figure, or None when the activations cannot be trained by the lab."""
    import torch
    from matplotlib.figure import Figure

    from actlab.errors import ActlabError
    from actlab.lab2d.figures import window
    from actlab.lab2d.run import run_boundary
    from actlab.lab2d.train import BoundaryConfig

    labels = [s.label for s in data.summaries]
    activations = [s.activation for s in data.summaries]
    try:
        result = run_boundary(str(data.sweep["config"]["dataset"]).lower(), activations,
                              BoundaryConfig(hidden=HIDDEN, epochs=EPOCHS, lr=0.03, seeds=1))
    except ActlabError:
        return None
    dataset = result.dataset
    x0a, x0b, x1a, x1b = window(dataset)
    gx, gy = np.meshgrid(np.linspace(x0a, x0b, GRID), np.linspace(x1a, x1b, GRID))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    points = torch.from_numpy(grid.astype(np.float32))
    truth = dataset.extra.get("boundary")
    rows = -(-len(labels) // 5)
    columns = -(-len(labels) // rows)  # balanced rows of at most 5
    fig = Figure(figsize=(2 * columns, 2.1 * rows + 0.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    x, y = dataset.x_train.numpy(), dataset.y_train.numpy()
    for ax, label, trained, summary in zip(axes, labels, result.trained, result.summaries):
        with torch.no_grad():
            p = trained.probabilities(points)[0].numpy().reshape(gx.shape)
        ax.contourf(gx, gy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.4, vmin=0, vmax=1)
        if p.min() < 0.5 < p.max():
            ax.contour(gx, gy, p, levels=[0.5], colors="black", linewidths=1.2)
        if truth is not None and "standardize" not in dataset.extra:
            values = np.asarray(truth(grid)).reshape(gx.shape)
            ax.contour(gx, gy, values, levels=[0], colors="#2ca02c", linewidths=1.0, linestyles="--")
        ax.scatter(x[:, 0], x[:, 1], c=np.where(y > 0.5, "#ff7f0e", "#1f77b4"), s=3, lw=0, alpha=0.6)
        accuracy = summary.get("test_accuracy")
        title = label + (f" · lab test {100 * accuracy:.0f} %" if isinstance(accuracy, float) else "")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(labels):]:
        ax.set_visible(False)
    return fig
