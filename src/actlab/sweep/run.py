"""Running a planned sweep into its store: resume, Ctrl-C, the event sink, then the report.

Re-running the same config into the same directory resumes: finished and
diverged runs are skipped, unfinished ones continue from their cell's last
checkpoint (``RUN_DIR/checkpoints``), and a larger epoch budget extends finished
runs.  No epoch row is ever deleted: an epoch trained again after a crash is
rewritten with the same values.  One process at a time trains in a directory.
"""
from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actlab.errors import StorageError
from actlab.store import Store
from actlab.sweep.options import (
    reproduce_command,
)
from actlab.sweep.plan import Plan, plan_from_options
from actlab.sweep.sink import StoreSink


# ---------------------------------------------------------------- running
@dataclass
class Outcome:
    """What a sweep did: where, how many runs ended, whether it was interrupted."""

    out: Path
    total: int
    finished: int  # runs that ended (finished or diverged), including earlier sessions
    diverged: list[str] = field(default_factory=list)  # run ids
    trained: int = 0  # runs trained to their end by this call
    skipped: int = 0  # runs already done before this call
    interrupted: bool = False
    seconds: float = 0.0
    resume_command: str = ""
    epochs_stored: int = 0  # epoch rows in the store (all runs, all sessions)
    epochs_planned: int = 0  # what the sweep needs (runs × epochs, less what diverged runs skip)
    extended_from: int | None = None  # the previous epoch budget when this call extended the sweep
    extended_steps_from: int | None = None  # the previous step budget when this call extended a step sweep


