"""The decision as a command prints it: :func:`decision_summary` reads a sweep's store, and
:func:`summary_lines` turns that summary into the lines a training command ends with.

Every command that runs a sweep (``compare``, ``demo``, ``tune``, ``search``) and ``report`` ends with the
same summary: the report's headline (``Use …`` or ``Every activation failed to learn: …``), the rule that
decided, the decision table's top rows and the report's path; ``--json`` prints the same summary as JSON.
When every activation failed to learn, the command exits with :data:`ALL_FAILED_EXIT`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from actlab.report.decision import decide
from actlab.report.render import pick_line
from actlab.report.summary import summarize
from actlab.report.tables import _ranking_table
from actlab.report.tuning import random_start_warning

__all__ = ["ALL_FAILED_EXIT", "TOP_ROWS", "decision_summary", "summary_lines"]

ALL_FAILED_EXIT = 3  # the exit code of a sweep in which every activation failed to learn
TOP_ROWS = 5  # rows of the decision table printed in the terminal


def decision_summary(run_dir: str | Path, report: str | Path | None = None, *, margin: float | None = None,
                     top: int = TOP_ROWS) -> dict[str, Any]:
    """The decision of the sweep in ``run_dir`` as plain data, read from its store (the report's own words).

    ``report``: the report's path (default ``RUN_DIR/report.html``); ``margin``: as
    :func:`actlab.report.write_report` (None: the sweep's own). Keys: ``headline`` (the report's first line),
    ``explanation`` (the decision paragraph), ``decided_by``, ``all_failed``, ``exit_code``, ``table``
    (``header`` and the ``top`` first ``rows`` of the decision table), ``ranking`` (every activation),
    ``diverged`` and ``failed_to_learn`` (runs), ``best``, ``recommended``, the sweep's ``out``, ``device``,
    ``compiled``, ``wall_seconds``, ``metric`` and ``report``.
    """
    run_dir = Path(run_dir)
    data = summarize(run_dir)
    config = data.sweep.get("config", {})
    if margin is None:
        margin = config.get("margin")
    decision = decide(data, margin=margin)
    metric = "test_accuracy" if data.classification else "test_loss"
    header, rows = _ranking_table(data, decision)
    all_failed = data.all_failed and decision.recommended is None
    headline = decision.headline if all_failed else pick_line(data, decision)
    return {
        "out": str(run_dir),
        "report": str(report or run_dir / "report.html"),
        "headline": headline,
        "explanation": "" if all_failed else decision.headline,
        "recommended": None if decision.recommended is None else decision.recommended.label,
        "best": None if data.best is None else data.best.label,
        "decided_by": decision.decided_by or ("the only activation in the group" if decision.recommended else ""),
        "all_failed": all_failed,
        "exit_code": ALL_FAILED_EXIT if all_failed else 0,
        "warnings": list(decision.warnings) + [w for w in [random_start_warning(config)] if w],
        "table": {"header": header, "rows": rows[:top], "more": max(0, len(rows) - top)},
        "device": config.get("device_used"),
        "compiled": config.get("compile_used"),
        "wall_seconds": data.sweep.get("wall_seconds"),
        "metric": metric,
        "ranking": [
            {
                "activation": s.label,
                "lr": s.lr,
                f"{metric}_mean": s.mean,
                f"{metric}_std": s.std,
                "finished": len(s.finished),
                "diverged": len(s.diverged),
                "failed_to_learn": len(s.diverged) + len(s.failed),
                "vs_best": s.test_note,
                "p_holm": s.p_adjusted,
            }
            for s in data.summaries
        ],
        "diverged": [
            {"run_id": r.run_id, "activation": r.label, "seed": r.seed, "lr": r.lr,
             "epoch": r.diverged_epoch, "step": r.diverged_step, "reason": r.reason}
            for r in data.runs if r.status == "diverged"
        ],
        "failed_to_learn": [
            {"run_id": r.run_id, "activation": r.label, "seed": r.seed, "lr": r.lr, "status": r.status,
             "reason": data.failures[r.run_id]}
            for r in data.runs if r.run_id in data.failures
        ],
    }


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The summary as plain lines: headline, explanation, the rule that decided, the table's top rows, the path."""
    explanation = summary["explanation"]
    lines = [] if explanation.startswith(summary["headline"].rstrip(".") + ":") else [summary["headline"]]
    if explanation:
        lines.append(explanation)
    if summary["recommended"] and summary["decided_by"]:
        lines.append(f"Decided by: {summary['decided_by']}.")
    lines += [f"warning: {w}" for w in summary["warnings"]]
    table = summary["table"]
    if table["rows"]:
        cells = [table["header"], *table["rows"]]
        widths = [max(len(str(row[i])) for row in cells) for i in range(len(table["header"]))]
        lines.append("")
        for row in cells:
            lines.append("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
        if table["more"]:
            lines.append(f"… and {table['more']} more in the report")
    lines += ["", f"Report: {summary['report']}"]
    return lines
