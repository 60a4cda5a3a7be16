"""The comparison report: ``RUN_DIR/report.html`` and ``RUN_DIR/report.md`` from the store.

Reads only the store (:mod:`actlab.store`) and the activation specs / property
table; never the training code. ``actlab report RUN_DIR`` regenerates it.

What the statistics mean
------------------------
* Curves: mean over seeds of each finished run's validation loss / accuracy per
  epoch, with a 95 % confidence band from the t-distribution (n − 1 degrees of
  freedom; no band with fewer than 2 runs at that epoch).
* Ranking: test metrics are taken at each run's best validation epoch. Mean ±
  sample standard deviation and the t-based 95 % confidence interval over seeds.
* Diverged runs are counted and listed, but excluded from every mean, band and test.
* Significance: a paired t-test (pairs are runs with the same seed) of each
  activation against the best one, Holm–Bonferroni corrected across the
  comparisons, at α = 0.05. With fewer than 2 paired seeds there is no test.
* Epochs to threshold: the first epoch whose validation accuracy reaches the
  threshold — 97 % on MNIST, otherwise 90 % of the best activation's mean best
  validation accuracy (for regression: validation loss at most 1.1 × the best
  mean best validation loss). Averaged over the runs that reach it.
* Learning-rate grid: for each activation, the learning rate whose finished runs
  have the best mean validation accuracy (at their best epoch) is chosen; a rate
  where fewer seeds finished (the rest diverged) ranks below one where more did.
"""
from __future__ import annotations

import base64
import html
import io
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from actlab.errors import ActlabError
from actlab.store import EpochRow, RunRow, Store

__all__ = ["ALPHA", "ReportData", "ActivationSummary", "summarize", "write_report", "holm", "t_interval"]

ALPHA = 0.05
MNIST_THRESHOLD = 0.97
RELATIVE_THRESHOLD = 0.9
PROPERTY_COLUMNS = (
    ("range_min", "min"),
    ("range_max", "max"),
    ("monotonic", "monotonic"),
    ("zero_at_origin", "f(0)=0"),
    ("derivative_max", "max f'"),
    ("vanishing_risk", "vanishing risk"),
    ("exploding_risk", "exploding risk"),
    ("dead_region", "dead region"),
    ("sparsity", "sparsity"),
    ("self_normalizing", "self-normalizing"),
    ("relative_cost", "relative cost"),
)
_FALLBACK_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
)


