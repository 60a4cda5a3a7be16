"""``actlab compare``, ``actlab report``, ``actlab export``: sweeps, their report and their data.

Thin: options are parsed here; :mod:`actlab.sweep` resolves and runs the sweep,
:mod:`actlab.store` keeps the results, :mod:`actlab.report` writes the report.
"""
from __future__ import annotations

import inspect
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Group
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from actlab.cli.app import app, console, err_console, fail, print_json
from actlab.cli.decision import end_with_decision, print_summary, summary_json
from actlab.cli.names import check_acts
from actlab.cli.options import path_value, table_parameters
from actlab.cli.step_scores import step_score_groups

__all__ = ["compare_command", "end_with_decision", "export_command", "print_summary", "report_command", "summary_json"]


def _typed_command() -> str:
    """The command line as typed, when this process is the ``actlab`` script; else empty."""
    if sys.argv and Path(sys.argv[0]).name == "actlab":
        return shlex.join(["actlab", *sys.argv[1:]])
    return ""


class _Display:
    """Progress on stderr: overall bar with ETA, current epoch, live best validation score per activation."""

    def __init__(self, plan: Any, completed: int) -> None:
        self.labels = plan.labels
        self.epochs = getattr(plan, "eval_points", None) or plan.config["epochs"]  # evaluation points per run (epochs, unless --steps / --eval-every)
        self.unit = "epoch" if plan.config.get("steps") is None and plan.config.get("eval_every", 1) == 1 \
            else "evaluation"
        self.classification = plan.dataset.task == "classification"
        self.text = (getattr(plan.dataset, "extra", None) or {}).get("kind") == "text"  # language modelling: bits per character
        if self.text:
            self.classification = False
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("epochs" if plan.config.get("steps") is None and plan.config.get("eval_every", 1) == 1
                       else "evaluations"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err_console,
        )
        total = len(self.labels) * self.epochs
        self.task = self.progress.add_task("compare", total=total, completed=completed)
        self.best: dict[str, float] = {}
        self.run_best: dict[str, float] = {}  # run id → its best validation score so far
        self.diverged: dict[str, int] = {}  # label → runs that failed to learn (diverged, chance level, exploded)
        self.current_epoch = 0
        self.config = plan.config  # the sweep writes its compile decision here before training
        self.started = time.monotonic()
        self.live = Live(Group(self.progress, self), console=err_console, refresh_per_second=4, transient=False)
        from actlab.cli.live import FailureWatch, PlainProgress

        self.watch = FailureWatch(plan.config, self.classification)
        stored = completed if isinstance(completed, int) else 0
        self.runs_done = stored // max(self.epochs, 1)  # runs whose every point is stored
        self.plain = None if err_console.is_terminal else PlainProgress(
            "progress", len(plan.labels), total, stored, self.runs_done, lambda line: err_console.print(
                line, highlight=False, markup=False, soft_wrap=True))

    def __rich__(self) -> Table:
        title = f"{self.unit} {self.current_epoch}/{self.epochs}"
        if self.current_epoch == 0 and self.config.get("compile_used"):  # announce the compilation pause
            title = f"compiling… {time.monotonic() - self.started:.0f} s (torch.compile, once per shape)"
        table = Table(title=title, title_justify="left", box=None,
                      padding=(0, 1))
        table.add_column("activation")
        table.add_column("best val " + ("acc." if self.classification else "bpc" if self.text else "loss"),
                         justify="right")
        table.add_column("failed to learn", justify="right")
        for label in dict.fromkeys(self.labels.values()):
            value = self.best.get(label)
            text = "—" if value is None else (f"{100 * value:.2f} %" if self.classification else
                                             f"{value / math.log(2):.4f}" if self.text else f"{value:.4g}")
            if value is None and self.diverged.get(label):
                text = "failed to learn"
            table.add_row(label, text, str(self.diverged.get(label, "")))
        return table

    def _rescore(self, label: str) -> None:
        """The label's best score over its runs that have not failed to learn."""
        scores = [v for run_id, v in self.run_best.items()
                  if self.labels.get(run_id, run_id) == label and run_id not in self.watch.failed]
        if scores:
            self.best[label] = max(scores) if self.classification else min(scores)
        else:
            self.best.pop(label, None)

    def __call__(self, event: Any) -> None:
        from actlab.train import EpochEnd, RunDiverged, RunEnd

        label = self.labels.get(event.run_id, event.run_id)
        if isinstance(event, EpochEnd):
            self.current_epoch = max(self.current_epoch, event.epoch) if event.epoch > 1 else event.epoch
            self.progress.advance(self.task, 1)
            self.watch.epoch(event)
            value = event.val_accuracy if self.classification else event.val_loss
            if value is not None and math.isfinite(value):
                old = self.run_best.get(event.run_id)
                if old is None or (value > old if self.classification else value < old):
                    self.run_best[event.run_id] = value
                    self._rescore(label)
        elif isinstance(event, RunDiverged):
            self.watch.failed[event.run_id] = event.reason
            self.diverged[label] = self.diverged.get(label, 0) + 1
            self.runs_done += 1
            self.progress.advance(self.task, max(0, self.epochs - event.epoch + 1))
            self._rescore(label)
        elif isinstance(event, RunEnd):
            self.runs_done += 1
            if self.watch.ended(event):
                self.diverged[label] = self.diverged.get(label, 0) + 1
                self._rescore(label)
        elif type(event).__name__ == "EngineNote":  # which engine trains a user model's seeds, and why
            err_console.print(f"{label}: {event.engine} engine ({event.reason})", highlight=False, soft_wrap=True)
        if self.plain is not None:
            from actlab.cli.live import leader_text

            task = self.progress.tasks[0]
            self.plain.update(int(task.completed), self.runs_done, self.current_epoch,
                              leader_text(self.best, set(), self.classification))