class _StopFlag:
    def __init__(self, should_stop: Callable[[], bool] | None) -> None:
        self.set = False
        self._user = should_stop

    def __call__(self) -> bool:
        if not self.set and self._user is not None and self._user():
            self.set = True
        return self.set


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _signals_stop(flag: _StopFlag) -> Iterator[None]:
    """While training, the first Ctrl-C or SIGTERM asks the engine to stop at its next step; a second one raises
    KeyboardInterrupt at once (store writes roll back, checkpoints are renamed whole, so nothing is corrupted)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if flag.set:
            raise KeyboardInterrupt
        flag.set = True

    previous = {number: signal.signal(number, handler) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def open_store(plan: Plan, *, command: str) -> Store:
    """Open (or create) the plan's store and register its sweep and runs.

    A stored sweep with the same results identity but another epoch budget (an extension),
    or written before the budget left the fingerprint, takes the plan's config.
    """
    from actlab.store.extend import adopt_config

    store = Store(plan.out)
    try:
        store.validate()  # a damaged row is named now, before the sweep writes anything
        previous = store.sweep()
        if previous is not None and (previous["fingerprint"] != plan.fingerprint
                                     or previous["config"].get("epochs") != plan.config["epochs"]
                                     or previous["config"].get("steps") != plan.config.get("steps")):
            adopt_config(store, plan.config, plan.fingerprint, reproduce_command(plan.config))
        store.init_sweep(
            plan.config,
            plan.fingerprint,
            command=command,
            reproduce=reproduce_command(plan.config),
        )
        store.add_runs(plan.rows)
    except BaseException:
        store.close()
        raise
    return store


def run_sweep(
    plan: Plan,
    *,
    command: str | None = None,
    on_event: Callable[[Any], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: str = "cpu",
    handle_sigint: bool = True,
) -> Outcome:
    """Train what the store does not hold yet; record each epoch as it ends and checkpoint every cell after it.

    Holds the directory's lock (:class:`~actlab.sweep.lock.SweepLock`) throughout: a second
    sweep on the same directory is refused.  Unfinished runs continue from their cell's last
    checkpoint; finished runs with fewer epochs than ``plan`` asks for are extended from theirs.
    ``on_event`` sees every engine event after it is stored.  Ctrl-C / SIGTERM (with
    ``handle_sigint``) or ``should_stop()`` returning True stops the engine within a step; what
    finished stays committed and ``Outcome.interrupted`` is True.
    """
    from actlab.sweep.lock import SweepLock

    command = command or reproduce_command(plan.config)
    device = _job_device_and_compile(plan, device)
    from actlab.train.threads import job_threads

    try:
        with SweepLock(plan.out, command=command), job_threads() as threads:
            plan.config["threads_used"] = threads  # chosen from the load (actlab.train.threads)
            plan.config["not_applying"] = _not_applying(plan.config)  # the report leaves these out of the config
            return _run_locked(plan, command, on_event, should_stop, device, handle_sigint)
    except StorageError as error:  # a full disk, an I/O error: what was committed stays; say how to go on
        if error.kind not in ("full", "io"):
            raise
        from actlab.store.going_on import after_failed_write

        raise after_failed_write(error, plan.out, resume=reproduce_command(plan.config, resume=True),
                                 again=reproduce_command(plan.config)) from None
    finally:
        from actlab.compile_policy import set_job_compile

        set_job_compile(True)  # the decision was this job's: later direct engine calls use the size thresholds


def _run_locked(plan: Plan, command: str, on_event: Callable[[Any], None] | None,
                should_stop: Callable[[], bool] | None, device: str, handle_sigint: bool) -> Outcome:
    from actlab.store import is_store
    from actlab.store.extend import last_epochs, record_extension
    from actlab.sweep.probes import probes_for
    from actlab.train import RunDiverged, RunEnd, train_runs
    from actlab.train.checkpoint import CheckpointDir
    from actlab.train.engine import plan_cells

    started = time.monotonic()
    flag = _StopFlag(should_stop)
    previous_epochs = previous_steps = None
    if is_store(plan.out):
        with Store(plan.out, create=False) as old:
            sweep = old.sweep()
            previous_epochs = None if sweep is None else sweep["config"].get("epochs")
            previous_steps = None if sweep is None else sweep["config"].get("steps")
            from actlab.store.measured import read_costs, read_thumbnails

            read_costs(old)  # a damaged measured table is refused here, before anything is written
            read_thumbnails(old)
    store = open_store(plan, command=command)
    try:
        target = plan.eval_points
        status = {run.run_id: run.status for run in store.runs()}
        stored = last_epochs(store)

        def needs(run_id: str) -> bool:
            state = status.get(run_id, "pending")
            return state in ("pending", "running") or (state == "finished" and stored.get(run_id, 0) < target)

        engine = plan.config["engine"]
        cell_engine = "grid" if engine == "ray" else engine
        part_cells = [(part, plan_cells(part.train_config, part.runs, cell_engine, plan.config.get("grid_size")))
                      for part in plan.parts()]  # one TrainConfig per part (tune: one per activation)
        cells = [cell for _, some in part_cells for cell in some]
        todo = [run.run_id for _, cell in cells if any(needs(r.run_id) for r in cell) for run in cell
                if status.get(run.run_id) != "diverged"]
        outcome = Outcome(out=plan.out, total=len(plan.runs), finished=0, skipped=len(plan.runs) - len(todo))
        outcome.resume_command = reproduce_command(plan.config, resume=True)
        reopened = [run_id for run_id in todo if status.get(run_id) == "finished"]
        if previous_epochs is not None and plan.config["epochs"] > previous_epochs and plan.config.get("steps") is None:
            outcome.extended_from = previous_epochs
            record_extension(store, previous_epochs, plan.config["epochs"], len(reopened), command)
        if previous_steps is not None and (plan.config.get("steps") or 0) > previous_steps:
            outcome.extended_steps_from = previous_steps
        sink = StoreSink(store)

        def record(event: Any, notify: bool = True) -> None:
            sink(event)
            if notify and on_event is not None:
                on_event(event)

        results: dict[str, Any] = {}
        if todo:
            store.reopen(reopened)
            store.mark_running(todo)
            guard = _signals_stop(flag) if handle_sigint else _nothing()
            try:
                with guard:
                    for part, some in part_cells:
                        if engine == "ray":  # cells as Ray tasks; this process alone writes the store
                            from actlab.sweep.ray_engine import train_plan_on_ray

                            results.update(train_plan_on_ray(
                                part, [(kind, cell) for kind, cell in some if any(needs(r.run_id) for r in cell)],
                                on_event=record, should_stop=flag, checkpoints=CheckpointDir(plan.out)))
                        else:
                            results.update(train_runs(
                                part.dataset, part.train_config, part.runs, engine=engine, on_event=record,
                                should_stop=flag, device=device, checkpoints=CheckpointDir(plan.out),
                                skip_cell=lambda kind, cell: not any(needs(run.run_id) for run in cell),
                                grid_size=plan.config.get("grid_size"), probes=probes_for(part.train_config),
                            ) or {})
                        if flag.set:
                            break
            except KeyboardInterrupt:  # a second Ctrl-C: out at once, the open write (if any) undone
                flag.set = True
                if store._conn.in_transaction:
                    store._conn.execute("ROLLBACK")
            # the engine's return value is the record of truth; replaying is idempotent
            for result in results.values():
                if isinstance(result, (RunEnd, RunDiverged)):
                    record(result, notify=False)
        _conclude(store, plan, outcome, started, flag.set, results, set(todo))
        if not flag.set:  # what the report shows but does not compute: module cost, 2-D thumbnails (not training time)
            from actlab.sweep.measure import measure_sweep

            measure_sweep(store, plan, should_stop=flag)
    finally:
        store.close()
    return outcome


def _conclude(store: Store, plan: Plan, outcome: Outcome, started: float, stopped: bool,
              results: Mapping[str, Any], todo: set[str]) -> None:
    from actlab.store.extend import last_epochs
    from actlab.train import RunDiverged, RunEnd

    outcome.seconds = time.monotonic() - started
    store.add_wall_time(outcome.seconds)
    counts = store.status_counts()
    outcome.finished = counts["finished"] + counts["diverged"]
    runs = store.runs()
    outcome.diverged = [run.run_id for run in runs if run.status == "diverged"]
    outcome.trained = sum(1 for run_id, r in results.items()
                          if run_id in todo and isinstance(r, (RunEnd, RunDiverged)))
    stored = last_epochs(store)
    target = plan.eval_points
    outcome.epochs_stored = sum(min(stored.get(run.run_id, 0), target) for run in runs)
    outcome.epochs_planned = sum(run.diverged_epoch or target if run.status == "diverged" else target for run in runs)
    outcome.interrupted = stopped or outcome.finished < outcome.total


def _job_device_and_compile(plan: Plan, device: str) -> str:
    """The device to train on (``--device``, resolved) and the job's compile decision (``--compile``), both
    written into ``plan.config`` so the store records them (``device_used``, ``compile_used``)."""
    from actlab.compile_policy import decide, job_work, resolve_device, set_job_compile

    wanted = plan.config.get("device") or device
    if plan.config.get("engine") == "ray":  # the workers' device, whatever the driver has
        wanted = "cuda" if (plan.config.get("gpus_per_task") or 0) > 0 else "cpu"
    resolved = resolve_device(wanted) if plan.config.get("engine") != "ray" else wanted
    batch = int(plan.config.get("batch_size") or 128)
    steps = plan.train_config.total_steps(len(plan.dataset.x_train)) if plan.train_config is not None else \
        int(plan.config.get("epochs") or 1) * max(1, -(-len(plan.dataset.x_train) // batch))
    work = job_work(steps, len(plan.runs), batch * int(plan.config.get("width") or 1))
    compiles = decide(plan.config.get("compile") or "auto", work)
    set_job_compile(compiles)
    plan.config["device_used"] = resolved
    plan.config["compile_used"] = compiles
    return resolved


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def compare(
    options: Mapping[str, Any] | None = None,
    *,
    config_file: str | Path | None = None,
    resume: bool = False,
    report: bool = True,
    on_event: Callable[[Any], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    command: str | None = None,
    **keywords: Any,
) -> Outcome:
    """Resolve, check, train into the store and write the report. The Python face of ``actlab compare``.

    Options are the config keys (:data:`DEFAULTS`), as a mapping or keywords.
    """
    merged = {**(options or {}), **keywords}
    plan = plan_from_options(merged, config_file=config_file, resume=resume)
    outcome = run_sweep(plan, command=command, on_event=on_event, should_stop=should_stop)
    if report and not outcome.interrupted:
        from actlab.report import write_report

        write_report(plan.out)
    return outcome


def _not_applying(config: dict[str, Any]) -> list[str]:
    """The options that do not apply to ``config`` (the options table's ``applies``: momentum with Adam, …)."""
    from actlab.sweep.options import OPTIONS

    out = []
    for option in OPTIONS:
        if option.applies is None or option.key == "lr" or option.key not in config:
            continue
        try:
            if not option.applies(config):
                out.append(option.key)
        except (KeyError, TypeError, ValueError):
            continue
    return sorted(out)
