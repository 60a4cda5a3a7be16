"""Rendering: one view (title, decision, warnings, sections of tables / figures / notes) →
``report.html`` (a Jinja2 template shipped as package data, self-contained) and ``report.md``."""

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from actlab.report.cost import COST_THRESHOLD
from actlab.report.decision import TIE_BREAK, Decision, decide
from actlab.report.figures import _colors, _figure_curves, _figure_lr, _figure_ranking, _png
from actlab.report.gradient_flow import gradient_flow_section
from actlab.report.lm import LM_HEADER, LM_NOTE, figure_bpc, is_language_model, lm_rows
from actlab.report.stats import ALPHA
from actlab.report.summary import ReportData, summarize
from actlab.report.tables import (
    _config_rows,
    _cost_table,
    _diverged_rows,
    _duration,
    _effect_table,
    _pct_or_num,
    _property_table,
    _ranking_table,
)
from actlab.report.tuning import title as tuning_title
from actlab.report.tuning import tuning_section

_INTERVAL_HEADERS = ("95 % CI", "95 % paired CI")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, colors: Mapping[str, str] | None = None,
           name_column: int | None = 0, row_classes: Mapping[str, str] | None = None, title: str = "",
           cls: str = "", title_cls: str = "") -> dict[str, Any]:
    """A table for both outputs: cells carry their text plus an HTML class (and a colour swatch for names)."""
    out_rows = []
    for row in rows:
        cells = []
        for i, text in enumerate(row):
            cell: dict[str, Any] = {"text": text, "cls": "", "color": None}
            if i == name_column:
                cell["cls"] = "name"
                cell["color"] = (colors or {}).get(text)
            elif header[i] in _INTERVAL_HEADERS:
                cell["cls"] = "interval"
            elif header[i] == "verdict":
                cell["cls"] = "bad text" if text in ("significantly worse", "no finished run") else (
                    "good text" if text.startswith("recommended") else "text")
            elif header[i] == "diverged" and text not in ("0", "—"):
                cell["cls"] = "bad"
            elif header[i] in ("reason", "value"):
                cell["cls"] = "text"
            else:
                cell["cls"] = "num"
            cells.append(cell)
        label = row[name_column] if name_column is not None else None
        out_rows.append({"cells": cells, "cls": (row_classes or {}).get(label, "")})
    header_cls = ["text" if h in ("verdict", "reason", "value") else "" for h in header]
    return {"header": list(header), "header_cls": header_cls, "rows": out_rows, "title": title, "cls": cls,
            "title_cls": title_cls}


def _section(id: str, title: str, **parts: Any) -> dict[str, Any]:
    section = {"id": id, "title": title, "before": [], "tables": [], "figures": [], "bullets": [], "after": [], "pre": []}
    section.update(parts)
    return section


def pick_line(data: ReportData, d: Decision) -> str:
    """The report's first line: ``Use X.``, or why there is no decision."""
    if d.recommended is None:
        return "Every activation failed to learn: no recommendation." if data.all_failed else "No recommendation yet."
    if d.max_seeds < 2:
        return f"No decision: {d.best.label if d.best else '—'} has the highest mean, from one seed."
    if all(s.p_adjusted is None for s in d.group if s is not d.best) and len(d.group) > 1:
        return f"No decision yet: {d.recommended.label} is a provisional pick (nothing could be tested)."
    if len(d.group) == 1:
        return f"Use {d.recommended.label}."
    return f"Use {d.recommended.label} — one of {len(d.group)} statistically indistinguishable activations."