def write_report_or_fail(run_dir: Path, then: str, **options: Any) -> dict[str, Path]:
    """``write_report`` with a message, not a traceback, when a file cannot be written (full disk, read-only)."""
    from actlab.errors import storage_error
    from actlab.report import write_report

    try:
        return write_report(run_dir, **options)
    except OSError as error:
        where = error.filename or options.get("out_dir") or run_dir
        raise storage_error(where, error, then=then, elsewhere="write the report elsewhere with "
                            f"actlab report {shlex.quote(str(run_dir))} --out DIR") from None


def run_compare(options: dict[str, Any], *, config_file: Path | None, resume: bool, quiet: bool,
                json: bool, command: str = "") -> int:
    """Plan, train, report, print the decision; returns the exit code (0; 3 when every activation failed to learn;
    130 when interrupted)."""
    from actlab import sweep
    from actlab.store import Store

    plan = sweep.plan_from_options(options, config_file=config_file, resume=resume)
    done: set[str] = set()
    completed = 0  # epochs already stored (a resumed run continues after its last one)
    if (plan.out / "results.sqlite").is_file():
        from actlab.store.extend import last_epochs

        epochs = plan.eval_points
        with Store(plan.out, readonly=True) as store:
            runs, stored = store.runs(), last_epochs(store)
        done = {r.run_id for r in runs if r.status == "diverged" or (r.status == "finished"
                                                                      and stored.get(r.run_id, 0) >= epochs)}
        completed = sum(epochs if r.status == "diverged" else min(stored.get(r.run_id, 0), epochs)
                        for r in runs if r.run_id in plan.labels)
    if plan.config.get("val_size") == 0 and not json:
        err_console.print("no validation split (--val-size 0): each run reports its final evaluation point, and the "
                          "test split is read only then", highlight=False, soft_wrap=True)
    if plan.config.get("model_note") and not json:  # what was swapped, and any functional call that was not
        err_console.print(plan.config["model_note"], highlight=False, soft_wrap=True)
    display = None if quiet or json else _Display(plan, completed)
    if display is not None:
        err_console.print(f"actlab compare: {len(plan.runs)} runs ({len(done & set(plan.labels))} already done, "
                          f"{completed} of {len(plan.labels) * plan.eval_points} evaluation points stored) "
                          f"on {plan.dataset.name} → {plan.out}", highlight=False, soft_wrap=True)
        display.live.start()
    import torch

    # Flush subnormal floats to zero while training (back to torch's default after).  Saturated
    # activations produce them as training goes on, and CPU math on them is slow: the 20-epoch demo
    # took 4 % longer without (epochs 3.3 s → 3.6 s by the end); only values below 1.2e-38 change.
    torch.set_flush_denormal(True)
    from actlab.compile_policy import compile_seconds

    compiled_before = compile_seconds()
    try:
        outcome = sweep.run_sweep(plan, command=command or _typed_command() or None, on_event=display)
    finally:
        torch.set_flush_denormal(False)
        if display is not None:
            display.live.stop()
            if not err_console.is_terminal:
                err_console.print()
    if outcome.interrupted:
        err_console.print(
            f"Interrupted: {outcome.finished} of {outcome.total} runs finished, {outcome.epochs_stored} of "
            f"{outcome.epochs_planned} epochs stored and checkpointed (unfinished runs continue from their last "
            f"epoch); resume with: {outcome.resume_command}",
            highlight=False, soft_wrap=True,
        )
        return 130
    paths = write_report_or_fail(plan.out, f"run actlab report {shlex.quote(str(plan.out))} (the results are "
                                 "stored)")
    summary = summary_json(plan.out, paths["html"])
    if json:
        summary["compile_seconds"] = round(compile_seconds() - compiled_before, 3)  # part of wall_seconds
        print_json(summary)
        return summary["exit_code"]
    if not quiet:
        diverged = f", {len(outcome.diverged)} diverged" if outcome.diverged else ""
        if outcome.extended_from is not None:
            diverged += f"; extended from {outcome.extended_from} to {plan.config['epochs']} epochs"
        from actlab.cli.sizes import print_sizes

        print_sizes(plan.out)
        console.print(f"{outcome.total} runs done{diverged} ({outcome.skipped} stored before this run; Markdown "
                      f"report: {paths['markdown']}).", highlight=False, soft_wrap=True)
    return print_summary(summary)


