"""The report's gradient-flow section: per-layer speed, dead and saturated units, clipped steps.

Shown when the store holds diagnostics (``actlab compare --diagnostics``) or clipping
counts (``--clip-value`` / ``--clip-norm``).  Reads only the store:

* per activation (and learning rate), per hidden layer: the speed ‖mean ∂C/∂b_l‖₂ at
  initialisation and after the last measured epoch, the weight-gradient norm, the dead and
  saturated fractions (means over the runs, diverged runs included up to where they stopped;
  definitions in :mod:`actlab.analysis.layer_measures`);
* figures: speed per layer vs epoch (log scale) and dead fraction per layer vs epoch, one
  panel per activation, one line per hidden layer (mean over seeds);
* the fraction of optimiser steps whose gradient clipping changed, per activation.

:func:`gradient_flow_section` returns the Markdown lines, HTML fragments and figures;
the renderer only places them.
"""
from __future__ import annotations

import html
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from actlab.store import Store

__all__ = ["Section", "gradient_flow_section", "TITLE"]

TITLE = "Gradient flow per layer"


@dataclass
class Section:
    markdown: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    figures: list[tuple[str, str, bytes]] = field(default_factory=list)  # (file name, caption, png)

    def write_figures(self, figures_dir: Path) -> None:
        for name, _, png in self.figures:
            (figures_dir / name).write_bytes(png)

    def markdown_text(self) -> list[str]:
        """The Markdown lines, figures (in ``figures/``) last."""
        return self.markdown + [line for name, caption, _ in self.figures
                                for line in (f"![{caption}](figures/{name})", "", f"*{caption}*", "")]

    def html_text(self) -> list[str]:
        """The HTML fragments, figures embedded as data URIs."""
        import base64

        images = [f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,"
                  f"{base64.b64encode(png).decode('ascii')}'><figcaption class='note'>{html.escape(caption)}"
                  "</figcaption></figure>" for _, caption, png in self.figures]
        return self.html + images


def _mean(values: Sequence[float | None]) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def _tables(header: Sequence[str], rows: Sequence[Sequence[str]]) -> tuple[str, str]:
    md = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    md += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    return "\n".join(md), f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _group_name(label: str, lr: float | None, several_rates: bool) -> str:
    return f"{label} (lr {lr:g})" if several_rates and lr is not None else label


