"""The report's figures: curves with confidence bands, the ranking, the learning-rate grid."""

import io
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from actlab.analysis.palette import colors_for
from actlab.report.stats import t_interval
from actlab.report.summary import ReportData
from actlab.store import EpochRow


# ----------------------------------------------------------------- plots
def _colors(labels: Sequence[str]) -> dict[str, str]:
    return colors_for(labels)


def _curve(rows_per_run: list[list[EpochRow]], attribute: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """epochs, mean, low, high (NaN where there is no band) over runs, finite values only."""
    per_epoch: dict[int, list[float]] = defaultdict(list)
    for rows in rows_per_run:
        for e in rows:
            value = getattr(e, attribute)
            if value is not None and math.isfinite(value):
                per_epoch[e.epoch].append(value)
    xs = sorted(per_epoch)
    mean, low, high = [], [], []
    for x in xs:
        values = per_epoch[x]
        mean.append(float(np.mean(values)))
        interval = t_interval(values)
        low.append(interval[0] if interval else math.nan)
        high.append(interval[1] if interval else math.nan)
    return np.array(xs), np.array(mean), np.array(low), np.array(high)


def _figure_curves(data: ReportData, colors: Mapping[str, str]) -> Any:
    from matplotlib.figure import Figure

    panels = [("val_loss", "validation loss"), ("val_accuracy", "validation accuracy")]
    if not data.classification:
        panels = [("train_loss", "training loss"), ("val_loss", "validation loss")]
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, (attribute, title) in zip(axes, panels):
        means: list[float] = []
        for s in data.summaries:
            rows = [data.epochs.get(r.run_id, []) for r in s.finished]
            xs, mean, low, high = _curve(rows, attribute)
            if len(xs) == 0:
                continue
            means.extend(mean.tolist())
            color = colors[s.label]
            ax.plot(xs, mean, color=color, lw=1.8, label=s.label, marker="o" if len(xs) < 12 else None, ms=3)
            band = ~np.isnan(low)
            if band.any():
                ax.fill_between(xs[band], low[band], high[band], color=color, alpha=0.12, lw=0)
        # limits from the means: a wide band (few seeds) is clipped by the axes instead of flattening the curves
        if means:
            lo, hi = min(means), max(means)
            if "loss" in attribute and lo > 0:
                ax.set_yscale("log")
                ax.set_ylim(lo / 1.6, hi * 1.6)
            else:
                pad = max(0.08 * (hi - lo), 0.01 if attribute == "val_accuracy" else 1e-6 + 0.05 * abs(hi))
                low_limit, high_limit = lo - pad, hi + pad
                if attribute == "val_accuracy":
                    low_limit, high_limit = max(0.0, low_limit), min(1.0, high_limit)
                ax.set_ylim(low_limit, high_limit)
        ax.set_title(f"{title} (mean, 95 % CI over seeds)")
        ax.set_xlabel("epoch")
        ax.set_ylabel(title)
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right center", frameon=False)
    return fig


def _figure_ranking(data: ReportData, colors: Mapping[str, str]) -> Any:
    from matplotlib.figure import Figure

    summaries = data.summaries
    fig = Figure(figsize=(8, 0.45 * len(summaries) + 1.4), layout="constrained")
    ax = fig.subplots()
    n = len(summaries)
    for i, s in enumerate(summaries):
        y = n - 1 - i
        values = list(s.metric_values.values())
        color = colors[s.label]
        if values:
            jitter = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else np.zeros(1)
            ax.scatter(values, y + jitter, color=color, s=16, alpha=0.6, zorder=2)
        if s.mean is not None:
            if s.ci is not None:
                ax.errorbar([s.mean], [y], xerr=[[s.mean - s.ci[0]], [s.ci[1] - s.mean]], fmt="none",
                            ecolor=color, capsize=4, lw=2, zorder=3)
            ax.scatter([s.mean], [y], color=color, marker="D", s=42, edgecolor="black", lw=0.6, zorder=4)
    ax.set_yticks(range(n), [s.label + (f" ({len(s.diverged)} diverged)" if s.diverged else "")
                             for s in reversed(summaries)])
    for tick, s in zip(ax.get_yticklabels(), reversed(summaries)):
        if s.diverged:
            tick.set_color("#b00020")
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(data.metric_name + (" (higher is better)" if data.classification else " (lower is better)"))
    ax.set_title(f"{data.metric_name} per seed (dots), mean (diamond) and 95 % CI")
    ax.grid(axis="x", alpha=0.3)
    return fig


def _figure_lr(data: ReportData, colors: Mapping[str, str]) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.2), layout="constrained")
    ax = fig.subplots()
    for s in data.summaries:
        points = [(rate, score) for rate, (_, score) in sorted(s.lr_scores.items()) if score is not None]
        if not points:
            continue
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="o", color=colors[s.label], label=s.label)
        if s.lr in s.lr_scores and s.lr_scores[s.lr][1] is not None:
            ax.scatter([s.lr], [s.lr_scores[s.lr][1]], s=110, facecolor="none", edgecolor=colors[s.label], lw=1.5)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("mean best validation " + ("accuracy" if data.classification else "loss"))
    ax.set_title("learning-rate grid (circled: the chosen rate; diverged runs left out)")
    ax.grid(alpha=0.3)
    if ax.has_data():
        fig.legend(*ax.get_legend_handles_labels(), loc="outside right center", frameon=False)
    return fig


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