def _options_signature() -> inspect.Signature:
    """``actlab compare``'s options, derived from the options table (one row per option)."""
    parameters = table_parameters("compare")
    extra = {
        "config": (Optional[Path], typer.Option("--config", parser=path_value, help="TOML file with the same keys (CLI options override it).")),
        "resume": (bool, typer.Option("--resume", help="Continue the sweep in --out, reusing its stored options.")),
        "quiet": (bool, typer.Option("--quiet", help="No progress display (the decision is still printed).")),
        "json": (bool, typer.Option("--json", help="Print a JSON summary to stdout (no progress display).")),
    }
    for name, (kind, info) in extra.items():
        parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                            default=None if name == "config" else False,
                                            annotation=Annotated[kind, info]))
    return inspect.Signature(parameters)


def compare_command(**given: Any) -> None:
    """Train each activation with several seeds on one dataset; store every epoch; write a report.

    Re-running the same options into the same --out resumes (finished runs are
    skipped, unfinished ones continue from their last epoch's checkpoint; a larger
    --epochs extends them). Ctrl-C or SIGTERM stops within a training step (exit 130)
    and prints the resume command; a second one stops at once. A second compare on
    a directory in use is refused (exit 2). It ends with the decision (the report's
    headline, the rule that decided, the top of the decision table, the report's
    path), --quiet too; exit code 3 when every activation failed to learn.
    """
    config, resume, quiet, json = given.pop("config"), given.pop("resume"), given.pop("quiet"), given.pop("json")
    check_acts(given.get("acts"))  # a typo is refused before torch is imported
    if given.get("lr") is not None and given.get("lr_grid") is not None:
        fail("give either --lr or --lr-grid, not both")
    if given.get("clip_value") is not None and given.get("clip_norm") is not None:
        fail("give either --clip-value or --clip-norm, not both")
    if resume and given.get("out") is None and config is None:
        fail("--resume needs --out (the directory of the sweep to continue)")
    code = run_compare(given, config_file=config, resume=resume, quiet=quiet, json=json)
    if code:
        raise typer.Exit(code)


compare_command.__signature__ = _options_signature()  # type: ignore[attr-defined]
compare_command.__annotations__ = {p.name: p.annotation for p in compare_command.__signature__.parameters.values()}
app.command("compare")(compare_command)


def _existing_store(run_dir: Path) -> Path:
    from actlab.store import is_store

    if not run_dir.is_dir():
        fail(f"{run_dir} is not a directory")
    if not is_store(run_dir):
        fail(f"{run_dir} holds no actlab results (results.sqlite not found)")
    return run_dir


