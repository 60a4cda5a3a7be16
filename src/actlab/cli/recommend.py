"""``actlab recommend``: which activation, and why — thin; :mod:`actlab.report.recommend` decides."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from actlab.cli.app import app, console, print_json
from actlab.cli.options import JsonFlag, path_value

__all__ = ["recommend_command"]


def _evidence_text(item: dict[str, Any]) -> str:
    if item["kind"] == "property":
        values = ", ".join(f"{k} = {v}" for k, v in item["values"].items())
        return f"property {values} — {item['reference']}"
    if item["kind"] == "cost":
        return f"measured cost {item['relative_cost']}× ReLU"
    accuracy = item["metric"] == "test accuracy"

    def number(value: float, sign: str = "") -> str:
        return f"{100 * value:{sign}.2f}" if accuracy else f"{value:{sign}.4g}"

    text = f"measured on {item['dataset']} (depth {item['depth']}): {item['metric']} mean " + (
        "—" if item["mean"] is None else number(item["mean"]) + (" %" if accuracy else "")) + (
        f" over {item['seeds']} seed(s), {item['diverged']} diverged")
    if item.get("difference") is not None:
        text += f", behind the best by {number(item['difference'], '+')}" + (" points" if accuracy else "")
        if item.get("ci95"):
            text += f" (95 % CI [{number(item['ci95'][0], '+')}, {number(item['ci95'][1], '+')}])"
    return text


@app.command("recommend")
def recommend_command(
    task: Annotated[str, typer.Option("--task", help="classification or regression.")] = "classification",
    depth: Annotated[int, typer.Option("--depth", help="Hidden layers of your net.", max=100_000)] = 2,
    normalization: Annotated[str, typer.Option("--normalization", help="none, batch or layer.")] = "none",
    budget: Annotated[str, typer.Option("--budget", help="fast (cost counts) or any.")] = "any",
    run_dirs: Annotated[Optional[list[Path]], typer.Option(
        "--from", parser=path_value, help="A sweep directory (actlab compare --out) whose results count as evidence (repeatable).")] = None,
    json: JsonFlag = False,
) -> None:
    """Which activation, and why: ranked from the property table, the literature the catalog cites, and
    measured results (--from RUN_DIR)."""
    from actlab.report.recommend import recommend

    result = recommend(task=task, depth=depth, normalization=normalization, budget=budget, run_dirs=run_dirs or [])
    if json:
        print_json(result)
        return
    inputs = result["inputs"]
    console.print(f"actlab recommend — {inputs['task']}, depth {inputs['depth']}, normalization "
                  f"{inputs['normalization']}, budget {inputs['budget']}", highlight=False, soft_wrap=True)
    console.print(f"Measurements: {inputs['measurements']}", highlight=False, soft_wrap=True)
    console.print(f"How: {result['method']}", highlight=False, soft_wrap=True, markup=False)
    for rank, rec in enumerate(result["recommendations"], 1):
        tie = " (tied: not separated by the evidence)" if rec.get("tied") else ""
        console.print(f"\n{rank}. [bold]{rec['activation']}[/]{tie} — " + "; ".join(rec["reasons"]),
                      highlight=False, soft_wrap=True)
        for item in rec["evidence"]:
            console.print(f"     · {_evidence_text(item)}", highlight=False, soft_wrap=True, markup=False)
        if rec.get("critical_init"):
            init = rec["critical_init"]
            console.print(f"     · init on the edge of chaos (--init critical): σ_w² = {init['weight_variance']:.4g}, "
                          f"σ_b² = {init['bias_variance']:g}", highlight=False, soft_wrap=True, markup=False)
    if result["ranked_lower"]:
        console.print("\nRanked lower:", highlight=False)
        for item in result["ranked_lower"]:
            console.print(f"  {item['activation']} — " + "; ".join(item["reasons"]), highlight=False,
                          soft_wrap=True, markup=False)
    console.print(f"\nTry next: {result['next']}", highlight=False, soft_wrap=True, markup=False)
