"""2-D toy sets: one decision-boundary thumbnail per activation, drawn from what the sweep stored.

The store keeps no weights of the compared runs, so when the sweep ran it trained the boundary lab's own
small net per activation on the lab's copy of the toy set and stored P(class 1) on a grid
(:mod:`actlab.sweep.measure`, :mod:`actlab.store.measured`): what each activation *can* draw, next to the
compared runs' numbers.  Shading is P(class 1), black the learned boundary (P = 0.5), dashed green the true
boundary.  Nothing is trained here.
"""

from typing import Any

import numpy as np

from actlab.report.summary import ReportData


def recipe_text(data: ReportData) -> str:
    """How the thumbnails' nets were trained, from the stored recipe."""
    frame = data.thumbnail_frame
    if frame is None:
        return ""
    recipe = frame.recipe
    parts = [f"1 hidden layer of {recipe.get('hidden', '?')} units"]
    if recipe.get("text"):
        parts.append(str(recipe["text"]))
    return ", ".join(parts)


def has_thumbnails(data: ReportData) -> bool:
    return data.thumbnail_frame is not None and any(
        data.thumbnails.get(s.label) is not None and data.thumbnails[s.label].probabilities is not None
        for s in data.summaries)


def figure_thumbnails(data: ReportData, colors: dict[str, str]) -> Any:
    """The thumbnails' figure from the stored grids, or None when the store holds none."""
    from matplotlib.figure import Figure

    frame = data.thumbnail_frame
    if frame is None or not has_thumbnails(data):
        return None
    labels = [s.label for s in data.summaries]
    x0a, x0b, x1a, x1b = frame.window
    gx, gy = np.meshgrid(np.linspace(x0a, x0b, frame.grid), np.linspace(x1a, x1b, frame.grid))
    rows = -(-len(labels) // 5)
    columns = -(-len(labels) // rows)  # balanced rows of at most 5
    fig = Figure(figsize=(2 * columns, 2.1 * rows + 0.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    points = frame.points
    for ax, label in zip(axes, labels):
        thumb = data.thumbnails.get(label)
        p = None if thumb is None else thumb.probabilities
        if p is not None:
            ax.contourf(gx, gy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.4, vmin=0, vmax=1)
            if p.min() < 0.5 < p.max():
                ax.contour(gx, gy, p, levels=[0.5], colors="black", linewidths=1.2)
        else:
            ax.text(0.5, 0.5, "not drawn", ha="center", va="center", transform=ax.transAxes, fontsize=8)
        if frame.truth is not None:
            ax.contour(gx, gy, frame.truth, levels=[0], colors="#2ca02c", linewidths=1.0, linestyles="--")
        ax.scatter(points[:, 0], points[:, 1], c=np.where(points[:, 2] > 0.5, "#ff7f0e", "#1f77b4"), s=3, lw=0,
                   alpha=0.6)
        accuracy = None if thumb is None else thumb.test_accuracy
        ax.set_title(label + (f" · lab test {100 * accuracy:.0f} %" if accuracy is not None else ""), fontsize=9)
        ax.set_xlim(x0a, x0b)
        ax.set_ylim(x1a, x1b)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(labels):]:
        ax.set_visible(False)
    return fig