@app.command("report")
def report_command(
    run_dir: Annotated[Path, typer.Argument(parser=path_value, help="A sweep directory (holds results.sqlite).")],
    json: Annotated[bool, typer.Option("--json", help="Print the ranking as JSON too.")] = False,
    margin: Annotated[Optional[float], typer.Option("--margin", help="Practical-equivalence margin: points of accuracy "
                      "(regression: % of the best loss). [default: the sweep's --margin, else 0.2 points; 5 %]")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", parser=path_value, help="Write the report here instead of RUN_DIR (for a "
                   "read-only sweep directory; the store is only read).")] = None,
) -> None:
    """Regenerate RUN_DIR/report.html and report.md (figures in RUN_DIR/figures) from the store (opened read-only)."""
    import os

    from actlab.store import make_dir

    _existing_store(run_dir)
    if margin is not None and not (math.isfinite(margin) and margin >= 0):
        fail(f"--margin must be a finite number ≥ 0, got {margin}")
    target = run_dir if out is None else out
    if out is not None:
        make_dir(out)
    if not os.access(target, os.W_OK) or not os.access(target / "figures" if (target / "figures").exists()
                                                        else target, os.W_OK):
        fail(f"{target} is not writable, so the report cannot be written there; the store is only read: write the "
             f"report elsewhere with --out DIR (e.g. actlab report {shlex.quote(str(run_dir))} --out report-copy)")
    paths = write_report_or_fail(run_dir, f"run actlab report {shlex.quote(str(run_dir))} again",
                                 margin=margin, out_dir=out)
    summary = summary_json(run_dir, paths["html"])
    if json:
        print_json(summary)
    else:
        print_summary(summary)


@app.command("export")
def export_command(
    run_dir: Annotated[Path, typer.Argument(parser=path_value, help="A sweep directory (holds results.sqlite).")],
    csv: Annotated[Optional[Path], typer.Option("--csv", parser=path_value, help="Write runs.csv and epochs.csv into this directory.")] = None,
    parquet: Annotated[Optional[Path], typer.Option("--parquet", parser=path_value, help="Write runs.parquet and epochs.parquet into this directory.")] = None,
    tensorboard: Annotated[Optional[Path], typer.Option("--tensorboard", parser=path_value, help="Write TensorBoard event files (one subdirectory per run; scalars and HParams).")] = None,
    last_steps: Annotated[Optional[int], typer.Option("--last-steps", help="Score each run by the mean training loss "
                          "of its last N steps (needs a sweep run with --log-every-step): printed per activation, "
                          "and written to step_scores.csv with --csv.")] = None,
) -> None:
    """Export a sweep's runs, evaluation points and per-step losses as CSV, Parquet or TensorBoard scalars."""
    from actlab import store as export

    _existing_store(run_dir)
    if last_steps is not None and last_steps < 1:
        fail(f"--last-steps must be at least 1, got {last_steps}")
    if csv is None and parquet is None and tensorboard is None and last_steps is None:
        fail("say what to export: --csv DIR, --parquet DIR, --tensorboard DIR and/or --last-steps N")
    started = time.monotonic()
    written: list[Path] = []
    if last_steps is not None:
        _print_step_scores(run_dir, last_steps)
    if csv is not None:
        written += export.to_csv(run_dir, csv, last_steps)
    if parquet is not None:
        written += export.to_parquet(run_dir, parquet)
    if tensorboard is not None:
        written += export.to_tensorboard(run_dir, tensorboard)
    if not written:
        return
    console.print(f"wrote {len(written)} files in {time.monotonic() - started:.1f} s: "
                  + ", ".join(str(p) for p in written[:6]) + (" …" if len(written) > 6 else ""),
                  highlight=False, soft_wrap=True)



def _print_step_scores(run_dir: Path, last: int) -> None:
    """Per activation (and lr): mean ± std over seeds of each run's mean training loss over its last ``last``
    steps."""
    from actlab.store.export import step_scores

    scores = step_scores(run_dir, last)
    if not scores:
        fail(f"{run_dir} holds no per-step losses: run the sweep with --log-every-step")
    table = Table(title=f"mean training loss of the last {last} steps (per run; mean ± std over seeds)",
                  title_justify="left", box=None, padding=(0, 1))
    for column in ("activation", "lr", "runs", "mean", "std"):
        table.add_column(column, justify="left" if column == "activation" else "right")
    for (label, lr), values, finite, mean, std in step_score_groups(scores):
        table.add_row(label, f"{lr:g}" if lr is not None else "—", f"{len(finite)}/{len(values)}",
                      f"{math.nan if mean is None else mean:.4f}", f"{math.nan if std is None else std:.4f}")
    console.print(table)
