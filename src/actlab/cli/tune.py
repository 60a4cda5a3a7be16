"""``actlab tune``: an Optuna search per activation, then the comparison at each one's best settings.

Thin: options are parsed here; :func:`actlab.sweep.tune.tune` searches, compares and reports.
The fixed options are ``compare``'s (derived from the options table); ``--space`` names the searched ones.
"""
from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from actlab.cli.app import app, console, err_console, print_json
from actlab.cli.options import table_parameters

__all__ = ["tune_command", "tune_json"]


class _TrialDisplay:
    """Progress on stderr while searching: one line per activation (trials, pruned, best score)."""

    def __init__(self, trials: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.trials = trials
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("trials {task.fields[note]}"), TimeElapsedColumn(), console=err_console)
        self.tasks: dict[str, Any] = {}
        self.pruned: dict[str, int] = {}

    def __call__(self, ended: Any) -> None:
        if ended.label not in self.tasks:
            self.tasks[ended.label] = self.progress.add_task(ended.label, total=self.trials, note="")
        if ended.state != "complete":
            self.pruned[ended.label] = self.pruned.get(ended.label, 0) + 1
        best = ended.best_value
        shown = "—" if best is None else (f"{100 * best:.2f} %" if "accuracy" in ended.objective else f"{best:.4g}")
        note = f"best {shown}, {self.pruned.get(ended.label, 0)} pruned"
        self.progress.update(self.tasks[ended.label], completed=ended.counted, note=note)


def tune_json(outcome: Any) -> dict[str, Any]:
    """What ``--json`` prints: the search per activation, then the comparison's ranking (as ``compare --json``)."""
    from actlab.cli.compare import summary_json

    data: dict[str, Any] = {"out": str(outcome.out), "interrupted": outcome.interrupted,
                            "search_seconds_this_session": outcome.search_seconds, "trials_run": outcome.trials_run,
                            "search": {label: {"settings": outcome.settings.get(label), **study}
                                       for label, study in outcome.studies.items()}}
    if outcome.interrupted:
        data["resume_command"] = outcome.resume_command
    else:
        data["comparison"] = summary_json(Path(outcome.out))
    return data


def _signature() -> inspect.Signature:
    from actlab.sweep.space import DEFAULT_SPACE

    parameters = table_parameters("tune")  # compare's options but --lr-grid (tune searches lr)
    own = {
        "trials": (int, 30, typer.Option("--trials", help="Trials per activation (finished + pruned).")),
        "space": (Optional[str], None, typer.Option(
            "--space", help="Searched options: name=lo:hi (whole numbers when both ends are), name=lo:hi:log, "
                            "name=a|b|c; comma-separated. Names: depth, width, batch-size, optimizer, lr, momentum, "
                            f"weight-decay, clip-value, clip-norm, dropout, init. [default: {DEFAULT_SPACE}, less "
                            "the options given a value]")),
        "pruner": (str, "median", typer.Option("--pruner", help="median (Optuna's MedianPruner on the validation "
                                                                 "accuracy after each epoch) or none.")),
        "quiet": (bool, False, typer.Option("--quiet", help="No progress display.")),
        "json": (bool, False, typer.Option("--json", help="Print a JSON summary to stdout (no progress display).")),
    }
    for name, (kind, default, info) in own.items():
        parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=Annotated[kind, info]))
    return inspect.Signature(parameters)


def tune_command(**given: Any) -> None:
    """Tune each activation's settings with Optuna (TPE, median pruning), then compare them each at its best.

    One study per activation in OUT/optuna.sqlite; each trial trains one run (seed 0)
    for --epochs epochs and scores the validation accuracy. Then every activation is
    re-run at its best trial's settings with --seeds seeds into OUT/results.sqlite and
    reported like compare (plus a section on the search: best settings, trials,
    importance). Re-running the same command resumes (studies continue up to --trials;
    a trial cut short by a kill is tried again). Ctrl-C stops within a training step (exit 130).
    """
    import torch

    from actlab.cli.decision import end_with_decision
    from actlab.sweep.tune import tune

    trials, space, pruner = given.pop("trials"), given.pop("space"), given.pop("pruner")
    engine = given.pop("engine") or "local"  # the table's --engine; tune's default is local
    quiet, json = given.pop("quiet"), given.pop("json")
    show = not (quiet or json)
    state: dict[str, Any] = {}

    def start() -> None:  # at the first epoch: bad options fail before any display
        if show and "started" not in state:
            state["started"] = True
            state["trials"] = _TrialDisplay(trials)
            state["live"] = state["trials"].progress
            err_console.print(f"actlab tune: {trials} trials per activation → {given.get('out') or 'runs/'}",
                              highlight=False)
            state["trials"].progress.start()

    def on_trial(ended: Any) -> None:
        start()
        if "trials" in state:
            state["trials"](ended)

    def on_comparison(plan: Any) -> None:
        _stop_live(state)
        state["started"] = True
        if show:
            from actlab.cli.compare import _Display

            display = _Display(plan, _epochs_done(plan))
            err_console.print(f"actlab tune: comparing at the tuned settings, {len(plan.runs)} runs → {plan.out}",
                              highlight=False)
            display.live.start()
            state["live"], state["display"] = display.live, display

    def on_event(event: Any) -> None:
        if "display" in state:
            state["display"](event)
        else:
            start()
    torch.set_flush_denormal(True)  # as compare: subnormal floats are slow on the CPU
    try:
        outcome = tune(given, trials=trials, space=space, pruner=pruner, engine=engine, on_trial=on_trial,
                       on_event=on_event, on_comparison=on_comparison)
    finally:
        torch.set_flush_denormal(False)
        _stop_live(state)
    if outcome.interrupted:
        err_console.print(f"Interrupted: {outcome.trials_run} trials ended in this run; the studies and the "
                          f"comparison keep what finished. Resume with: {outcome.resume_command}",
                          highlight=False, soft_wrap=True)
        if json:
            print_json(tune_json(outcome))
        raise typer.Exit(130)
    if json:
        print_json(tune_json(outcome))
    elif not quiet:
        for label, settings in outcome.settings.items():
            study = outcome.studies[label]
            shown = ", ".join(f"{k.replace('_', '-')} {_short(v)}" for k, v in settings.items())
            console.print(f"{label}: {shown} ({study['complete']} finished, {study['pruned']} pruned)",
                          highlight=False, soft_wrap=True)
    end_with_decision(outcome.out, json=json)


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) and math.isfinite(value) else str(value)


def _stop_live(state: dict[str, Any]) -> None:
    live = state.pop("live", None)
    if live is not None:
        live.stop()
    state.pop("trials", None)


def _epochs_done(plan: Any) -> int:
    from actlab.store import Store, is_store

    if not is_store(plan.out):
        return 0
    from actlab.store.extend import last_epochs

    with Store(plan.out, create=False) as store:
        stored = last_epochs(store)
    return sum(min(stored.get(run_id, 0), plan.config["epochs"]) for run_id in plan.labels)


tune_command.__signature__ = _signature()  # type: ignore[attr-defined]
tune_command.__annotations__ = {p.name: p.annotation for p in tune_command.__signature__.parameters.values()}
app.command("tune")(tune_command)