# ------------------------------------------------------------ statistics
def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """Two-sided t confidence interval of the mean; None with fewer than 2 values."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if len(x) < 2:
        return None
    mean, sem = float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(x) - 1)) * sem
    return mean - half, mean + half


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as given)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def _mean(values: Sequence[float | None]) -> float | None:
    x = _finite(values)
    return float(np.mean(x)) if x else None


def _std(values: Sequence[float | None]) -> float | None:
    x = _finite(values)
    return float(np.std(x, ddof=1)) if len(x) >= 2 else None


# ----------------------------------------------------------------- model
@dataclass
class ActivationSummary:
    label: str
    activation: str  # what actlab.get takes
    lr: float | None
    runs: list[RunRow]
    finished: list[RunRow]
    diverged: list[RunRow]
    metric_values: dict[int, float]  # seed → test metric (finished runs)
    mean: float | None = None
    std: float | None = None
    ci: tuple[float, float] | None = None
    test_loss: float | None = None
    seconds_per_epoch: float | None = None
    epochs_to_threshold: float | None = None
    reached: int = 0
    p_value: float | None = None
    p_adjusted: float | None = None
    significant: bool | None = None
    test_note: str = ""
    lr_scores: dict[float, tuple[int, float | None]] = field(default_factory=dict)  # lr → (finished, mean val)


@dataclass
class ReportData:
    run_dir: Path
    sweep: dict[str, Any]
    runs: list[RunRow]
    epochs: dict[str, list[EpochRow]]
    classification: bool
    summaries: list[ActivationSummary]  # ranked, best first
    best: ActivationSummary | None
    threshold: float | None
    threshold_text: str
    lr_grid: bool
    status_counts: dict[str, int]

    @property
    def metric_name(self) -> str:
        return "test accuracy" if self.classification else "test loss"


def _load(run_dir: Path) -> tuple[dict[str, Any], list[RunRow], dict[str, list[EpochRow]], dict[str, int]]:
    with Store(run_dir, create=False) as store:
        sweep = store.sweep()
        if sweep is None:
            raise ActlabError(f"{run_dir} holds no sweep yet (nothing was started there)")
        runs = store.runs()
        epochs: dict[str, list[EpochRow]] = defaultdict(list)
        for row in store.epochs():
            epochs[row.run_id].append(row)
        counts = store.status_counts()
    return sweep, runs, dict(epochs), counts


def summarize(run_dir: str | Path) -> ReportData:
    """Everything the report shows, computed from the store."""
    run_dir = Path(run_dir)
    sweep, runs, epochs, counts = _load(run_dir)
    config = sweep["config"]
    task = config.get("task")
    if task is None:  # older stores: infer from what was recorded
        task = "classification" if any(r.test_accuracy is not None for r in runs) or any(
            e.val_accuracy is not None for rows in epochs.values() for e in rows) else "regression"
    classification = task == "classification"
    lr_grid = bool(config.get("lr_grid"))

    by_label: dict[str, list[RunRow]] = defaultdict(list)
    for run in runs:
        by_label[run.label].append(run)

    summaries = []
    for label, group in by_label.items():
        lr_scores: dict[float, tuple[int, float | None]] = {}
        chosen_lr = group[0].lr
        if lr_grid:
            rates = sorted({r.lr for r in group if r.lr is not None})
            for rate in rates:
                done = [r for r in group if r.lr == rate and r.status == "finished"]
                score = _mean([r.val_accuracy for r in done]) if classification else _mean([r.val_loss for r in done])
                lr_scores[rate] = (len(done), score)

            def key(rate: float) -> tuple[int, float]:
                n, score = lr_scores[rate]
                if score is None:
                    return (n, -math.inf)
                return (n, score if classification else -score)

            if rates:
                chosen_lr = max(rates, key=key)
            group = [r for r in group if r.lr == chosen_lr]
        finished = [r for r in group if r.status == "finished"]
        diverged = [r for r in group if r.status == "diverged"]
        metric = {
            r.seed: (r.test_accuracy if classification else r.test_loss)
            for r in finished
            if (r.test_accuracy if classification else r.test_loss) is not None
        }
        metric = {s: v for s, v in metric.items() if math.isfinite(v)}
        summary = ActivationSummary(
            label=label, activation=group[0].activation, lr=chosen_lr, runs=group,
            finished=finished, diverged=diverged, metric_values=metric, lr_scores=lr_scores,
        )
        values = list(metric.values())
        summary.mean, summary.std, summary.ci = _mean(values), _std(values), t_interval(values)
        if classification and summary.ci is not None:  # an accuracy lives in [0, 1]
            summary.ci = (max(0.0, summary.ci[0]), min(1.0, summary.ci[1]))
        summary.test_loss = _mean([r.test_loss for r in finished])
        spe = _finite([r.seconds_per_epoch for r in finished])
        if not spe:
            spe = _finite([e.seconds for r in group for e in epochs.get(r.run_id, [])])
        summary.seconds_per_epoch = float(np.mean(spe)) if spe else None
        summaries.append(summary)

    def rank_key(s: ActivationSummary) -> tuple[int, float]:
        if s.mean is None:
            return (1, 0.0)
        return (0, -s.mean if classification else s.mean)

    summaries.sort(key=rank_key)
    best = summaries[0] if summaries and summaries[0].mean is not None else None

    threshold, threshold_text = _threshold(config, summaries, classification)
    for s in summaries:
        hits = []
        for run in s.finished:
            for e in epochs.get(run.run_id, []):
                value = e.val_accuracy if classification else e.val_loss
                if value is None or threshold is None:
                    continue
                if (classification and value >= threshold) or (not classification and value <= threshold):
                    hits.append(e.epoch)
                    break
        s.reached = len(hits)
        s.epochs_to_threshold = float(np.mean(hits)) if hits else None

    _significance(summaries, best, classification)
    return ReportData(run_dir, sweep, runs, epochs, classification, summaries, best, threshold,
                      threshold_text, lr_grid, counts)


def _threshold(config: Mapping[str, Any], summaries: list[ActivationSummary], classification: bool) -> tuple[float | None, str]:
    if classification:
        if str(config.get("dataset", "")).lower() == "mnist":
            return MNIST_THRESHOLD, f"{MNIST_THRESHOLD:.0%} validation accuracy (MNIST)"
        bests = [_mean([r.val_accuracy for r in s.finished]) for s in summaries]
        bests = [b for b in bests if b is not None]
        if not bests:
            return None, "no finished run"
        value = RELATIVE_THRESHOLD * max(bests)
        return value, f"{value:.1%} validation accuracy (90 % of the best mean best-epoch validation accuracy)"
    bests = [_mean([r.val_loss for r in s.finished]) for s in summaries]
    bests = [b for b in bests if b is not None]
    if not bests:
        return None, "no finished run"
    value = min(bests) / RELATIVE_THRESHOLD if min(bests) > 0 else min(bests)
    return value, f"validation loss ≤ {value:.4g} (the best mean best-epoch validation loss / 0.9)"


def _significance(summaries: list[ActivationSummary], best: ActivationSummary | None, classification: bool) -> None:
    if best is None:
        return
    best.test_note = "best"
    tested: list[ActivationSummary] = []
    pvalues: list[float] = []
    for s in summaries:
        if s is best:
            continue
        seeds = sorted(set(s.metric_values) & set(best.metric_values))
        if len(seeds) < 2:
            s.test_note = "not enough seeds for a test"
            continue
        a = np.array([best.metric_values[k] for k in seeds])
        b = np.array([s.metric_values[k] for k in seeds])
        diff = a - b
        if np.allclose(diff, diff[0]):
            p = 1.0 if abs(diff[0]) < 1e-15 else 0.0  # no spread: the t statistic is 0 or unbounded
        else:
            p = float(stats.ttest_rel(a, b).pvalue)
        s.p_value = p
        tested.append(s)
        pvalues.append(p)
    for s, adjusted in zip(tested, holm(pvalues)):
        s.p_adjusted = adjusted
        s.significant = adjusted < ALPHA
        s.test_note = "significantly worse" if s.significant else "not significantly different"


# ----------------------------------------------------------------- plots
def _colors(labels: Sequence[str]) -> dict[str, str]:
    try:
        from actlab.analysis.plots import color_for
    except ImportError:
        return {label: _FALLBACK_PALETTE[i % len(_FALLBACK_PALETTE)] for i, label in enumerate(labels)}
    from matplotlib.colors import to_hex

    colors: dict[str, str] = {}
    spare = [c for c in _FALLBACK_PALETTE]
    for label in labels:
        color = to_hex(color_for(label))
        if color in colors.values():  # two compared activations must not share a colour
            color = next((c for c in spare if c not in colors.values()), color)
        colors[label] = color
    return colors


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


# ---------------------------------------------------------------- tables
def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(value)
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "—"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return f"{value:.{digits}g}"
    return str(value)


def _pct_or_num(value: float | None, classification: bool) -> str:
    if value is None:
        return "—"
    return f"{100 * value:.2f} %" if classification else f"{value:.4g}"


def _ranking_table(data: ReportData) -> tuple[list[str], list[list[str]]]:
    c = data.classification
    unit = "test acc." if c else "test loss"
    header = ["rank", "activation"]
    if data.lr_grid:
        header.append("best lr")
    header += [f"{unit} mean ± std", "95 % CI", "final test loss", "epochs to threshold",
               "s / epoch", "finished", "diverged", "vs best (Holm-adjusted p)"]
    rows = []
    for i, s in enumerate(data.summaries, 1):
        mean_std = "—" if s.mean is None else (
            _pct_or_num(s.mean, c) + ("" if s.std is None else " ± " + _pct_or_num(s.std, c))
        )
        ci = "—" if s.ci is None else f"[{_pct_or_num(s.ci[0], c)}, {_pct_or_num(s.ci[1], c)}]"
        if s.epochs_to_threshold is None:
            reach = f"not reached (0/{len(s.finished)})" if s.finished else "—"
        else:
            reach = f"{s.epochs_to_threshold:.1f}"
            if s.reached < len(s.finished):
                reach += f" ({s.reached}/{len(s.finished)} runs)"
        if s.p_adjusted is not None:
            verdict = f"{s.test_note} (p = {s.p_adjusted:.3g})"
        else:
            verdict = s.test_note or "—"
        row = [str(i), s.label]
        if data.lr_grid:
            row.append(_fmt(s.lr))
        row += [mean_std, ci, _fmt(s.test_loss), reach, _fmt(s.seconds_per_epoch, 3),
                f"{len(s.finished)}/{len(s.runs)}", str(len(s.diverged)), verdict]
        rows.append(row)
    return header, rows


def _property_table(data: ReportData) -> tuple[list[str], list[list[str]], str]:
    try:
        from actlab.analysis import properties
    except ImportError:
        return [], [], "The property analysis (actlab.analysis) is not available in this installation."
    import actlab

    header = ["activation"]
    rows: list[list[str]] = []
    present: list[str] = []
    tables = {}
    for s in data.summaries:
        try:
            tables[s.label] = properties(actlab.get(s.activation), measure_cost=False).to_dict()
        except ActlabError as error:
            tables[s.label] = {"error": str(error)}
    for key, _ in PROPERTY_COLUMNS:
        if any(t.get(key) is not None for t in tables.values()):
            present.append(key)
    header += [title for key, title in PROPERTY_COLUMNS if key in present]
    for s in data.summaries:
        t = tables[s.label]
        rows.append([s.label] + [_fmt(t.get(key), 3) for key in present])
    return header, rows, ""


def _diverged_rows(data: ReportData) -> list[list[str]]:
    rows = []
    for run in data.runs:
        if run.status == "diverged":
            rows.append([run.label, _fmt(run.lr), str(run.seed), _fmt(run.diverged_epoch),
                         _fmt(run.diverged_step), run.reason or ""])
    return rows


def _duration(seconds: float | None) -> str:
    if not seconds:
        return "—"
    minutes, sec = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {sec:02d} s" if hours else f"{minutes} min {sec:02d} s"


def _config_rows(config: Mapping[str, Any]) -> list[list[str]]:
    skip = {"lr_resolved"}
    rows = []
    for key, value in config.items():
        if key in skip:
            continue
        if key == "lr" and value is None:
            value = f"{config.get('lr_resolved')} (default)" if config.get("lr_resolved") is not None else None
        if isinstance(value, list):
            value = ", ".join(_fmt(v) for v in value)
        rows.append([key, _fmt(value)])
    return rows


# ---------------------------------------------------------------- output
_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1180px;margin:24px auto;padding:0 18px;color:#1d1d1f;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #d0d0d0;padding:4px 9px;text-align:right;vertical-align:top}
th{background:#f3f3f5}td:first-child,th:first-child{text-align:left}
td.name{text-align:left;white-space:nowrap}.swatch{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.4em;vertical-align:-.05em}
tr.best td{background:#eef8ee}.bad{color:#b00020}.note{color:#555;font-size:.92em}
img{max-width:100%;height:auto;border:1px solid #eee}
code,pre{background:#f5f5f7;border-radius:4px}pre{padding:10px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.lead{color:#444}table.config td{text-align:left}
"""


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, colors: Mapping[str, str] | None = None,
                name_column: int | None = None, best_label: str | None = None) -> str:
    out = ["<table><thead><tr>"] + [f"<th>{html.escape(h)}</th>" for h in header] + ["</tr></thead><tbody>"]
    for row in rows:
        label = row[name_column] if name_column is not None else None
        cls = ' class="best"' if best_label is not None and label == best_label else ""
        out.append(f"<tr{cls}>")
        for i, cell in enumerate(row):
            text = html.escape(cell)
            if i == name_column and colors is not None and cell in colors:
                text = f'<span class="swatch" style="background:{colors[cell]}"></span>{text}'
                out.append(f'<td class="name">{text}</td>')
            elif "diverged" == header[i] and cell not in ("0", "—"):
                out.append(f'<td class="bad">{text}</td>')
            else:
                out.append(f"<td>{text}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _texts(data: ReportData) -> dict[str, str]:
    """The prose the report states, shared by HTML and Markdown."""
    counts = data.status_counts
    total = sum(counts.values())
    config = data.sweep["config"]
    selection = (
        "Test metrics are taken at the best validation epoch of each run"
        + (" of the learning rate with the best mean validation accuracy (chosen per activation; "
           "a rate where some seeds diverged ranks below one where all finished)." if data.lr_grid else ".")
    )
    if data.best is None:
        headline = "No run has finished yet."
    else:
        headline = (f"Best: {data.best.label} with mean {data.metric_name} "
                    f"{_pct_or_num(data.best.mean, data.classification)} over {len(data.best.metric_values)} seed(s).")
    status = (f"{counts['finished']} of {total} runs finished, {counts['diverged']} diverged"
              + (f", {counts['pending'] + counts['running']} not finished (resume the sweep to complete them)"
                 if counts["pending"] + counts["running"] else "") + ".")
    test = (f"Significance: paired t-test across seeds (runs paired by seed) of each activation against the best, "
            f"Holm–Bonferroni corrected over the {max(len(data.summaries) - 1, 0)} comparisons, α = {ALPHA}. "
            "Diverged runs are counted but excluded from means, bands and tests.")
    if data.best is not None and len(data.best.metric_values) < 2:
        test = "Significance: not enough seeds for a test (fewer than 2 finished seeds). " \
               "Diverged runs are counted but excluded from means and bands."
    threshold = (f"Epochs to threshold: first epoch reaching {data.threshold_text}; mean over the runs that reach it. "
                 "s / epoch: wall time per epoch (the grid engine trains runs together and splits an epoch's "
                 "time evenly among them).")
    title = f"actlab compare — {config.get('dataset')} / {config.get('model')} depth {config.get('depth')} × width {config.get('width')}"
    return {"title": title, "headline": headline, "status": status, "selection": selection,
            "test": test, "threshold": threshold}


def write_report(run_dir: str | Path) -> dict[str, Path]:
    """Write ``report.html`` (self-contained) and ``report.md`` (+ ``figures/*.png``). Returns the paths."""
    run_dir = Path(run_dir)
    data = summarize(run_dir)
    colors = _colors([s.label for s in data.summaries])
    figures_dir = run_dir / "figures"
    figures_dir.mkdir(exist_ok=True)
    figures: list[tuple[str, str, bytes]] = []  # (file name, caption, png)
    if any(data.epochs.get(r.run_id) for s in data.summaries for r in s.finished):
        caption = ("Validation loss and accuracy per epoch" if data.classification else "Training and validation loss per epoch")
        figures.append(("curves.png", caption + ": mean over seeds with a 95 % t confidence band (finished runs only).",
                        _png(_figure_curves(data, colors))))
    if any(s.metric_values for s in data.summaries):
        figures.append(("ranking.png", f"{data.metric_name.capitalize()} per seed, mean and 95 % CI, ranked.",
                        _png(_figure_ranking(data, colors))))
    if data.lr_grid:
        figures.append(("lr_grid.png", "Mean best validation score per learning rate.", _png(_figure_lr(data, colors))))
    for name, _, png in figures:
        (figures_dir / name).write_bytes(png)

    texts = _texts(data)
    ranking_header, ranking_rows = _ranking_table(data)
    prop_header, prop_rows, prop_note = _property_table(data)
    diverged = _diverged_rows(data)
    diverged_header = ["activation", "lr", "seed", "epoch", "step", "reason"]
    sweep = data.sweep
    versions = ", ".join(f"{k} {v}" for k, v in sweep["versions"].items())
    config_rows = _config_rows(sweep["config"])

    # ------------------------------------------------------------ markdown
    md = [f"# {texts['title']}", "", texts["headline"], "", texts["status"], "", "## Ranking", "",
          _md_table(ranking_header, ranking_rows), "", texts["selection"], "", texts["test"], "", texts["threshold"], ""]
    if diverged:
        md += ["### Diverged runs", "", _md_table(diverged_header, diverged), ""]
    md += ["## Curves", ""]
    for name, caption, _ in figures:
        md += [f"![{caption}](figures/{name})", "", f"*{caption}*", ""]
    md += ["## Properties of the compared activations", ""]
    md += [_md_table(prop_header, prop_rows) if prop_rows else prop_note, ""]
    md += ["## Reproduce", "", "Command as typed:", "", "```", sweep["command"], "```", "",
           "Equivalent command with every option spelled out:", "", "```", sweep.get("reproduce") or sweep["command"], "```", "",
           f"Library versions: {versions}. Created {sweep['created']}. Total training wall time: {_duration(sweep.get('wall_seconds'))}.",
           "", "### Resolved config", "", _md_table(["key", "value"], config_rows), ""]
    (run_dir / "report.md").write_text("\n".join(md), encoding="utf-8")

    # ---------------------------------------------------------------- html
    best_label = data.best.label if data.best else None
    h = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
         f"<title>{html.escape(texts['title'])}</title><style>{_CSS}</style></head><body>",
         f"<h1>{html.escape(texts['title'])}</h1>",
         f"<p class='lead'><b>{html.escape(texts['headline'])}</b> {html.escape(texts['status'])}</p>",
         "<h2>Ranking</h2>",
         _html_table(ranking_header, ranking_rows, colors=colors, name_column=1, best_label=best_label),
         f"<p class='note'>{html.escape(texts['selection'])}<br>{html.escape(texts['test'])}<br>"
         f"{html.escape(texts['threshold'])}</p>"]
    if diverged:
        h += ["<h3 class='bad'>Diverged runs</h3>", _html_table(diverged_header, diverged, colors=colors, name_column=0)]
    h.append("<h2>Curves</h2>")
    for name, caption, png in figures:
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        h.append(f"<figure><img alt='{html.escape(caption)}' src='{uri}'><figcaption class='note'>"
                 f"{html.escape(caption)}</figcaption></figure>")
    h.append("<h2>Properties of the compared activations</h2>")
    if prop_rows:
        h.append(_html_table(prop_header, prop_rows, colors=colors, name_column=0))
        h.append("<p class='note'>Computed from each activation's spec (actlab.analysis), in ranking order: "
                 "compare the risks with the curves above.</p>")
    else:
        h.append(f"<p class='note'>{html.escape(prop_note)}</p>")
    h += ["<h2>Reproduce</h2>", "<p>Command as typed:</p>", f"<pre>{html.escape(sweep['command'])}</pre>",
          "<p>Equivalent command with every option spelled out:</p>",
          f"<pre>{html.escape(sweep.get('reproduce') or sweep['command'])}</pre>",
          f"<p>Library versions: {html.escape(versions)}. Created {html.escape(sweep['created'])}. "
          f"Total training wall time: {_duration(sweep.get('wall_seconds'))}.</p>",
          "<h3>Resolved config</h3>", _html_table(["key", "value"], config_rows).replace("<table>", "<table class='config'>"),
          "</body></html>"]
    (run_dir / "report.html").write_text("\n".join(h), encoding="utf-8")
    return {"html": run_dir / "report.html", "markdown": run_dir / "report.md", "figures": figures_dir}
