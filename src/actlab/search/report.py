"""The search's report, ``OUT/report.html``: read from the store only (:func:`actlab.search.results.summarize`),
rendered by the compare report's template (:func:`actlab.report.render.render_html`).

Sections: the funnel (generated → distinct → screened → raced → final, and what each screen rule
removed), the rungs with their leaders, the final comparison with intervals and Holm-corrected paired
tests against each baseline, and per finalist its formula, f/f′ plot, property row and the command that
saves it as a named activation.
"""
from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

from actlab.report.render import _section, _table, render_html
from actlab.report.stats import ALPHA
from actlab.text import plain

__all__ = ["write_report", "build_view", "save_command"]


def _name(formula: str, index: int) -> str:
    return f"found_{index}"


def save_command(formula: str, name: str, params: dict[str, float] | None = None) -> str:
    """The command that makes ``formula`` a named, saved formula activation."""
    extra = "".join(f" --param {k}={v:g}" for k, v in sorted((params or {}).items()))
    quoted = formula.replace('"', '\\"')
    return f'actlab define {name} "{quoted}"{extra} --save'


def _pct(value: float | None, classification: bool) -> str:
    if value is None:
        return "—"
    return f"{100 * value:.2f} %" if classification else f"{value:.4g}"


def _figure(details: dict[str, Any], title: str) -> dict[str, str] | None:
    curve = (details or {}).get("curve")
    if not curve:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from actlab.report.figures import _png

    fig, axes = plt.subplots(1, 2, figsize=(7.5, 2.6))
    axes[0].plot(curve["x"], curve["f"], color="#1f77b4")
    axes[0].set_title("f(x)", fontsize=9)
    axes[1].plot(curve["x"], curve["df"], color="#d62728")
    axes[1].set_title("f′(x)", fontsize=9)
    for ax in axes:
        ax.axhline(0, color="#999", lw=0.6)
        ax.axvline(0, color="#999", lw=0.6)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    png = _png(fig)
    plt.close(fig)
    return {"name": title, "caption": f"{title}: f and f′ on [-5, 5]",
            "uri": "data:image/png;base64," + base64.b64encode(png).decode("ascii")}


