"""Rendering: one list of sections → ``report.html`` (self-contained) and ``report.md``."""

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path

from actlab.report.figures import (
    _colors,
    _figure_curves,
    _figure_lr,
    _figure_ranking,
    _png,
)
from actlab.report.gradient_flow import gradient_flow_section
from actlab.report.stats import ALPHA
from actlab.report.summary import ReportData, summarize
from actlab.report.tables import (
    _config_rows,
    _diverged_rows,
    _duration,
    _pct_or_num,
    _property_table,
    _ranking_table,
)

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
    flow = gradient_flow_section(run_dir, [s.label for s in data.summaries])  # None without diagnostics/clipping
    if flow is not None:
        flow.write_figures(figures_dir)

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
    md += flow.markdown_text() if flow is not None else []
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
    for _name, caption, png in figures:
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
    h += flow.html_text() if flow is not None else []
    h += ["<h2>Reproduce</h2>", "<p>Command as typed:</p>", f"<pre>{html.escape(sweep['command'])}</pre>",
          "<p>Equivalent command with every option spelled out:</p>",
          f"<pre>{html.escape(sweep.get('reproduce') or sweep['command'])}</pre>",
          f"<p>Library versions: {html.escape(versions)}. Created {html.escape(sweep['created'])}. "
          f"Total training wall time: {_duration(sweep.get('wall_seconds'))}.</p>",
          "<h3>Resolved config</h3>", _html_table(["key", "value"], config_rows).replace("<table>", "<table class='config'>"),
          "</body></html>"]
    (run_dir / "report.html").write_text("\n".join(h), encoding="utf-8")
    return {"html": run_dir / "report.html", "markdown": run_dir / "report.md", "figures": figures_dir}