def build_view(data: ReportData, decision: Decision, figures: Sequence[tuple[str, str, bytes, str]],
               colors: Mapping[str, str]) -> dict[str, Any]:
    """Everything the report says, as plain data: the HTML template and the Markdown writer both read it."""
    counts = data.status_counts
    total = sum(counts.values())
    config = data.sweep["config"]
    c = data.classification
    failed = sum(1 for r in data.runs if r.status == "finished" and r.run_id in data.failures)
    status = (f"{counts['finished']} of {total} runs finished, {counts['diverged']} diverged"
              + (f", {failed} of the finished failed to learn (chance level or exploded loss)" if failed else "")
              + (f", {counts['pending'] + counts['running']} not finished (resume the sweep to complete them)"
                 if counts["pending"] + counts["running"] else "") + ".")
    classes = {s.label: "group" for s in decision.group}
    if decision.recommended is not None:
        classes[decision.recommended.label] = "recommended"
    by_section: dict[str, list[dict[str, str]]] = {}
    for name, caption, png, where in figures:
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        by_section.setdefault(where, []).append({"name": name, "caption": caption, "uri": uri})

    point = {"best-val-acc": "evaluation point with the best validation accuracy",
             "final": "final evaluation point (the end of its budget)"}.get(
        str(data.sweep.get("config", {}).get("report_at") or "best-val-loss"),
        "best validation epoch (lowest validation loss)")
    selection = (f"Test metrics are taken at each run's {point}"
                 + (" of the learning rate with the best mean validation accuracy (chosen per activation; "
                    "a rate where some seeds diverged ranks below one where all finished)." if data.lr_grid else "."))
    method = (f"The group: the best mean, every activation not significantly worse (paired t-test across seeds, "
              f"runs paired by seed, Holm–Bonferroni corrected over {max(len(data.summaries) - 1, 0)} comparisons, "
              f"α = {ALPHA}) and every activation equivalent in practice (within ±{decision.margin_text}, TOST). "
              f"Tie-break inside the group: {TIE_BREAK}. Runs that failed to learn are counted "
              "but excluded from means, intervals and tests (an activation none of whose runs learned is never the "
              "best). Intervals: t intervals on the logit scale for accuracies and "
              "the log scale for losses, mapped back (never outside the metric's range).")
    if data.baseline is not None:
        method += " " + data.baseline.describe()
    if data.all_failed:
        method = "Every run failed to learn: there is nothing to test. " + method
    elif decision.max_seeds < 2:
        method = "There are not enough seeds for a test (fewer than 2 finished seeds). " + method
    effects = (f"Differences are paired by seed, best − activation for accuracy (points), activation − best for loss: "
               f"positive means worse. Equivalent in practice: TOST at α = {ALPHA} with margin ±{decision.margin_text} "
               f"(--margin), done as the 90 % paired interval lying inside the margin; “equivalence not shown” means the data "
               "cannot rule out a difference larger than the margin. Seeds for 80 % power: paired seeds a "
               "difference of the observed size and spread would need to reach significance.")
    threshold = (f"Epochs to threshold: first epoch reaching {data.threshold_text}; mean over the runs that reach it."
                 if data.threshold is not None else
                 "Epochs to threshold: none — no run learned, so there is no threshold to reach.")

    sections = []
    rank_header, rank_rows = _ranking_table(data, decision)
    sections.append(_section("decision", "Decision", tables=[_table(rank_header, rank_rows, colors=colors, name_column=1,
                                                                      row_classes=classes)],
                             after=[selection, method, threshold]))
    effect_header, effect_rows = _effect_table(data, decision)
    if effect_rows:
        sections.append(_section("effects", "Effect sizes against the best",
                                 tables=[_table(effect_header, effect_rows, colors=colors)], after=[effects],
                                 figures=by_section.get("ranking", [])))
    else:
        sections[-1]["figures"] += by_section.get("ranking", [])
    curves = _section("curves", "Training and validation loss", figures=by_section.get("curves", []),
                      bullets=list(decision.overfitting.values()))
    sections.append(curves)
    if data.lr_grid:
        sections.append(_section("lr-grid", "Learning-rate grid", figures=by_section.get("lr", []),
                                 bullets=list(decision.lr_edges.values())))
    if by_section.get("thumbnails"):
        sections.append(_section("boundaries", "What each net learned (2-D)", figures=by_section["thumbnails"]))
    cost_header, cost_rows = _cost_table(data, decision)
    sections.append(_section("cost", "Cost", tables=[_table(cost_header, cost_rows, colors=colors)], after=[
        "Activation time per epoch: the activation module (forward + backward) timed when the sweep ran, on one "
        "thread on a batch × width tensor, in interleaved rounds (the median per call), × hidden layers × steps per "
        "epoch — the time the activation itself adds. ± spread: half the interquartile range of the rounds, scaled "
        "alike. × the cheapest: the ratio from the paired rounds (each round times every activation under the same "
        "load) with its 95 % interval; “within noise”: that interval reaches below "
        f"{1 + COST_THRESHOLD:.2f}, so the difference is not both repeated and large, and the tie-break treats the "
        "two as equally cheap; “not measured”: the store holds no "
        "timing (written before costs were stored). Wall s / epoch: the grid engine trains all runs together and "
        "splits an epoch's time evenly, so that column does not tell activations apart."]))
    prop_header, prop_rows, prop_note = _property_table(data)
    props = _section("properties", "Properties of the compared activations")
    if prop_rows:
        props["tables"].append(_table(prop_header, prop_rows, colors=colors))
        props["after"].append("Computed from each activation's spec (actlab.analysis), in ranking order; "
                              "`actlab recommend` turns them into advice.")
    else:
        props["after"].append(prop_note)
    sections.append(props)
    diverged = _diverged_rows(data)
    if diverged:
        sections.append(_section("diverged", "Diverged runs and runs that failed to learn", tables=[_table(
            ["activation", "lr", "seed", "epoch", "step", "reason"], diverged, colors=colors)]))
    sweep = data.sweep
    versions = ", ".join(f"{k} {v}" for k, v in sweep["versions"].items())
    sections.append(_section(
        "reproduce", "Reproduce",
        pre=[{"label": "Command as typed:", "text": sweep["command"]},
             {"label": "Equivalent command with every option spelled out:",
              "text": sweep.get("reproduce") or sweep["command"]}],
        before=[f"Library versions: {versions}. Created {sweep['created']}. "
                f"Total training wall time: {_duration(sweep.get('wall_seconds'))}"
                f"{_device_note(config)}."]))
    sections.append(_section("config", "Resolved config",
                             tables=[_table(["key", "value"], _config_rows(config), cls="config")]))
    title = (f"actlab compare — {config.get('dataset')} / {config.get('model')} depth {config.get('depth')} "
             f"× width {config.get('width')}")
    if ":" in str(config.get("model")):  # the user's own model: its architecture is its own
        title = f"actlab compare — {config.get('dataset')} / {config.get('model')}"
    best = decision.best
    return {"title": title, "pick": pick_line(data, decision), "headline": decision.headline, "status": status,
            "warnings": list(decision.warnings), "sections": sections,
            "best": None if best is None else {"label": best.label, "mean": _pct_or_num(best.mean, c)}}


