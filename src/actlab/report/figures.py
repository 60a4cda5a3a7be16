"""The report's figures: curves with confidence bands, the ranking, the learning-rate grid."""

import io
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from actlab.palette import colors_for
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


def _grid(n: int, columns: int = 3) -> tuple[int, int]:
    columns = min(columns, max(n, 1))
    return -(-max(n, 1) // columns), columns


def _figure_curves(data: ReportData, colors: Mapping[str, str]) -> Any:
    """Small multiples: one panel per activation (training loss dashed, validation loss solid with its band,
    a star at the best-validation epoch), the best activation's validation loss in grey behind each."""
    from matplotlib.figure import Figure

    shown = [s for s in data.summaries if any(data.epochs.get(r.run_id) for r in s.finished)]
    rows, columns = _grid(len(shown))
    fig = Figure(figsize=(10, 2.5 * rows + 0.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)).ravel()
    curves = {}
    for s in shown:
        runs = [data.epochs.get(r.run_id, []) for r in s.finished]
        curves[s.label] = (_curve(runs, "train_loss"), _curve(runs, "val_loss"))
    reference = data.best.label if data.best is not None and data.best.label in curves else None
    values = [v for (t, v) in curves.values() for arr in (t[1], v[1]) for v in arr.tolist() if v > 0]
    for ax, s in zip(axes, shown):
        (txs, train, _, _), (xs, val, low, high) = curves[s.label]
        if reference is not None and reference != s.label:
            rx, rval = curves[reference][1][0], curves[reference][1][1]
            ax.plot(rx, rval, color="#9a9a9a", lw=1.4, label=f"{reference} (best), validation")
        color = colors[s.label]
        ax.plot(txs, train, color=color, lw=1.3, ls="--", label="training loss")
        ax.plot(xs, val, color=color, lw=1.9, label="validation loss")
        band = ~np.isnan(low)
        if band.any():
            ax.fill_between(xs[band], np.maximum(low[band], 1e-12), high[band], color=color, alpha=0.15, lw=0)
        if len(xs):
            i = int(np.argmin(val))
            ax.plot([xs[i]], [val[i]], marker="*", ms=11, color=color, mec="black", mew=0.6, ls="none",
                    label="best validation epoch")
        ax.set_title(s.label + (f"  ({_failed(s)} failed to learn)" if _failed(s) else ""), fontsize=10,
                     color="#b00020" if _failed(s) else "black")
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    if values:
        lo, hi = min(values), max(values)
        axes[0].set_yscale("log")
        axes[0].set_ylim(lo / 1.4, hi * 1.4)
    for ax in axes[max(len(shown) - columns, 0): len(shown)]:  # the lowest panel of every column
        ax.set_xlabel("epoch")
        ax.tick_params(labelbottom=True)
    for r in range(rows):
        axes[r * columns].set_ylabel("loss")
    handles, labels = [], []
    for ax in axes[: len(shown)]:
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=len(handles), frameon=False, fontsize=9)
    return fig


def _figure_ranking(data: ReportData, colors: Mapping[str, str]) -> Any:
    from matplotlib.figure import Figure

    summaries = data.summaries
    fig = Figure(figsize=(7.5, 0.36 * len(summaries) + 1.3), layout="constrained")
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
                # the interval is computed on the logit/log scale, so the arithmetic mean may sit outside it:
                # draw the interval itself, not an error bar around the mean
                ax.hlines(y, s.ci[0], s.ci[1], color=color, lw=2, zorder=3)
                ax.vlines([s.ci[0], s.ci[1]], y - 0.12, y + 0.12, color=color, lw=2, zorder=3)
            ax.scatter([s.mean], [y], color=color, marker="D", s=42, edgecolor="black", lw=0.6, zorder=4)
    ax.set_yticks(range(n), [s.label + (f" ({_failed(s)} failed to learn)" if _failed(s) else "")
                             for s in reversed(summaries)])
    for tick, s in zip(ax.get_yticklabels(), reversed(summaries)):
        if _failed(s):
            tick.set_color("#b00020")
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(data.metric_name + (" (higher is better)" if data.classification else " (lower is better)"))
    ax.set_title(f"{data.metric_name} per seed (dots), mean (diamond) and 95 % CI")
    ax.grid(axis="x", alpha=0.3)
    return fig


def _figure_lr(data: ReportData, colors: Mapping[str, str]) -> Any:
    """Per activation: the mean best validation score against the learning rate; the chosen rate circled,
    red where it sits at an edge of the grid."""
    from matplotlib.figure import Figure

    shown = [s for s in data.summaries if any(score is not None for _, score in s.lr_scores.values())]
    rows = -(-max(len(shown), 1) // 4)
    columns = -(-max(len(shown), 1) // rows)  # balanced rows of at most 4
    fig = Figure(figsize=(10, 2.2 * rows + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)).ravel()
    for ax, s in zip(axes, shown):
        points = [(rate, score) for rate, (_, score) in sorted(s.lr_scores.items()) if score is not None]
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="o", ms=4, color=colors[s.label])
        rates = sorted(s.lr_scores)
        edge = len(rates) >= 2 and s.lr in (rates[0], rates[-1])
        if s.lr in s.lr_scores and s.lr_scores[s.lr][1] is not None:
            ax.scatter([s.lr], [s.lr_scores[s.lr][1]], s=120, facecolor="none",
                       edgecolor="#b00020" if edge else "black", lw=1.6, zorder=3)
        ax.set_title(s.label + ("  (best at grid edge)" if edge else ""), fontsize=10,
                     color="#b00020" if edge else "black")
        ax.set_xscale("log")
        ax.grid(alpha=0.3)
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    rates = sorted({rate for s in shown for rate in s.lr_scores})
    for ax in axes[max(len(shown) - columns, 0): len(shown)]:
        ax.set_xlabel("learning rate")
        ax.tick_params(labelbottom=True)
    if rates:
        axes[0].set_xticks(rates, [f"{r:g}" for r in rates])
        axes[0].minorticks_off()
    for r in range(rows):
        axes[r * columns].set_ylabel("val. " + ("accuracy" if data.classification else "loss"), fontsize=9)
    return fig


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _failed(s) -> int:
    """Runs of ``s`` that failed to learn: diverged, or finished at chance level / with an exploded loss."""
    return len(s.diverged) + len(getattr(s, "failed", ()))
