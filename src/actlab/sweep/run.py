"""Running a planned sweep into its store: resume, Ctrl-C, the event sink, then the report.

Re-running the same config into the same directory resumes: finished and
diverged runs are skipped, unfinished ones restart from scratch (their partial
epochs are deleted).
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
    trained: int = 0  # runs trained in this session
    skipped: int = 0  # runs already done before this session
    interrupted: bool = False
    seconds: float = 0.0
    resume_command: str = ""


class _StopFlag:
    def __init__(self, should_stop: Callable[[], bool] | None) -> None:
        self.set = False
        self._user = should_stop

    def __call__(self) -> bool:
        if not self.set and self._user is not None and self._user():
            self.set = True
        return self.set


@contextmanager
def _sigint_stops(flag: _StopFlag) -> Iterator[None]:
    """While training, the first Ctrl-C asks the engine to stop; a second one raises."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if flag.set:
            raise KeyboardInterrupt
        flag.set = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def open_store(plan: Plan, *, command: str) -> Store:
    """Open (or create) the plan's store and register its sweep and runs."""
    store = Store(plan.out)
    try:
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
    """Train every run of ``plan`` that the store does not hold yet; record each epoch as it ends.

    ``on_event`` sees every engine event after it is stored. Ctrl-C (with
    ``handle_sigint``) or ``should_stop()`` returning True stops the engine at
    its next check; what finished stays committed and ``Outcome.interrupted``
    is True.
    """
    from actlab.train import RunDiverged, RunEnd, train_runs

    command = command or reproduce_command(plan.config)
    device = _job_device_and_compile(plan, device)
    started = time.monotonic()
    flag = _StopFlag(should_stop)
    store = open_store(plan, command=command)
    try:
        todo_ids = set(store.reset_unfinished([row["run_id"] for row in plan.rows]))
        todo = [run for run in plan.runs if run.run_id in todo_ids]
        outcome = Outcome(out=plan.out, total=len(plan.runs), finished=0, skipped=len(plan.runs) - len(todo))
        outcome.resume_command = reproduce_command(plan.config, resume=True)

        sink = StoreSink(store)

        def record(event: Any, notify: bool = True) -> None:
            sink(event)
            if notify and on_event is not None:
                on_event(event)

        results: dict[str, Any] = {}
        if todo:
            store.mark_running([run.run_id for run in todo])
            guard = _sigint_stops(flag) if handle_sigint else _nothing()
            try:
                with guard:
                    results = train_runs(
                        plan.dataset, plan.train_config, todo,
                        engine=plan.config["engine"], on_event=record, should_stop=flag, device=device,
                    ) or {}
            except KeyboardInterrupt:
                flag.set = True
            # the engine's return value is the record of truth; replaying is idempotent
            for result in results.values():
                if isinstance(result, (RunEnd, RunDiverged)):
                    record(result, notify=False)
        outcome.seconds = time.monotonic() - started
        store.add_wall_time(outcome.seconds)
        counts = store.status_counts()
        outcome.finished = counts["finished"] + counts["diverged"]
        outcome.diverged = [run.run_id for run in store.runs("diverged")]
        outcome.trained = sum(1 for r in results.values() if isinstance(r, (RunEnd, RunDiverged)))
        outcome.interrupted = flag.set or outcome.finished < outcome.total
    finally:
        store.close()
        from actlab.compile_policy import set_job_compile

        set_job_compile(True)  # the decision was this job's: later direct engine calls use the size thresholds
    return outcome


def _job_device_and_compile(plan: Plan, device: str) -> str:
    """The device to train on (``--device``, resolved) and the job's compile decision (``--compile``), both
    written into ``plan.config`` so the store records them (``device_used``, ``compile_used``)."""
    from actlab.compile_policy import decide, job_work, resolve_device, set_job_compile

    wanted = plan.config.get("device") or device
    resolved = resolve_device(wanted)
    batch = int(plan.config.get("batch_size") or 128)
    steps = int(plan.config.get("epochs") or 1) * max(1, -(-len(plan.dataset.x_train) // batch))
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