def build_view(summary: Any) -> dict[str, Any]:
    c = summary.classification
    config = summary.config
    funnel = summary.funnel
    leaders = summary.leaders
    better = [f for f in leaders if f.better]
    baselines = [f.formula for f in summary.finalists if f.origin == "baseline"]
    if not leaders:
        pick, headline = "The race did not finish: no finalist yet.", "Run the same command again to resume it."
    elif better:
        pick = f"{better[0].formula} beat every baseline ({', '.join(baselines)}) significantly."
        headline = (f"{len(better)} of {len(leaders)} finalists are significantly better than each of "
                    f"{', '.join(baselines)} (paired t-tests on the seeds, Holm-corrected, α = {ALPHA}).")
    else:
        pick = f"Nothing beat the baselines significantly: best finalist {leaders[0].formula}."
        headline = (f"No finalist is significantly better than every one of {', '.join(baselines)} (paired t-tests "
                    f"on {config.get('final_seeds')} seeds, Holm-corrected, α = {ALPHA}).")
    sections = []
    funnel_rows = [[stage, str(funnel[stage])] for stage in ("generated", "distinct", "screened", "raced", "final")]
    rules = [[rule, str(count)] for rule, count in sorted(summary.screen_failures.items())]
    sections.append(_section(
        "funnel", "The funnel", tables=[_table(["stage", "candidates"], funnel_rows),
                                        _table(["screen rule", "candidates it removed"], rules,
                                               title="What the screen removed")],
        before=[f"Space {config.get('space')}, depth {config.get('depth')}: {len(config.get('unary', []))} unary × "
                f"{len(config.get('binary', []))} binary functions, plus catalog seeds; duplicates by SymPy's "
                "canonical form; screen rules " + ", ".join(config.get("rules", [])) + "."]))
    rung_rows = []
    for rung in summary.rungs:
        leaders_text = "; ".join(f"{text} ({_pct(value, c)})" for text, value in
                                 summary.leaders_by_rung.get(rung["rung"], [])[:3])
        final = rung["rung"] == len(summary.rungs) - 1 and config.get("plan", {}).get("final")
        rung_rows.append(["final" if final else str(rung["rung"] + 1), str(len(rung["entered"])), str(rung["steps"]),
                          str(rung["seeds"]), "—" if rung["kept"] is None else str(len(rung["kept"])),
                          f"{rung['seconds'] or 0:.0f}", leaders_text])
    plan = config.get("plan", {})
    sections.append(_section("race", "The race (successive halving)", tables=[_table(
        ["rung", "candidates", "steps", "seeds", "kept", "seconds", "leaders (validation score)"], rung_rows,
        name_column=None)], before=[f"Budget {config.get('budget')} → {plan.get('budget_steps')} candidate-steps; the "
                                    f"plan used {plan.get('cost')}. Model: MLP depth {config.get('net_depth')} × width "
                                    f"{config.get('width')}, Adam 1e-3, batch 128; β = {config.get('beta')} "
                                    "(a formula parameter, not learned). Rungs rank by validation score; "
                                    "the test split is used only in the final comparison."]))
    header = ["activation", "origin", "test " + ("accuracy" if c else "loss"), "95 % CI", "diverged"] + \
             [f"vs {b}: Δ (Holm p)" for b in baselines] + ["verdict"]
    rows = []
    for f in summary.finalists:
        versus = [(f"{100 * v['difference']:+.2f} pp" if c else f"{v['difference']:+.4g}") + f" ({v['adjusted']:.3g})"
                  if v.get("difference") is not None else "—" for v in (f.versus.get(b, {}) for b in baselines)]
        interval = "—" if f.interval is None else f"{_pct(f.interval[0], c)} – {_pct(f.interval[1], c)}"
        verdict = "baseline" if f.origin == "baseline" else ("significantly better than every baseline" if f.better
                                                            else "not significantly better")
        rows.append([f.formula, f.origin, _pct(f.mean, c), interval, str(f.diverged), *versus, verdict])
    sections.append(_section("final", "Final comparison", tables=[_table(header, rows)], before=[
        f"Finalists and baselines trained with the same {config.get('final_seeds')} seeds; Δ is the mean paired "
        "difference (positive: the finalist is better); p is the paired t-test's, Holm-corrected over every "
        "finalist × baseline comparison."]))
    for number, f in enumerate(leaders, start=1):
        details = f.details or {}
        figure = _figure(details, f.formula)
        props = [[key.replace("_", " "), plain(value)] for key, value in (details.get("properties") or {}).items()]
        name = _name(f.formula, number)
        sections.append(_section(
            f"leader-{number}", f"Finalist {number}: {f.formula}",
            tables=[_table(["property", "value"], props, title="Properties (computed)")] if props else [],
            figures=[figure] if figure else [],
            pre=[{"label": "Save it as a named activation (then --acts " + name + "):",
                  "text": save_command(details.get("formula", f.formula), name, details.get("params"))}]))
    title = f"actlab search — {config.get('task')} ({config.get('space')}, depth {config.get('depth')})"
    status = (f"{funnel['generated']} generated → {funnel['distinct']} distinct → {funnel['screened']} screened → "
              f"{funnel['raced']} raced → {funnel['final']} final.")
    return {"title": title, "pick": pick, "headline": headline, "status": status,
            "warnings": [plan["note"]] if plan.get("note") else [], "sections": sections}


def write_report(out: str | Path) -> Path:
    """Write ``out/report.html`` from the store; returns its path."""
    from actlab.search.results import summarize

    out = Path(out)
    html = render_html(build_view(summarize(out)))
    path = out / "report.html"
    path.write_text(re.sub(r"[ \t]+\n", "\n", html), encoding="utf-8")
    return path