def _device_note(config: Mapping[str, Any]) -> str:
    """" on DEVICE, compiled/eager (--compile MODE)" from the stored decision (absent in older stores)."""
    if config.get("device_used") is None and config.get("compile_used") is None:
        return ""
    compiled = {True: "compiled", False: "eager"}.get(config.get("compile_used"), "compile unknown")
    return f" on {config.get('device_used') or 'an unrecorded device'}, {compiled} (--compile {config.get('compile') or 'auto'})"


def _lm_section(data: ReportData, colors: Mapping[str, str], figures_dir: Path) -> dict[str, Any]:
    """Language models: size, bpc with intervals, speed, steps to target, and the bpc curves (steps, seconds)."""
    from actlab.store import Store
    from actlab.store.sizes import read_sizes

    with Store(data.run_dir, readonly=True) as store:
        sizes = read_sizes(store)
    rows, target = lm_rows(data, sizes)
    png = _png(figure_bpc(data, colors))
    (figures_dir / "bpc.png").write_bytes(png)
    figure = {"name": "bpc.png", "uri": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
              "caption": "Validation bits per character against optimiser steps and against wall-clock seconds: "
                         "mean over seeds, band the 95 % t interval at each evaluation."}
    return _section("language-model", "Language model: bits per character, size and speed",
                    tables=[_table(LM_HEADER, rows, colors=colors)], figures=[figure],
                    after=[LM_NOTE.format(target="—" if target is None else f"{target:.4f} bpc")])


def render_html(view: Mapping[str, Any]) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("actlab.report", "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html").render(**view)


def _md_table(table: Mapping[str, Any]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    header = table["header"]
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c["text"]) for c in row["cells"]) + " |" for row in table["rows"]]
    return "\n".join(lines)


def render_markdown(view: Mapping[str, Any]) -> str:
    md = [f"# {view['title']}", "", f"**{view['pick']}** {view['headline']}", "", view["status"], ""]
    md += [f"> ⚠ {w}\n" for w in view["warnings"]]
    for section in view["sections"]:
        if "raw_markdown" in section:  # a section that renders itself (gradient flow)
            md += section["raw_markdown"]
            continue
        md += [f"## {section['title']}", ""]
        md += [p + "\n" for p in section["before"]]
        for table in section["tables"]:
            if table["title"]:
                md += [f"### {table['title']}", ""]
            md += [_md_table(table), ""]
        for f in section["figures"]:
            md += [f"![{f['caption']}](figures/{f['name']})", "", f"*{f['caption']}*", ""]
        md += [f"- {item}" for item in section["bullets"]] + ([""] if section["bullets"] else [])
        md += [p + "\n" for p in section["after"]]
        for pre in section["pre"]:
            md += [pre["label"], "", "```", pre["text"], "```", ""]
    return "\n".join(md)


