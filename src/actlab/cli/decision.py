"""The end of every sweep command: the decision summary (:func:`actlab.report.decision_summary`) printed, or as
JSON, and the exit code it implies (:data:`actlab.report.ALL_FAILED_EXIT` when every activation failed)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from actlab.cli.app import console

__all__ = ["end_with_decision", "print_summary", "summary_json"]


def summary_json(run_dir: Path, report: Path | None = None) -> dict[str, Any]:
    """What ``--json`` prints: :func:`actlab.report.decision_summary` (the decision, ranking, failed runs)."""
    from actlab.cli.step_scores import step_scores_json
    from actlab.report import decision_summary
    from actlab.store import Store

    summary = decision_summary(run_dir, report)
    with Store(run_dir, readonly=True) as store:  # --last-steps: the step scores beside the decision
        config = (store.sweep() or {}).get("config", {})
    summary.update(step_scores_json(run_dir, config.get("last_steps")))
    return summary


def end_with_decision(run_dir: Path, *, json: bool) -> None:
    """The end of a sweep command: print the decision (--json prints it in its own summary) and exit with
    :data:`actlab.report.ALL_FAILED_EXIT` when every activation failed to learn."""
    summary = summary_json(Path(run_dir))
    code = summary["exit_code"] if json else print_summary(summary)
    if code:
        raise typer.Exit(code)


def print_summary(summary: dict[str, Any]) -> int:
    """Print the decision summary (also with --quiet); returns the exit code it implies."""
    from actlab.report import summary_lines

    for line in summary_lines(summary):
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    return summary["exit_code"]