def _figure(curves: Mapping[str, Mapping[int, Mapping[int, float]]], ylabel: str, log: bool) -> bytes:
    """One panel per group: epoch → value per layer (mean over seeds)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    names = list(curves)
    columns = min(len(names), 4)
    rows = math.ceil(len(names) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 2.8 * rows), squeeze=False, sharey=True)
    for ax, name in zip(axes.flat, names):
        for layer, points in sorted(curves[name].items()):
            epochs = sorted(e for e, v in points.items() if v is not None and (v > 0 or not log))
            ax.plot(epochs, [points[e] for e in epochs], marker="o", markersize=2.5, label=f"layer {layer}")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("epoch (0 = init)", fontsize=8)
        if log:
            ax.set_yscale("log")
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    axes[0][0].set_ylabel(ylabel, fontsize=8)
    axes[0][0].legend(fontsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def gradient_flow_section(run_dir: str | Path, order: Sequence[str] | None = None) -> Section | None:
    """The section for the store in ``run_dir``; None when it holds no diagnostics and no clipping counts.

    ``order``: activation labels in the report's ranking order (others follow in store order).
    """
    with Store(run_dir, readonly=True) as store:
        runs = store.runs()
        stats = store.layer_stats()
        clipping = store.clipping()
    if not stats and not clipping:
        return None
    several_rates = len({r.lr for r in runs}) > 1
    group_of = {r.run_id: _group_name(r.label, r.lr, several_rates) for r in runs}
    rank = {label: i for i, label in enumerate(order or [])}
    groups = sorted(dict.fromkeys(group_of.values()),
                    key=lambda g: (rank.get(next(r.label for r in runs if group_of[r.run_id] == g), len(rank)),))
    section = Section()
    section.markdown += [f"## {TITLE}", ""]
    section.html.append(f"<h2>{html.escape(TITLE)}</h2>")
    if stats:
        _layer_part(section, stats, group_of, groups)
    if clipping:
        _clipping_part(section, runs, clipping, group_of, groups)
    return section


def _layer_part(section: Section, stats, group_of: Mapping[str, str], groups: Sequence[str]) -> None:
    by_run: dict[str, dict[int, dict[int, object]]] = defaultdict(lambda: defaultdict(dict))
    for row in stats:
        by_run[row.run_id][row.layer][row.epoch] = row
    speed: dict[str, dict[int, dict[int, list]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    dead: dict[str, dict[int, dict[int, list]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    table_rows = []
    for group in groups:
        members = [run_id for run_id in by_run if group_of.get(run_id) == group]
        if not members:
            continue
        layers = sorted({layer for run_id in members for layer in by_run[run_id]})
        for layer in layers:
            init, final = [], []
            for run_id in members:
                points = by_run[run_id].get(layer, {})
                for epoch, row in points.items():
                    speed[group][layer][epoch].append(row.speed)
                    dead[group][layer][epoch].append(row.dead_fraction)
                if 0 in points:
                    init.append(points[0])
                if points:
                    final.append(points[max(points)])
            last_epoch = max((row.epoch for row in final), default=0)
            table_rows.append([group, str(layer), _num(_mean([r.speed for r in init])),
                               _num(_mean([r.speed for r in final])), str(last_epoch),
                               _num(_mean([r.weight_grad_norm for r in final])),
                               _pct(_mean([r.dead_fraction for r in final])),
                               _pct(_mean([r.saturated_fraction for r in final]))])
    header = ["activation", "hidden layer", "speed at init", "speed final", "final epoch",
              "weight-grad norm final", "dead final", "saturated final"]
    md_table, html_table = _tables(header, table_rows)
    note = ("Measured on the first 1 000 training examples at initialisation and after every epoch "
            "(actlab compare --diagnostics); means over seeds. Speed: ‖(1/n) Σ ∂C/∂b_l‖₂; dead: units whose "
            "derivative is 0 for every example; saturated: |f′(z)| below 1 % of max |f′| "
            "(— where max |f′| is unbounded). Definitions: actlab.analysis.layer_measures.")
    section.markdown += [md_table, "", note, ""]
    section.html += [html_table, f"<p class='note'>{html.escape(note)}</p>"]
    curves_speed = {g: {layer: {e: _mean(v) for e, v in per.items()} for layer, per in speed[g].items()}
                    for g in groups if g in speed}
    curves_dead = {g: {layer: {e: _mean(v) for e, v in per.items()} for layer, per in dead[g].items()}
                   for g in groups if g in dead}
    if curves_speed:
        section.figures.append(("gradient_speed.png", "Speed of learning per hidden layer vs epoch "
                                "(‖mean ∂C/∂b_l‖₂, log scale; mean over seeds).",
                                _figure(curves_speed, "speed", log=True)))
        section.figures.append(("dead_fraction.png", "Dead fraction per hidden layer vs epoch (mean over seeds).",
                                _figure(curves_dead, "dead fraction", log=False)))


def _clipping_part(section: Section, runs, clipping: Mapping[str, tuple[int, int]],
                   group_of: Mapping[str, str], groups: Sequence[str]) -> None:
    rows = []
    for group in groups:
        counts = [clipping[r.run_id] for r in runs if group_of[r.run_id] == group and r.run_id in clipping]
        if not counts:
            continue
        fractions = [clipped / steps for steps, clipped in counts if steps]
        rows.append([group, str(len(counts)), str(sum(s for s, _ in counts)), str(sum(c for _, c in counts)),
                     _pct(_mean(fractions))])
    md_table, html_table = _tables(["activation", "runs", "steps", "clipped steps", "clipped fraction"], rows)
    note = ("Clipped fraction: share of optimiser steps whose gradient clipping changed (some |g| > c, or the "
            "run's global gradient norm above c); mean over runs.")
    section.markdown += ["### Gradient clipping", "", md_table, "", note, ""]
    section.html += ["<h3>Gradient clipping</h3>", html_table, f"<p class='note'>{html.escape(note)}</p>"]