def write_report(run_dir: str | Path, *, margin: float | None = None, thumbnails: bool = True,
                 cost: Mapping[str, float | None] | None = None, out_dir: str | Path | None = None) -> dict[str, Path]:
    """Write ``report.html`` (self-contained) and ``report.md`` (+ ``figures/*.png``). Returns the paths.

    ``margin``: the practical-equivalence margin (points of accuracy; % of the best loss for regression);
    None: the sweep's ``margin`` option, else the default. ``cost``: seconds per epoch per label (None: as the
    sweep measured and stored them). ``thumbnails``: show the 2-D decision-boundary thumbnails the sweep stored
    (toy classification sets). ``out_dir``: where the files go (default ``run_dir``; the store is only read, so a
    read-only sweep directory can be reported elsewhere). Nothing is trained or timed: the same store gives the
    same bytes.
    """
    run_dir = Path(run_dir)
    data = summarize(run_dir)
    if margin is None:
        margin = data.sweep["config"].get("margin")
    decision = decide(data, margin=margin, cost=cost)
    colors = _colors([s.label for s in data.summaries])
    out = run_dir if out_dir is None else Path(out_dir)
    figures_dir = out / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    figures: list[tuple[str, str, bytes, str]] = []  # (file name, caption, png, section)
    if any(data.epochs.get(r.run_id) for s in data.summaries for r in s.finished):
        ref = f" Grey: {decision.best.label} (best mean), validation loss." if decision.best else ""
        figures.append(("curves.png", "Per activation: training loss (dashed) and validation loss (solid, 95 % band "
                        "over seeds), mean over finished runs; star: the epoch of lowest mean validation loss." + ref,
                        _png(_figure_curves(data, colors)), "curves"))
    if any(s.metric_values for s in data.summaries):
        figures.append(("ranking.png", f"{data.metric_name.capitalize()} per seed, mean and 95 % CI, ranked.",
                        _png(_figure_ranking(data, colors)), "ranking"))
    if data.lr_grid:
        figures.append(("lr_grid.png", "Mean best validation score per learning rate, per activation; circled: the "
                        "chosen rate (red: at an edge of the grid).", _png(_figure_lr(data, colors)), "lr"))
    if thumbnails:
        from actlab.report.thumbnails import figure_thumbnails, recipe_text

        fig = figure_thumbnails(data, colors)
        if fig is not None:
            figures.append(("boundaries.png", f"Decision boundary per activation, from the boundary lab's net "
                            f"({recipe_text(data)}; trained when the sweep ran — not the compared runs, whose "
                            "weights are not stored): shading P(class 1), black the learned boundary, dashed green "
                            "the true one.", _png(fig), "thumbnails"))
    for name, _, png, _ in figures:
        (figures_dir / name).write_bytes(png)
    view = build_view(data, decision, figures, colors)
    if is_language_model(data.sweep["config"]):
        view["sections"].insert(1, _lm_section(data, colors, figures_dir))
    tuned = tuning_section(data.sweep["config"], [s.label for s in data.summaries])  # None unless tuned
    if tuned is not None:
        view["title"] = tuning_title(data.sweep["config"])
        view["sections"].insert(1, tuned)  # after the decision
    flow = gradient_flow_section(run_dir, [s.label for s in data.summaries])  # None without diagnostics/clipping
    if flow is not None:
        flow.write_figures(figures_dir)
        at = next((i for i, sec in enumerate(view["sections"]) if sec["id"] == "properties"), len(view["sections"]))
        view["sections"].insert(at, _section("gradient-flow", "", raw_html="\n".join(flow.html_text()),
                                             raw_markdown=flow.markdown_text()))
    (out / "report.md").write_text(render_markdown(view), encoding="utf-8")
    (out / "report.html").write_text(render_html(view), encoding="utf-8")
    return {"html": out / "report.html", "markdown": out / "report.md", "figures": figures_dir}
