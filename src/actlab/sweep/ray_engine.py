"""The Ray engine: each training cell is a Ray task; workers stream events back, the driver alone writes.

A *cell* is what the local grid engine trains in one go (:func:`actlab.train.engine.plan_cells`: the
runs that share an architecture, stacked; a run with learnable activation parameters alone), so a
task keeps the vectorised speed-up.  A task is a Ray streaming generator: it yields each event as
the trainer emits it and, after each epoch, the cell's checkpoint (serialised bytes).  The driver
writes the events into the store and the checkpoints into ``RUN_DIR/checkpoints`` in the order they
were yielded — the order the local engine writes them — so a sweep interrupted under Ray can be
finished locally and vice versa.  Workers never touch the run directory: a task receives its
cell's last checkpoint as bytes, so the driver's disk need not be shared with the cluster.

A task carries plain data only (:class:`CellTask`): the training config (precision resolved on the
driver), the runs, the options the dataset is loaded from (never the data), and for saved formulas
their expression and parameter values (a worker cannot resolve the driver's saved names).  Workers
load the dataset themselves (cached per worker process) and use ``cpus_per_task`` torch threads.

A worker that dies is retried by Ray (``max_retries``); the retry starts again from the checkpoint
the task was given and yields again what the first attempt yielded (the same numbers), which the
driver drops: each event is taken once per ``(kind, run, epoch)`` and a checkpoint only when it is
newer than the last one written.  The store's writes are upserts besides.
"""
from __future__ import annotations

import dataclasses
import io
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from actlab.errors import ActlabError

__all__ = ["INSTALL", "CRASH_ONCE_ENV", "CellTask", "Deduplicator", "import_ray", "ensure_ray", "cell_tasks",
           "stream_cells", "train_cell", "train_plan_on_ray"]

INSTALL = "pip install 'actlab[ray]'"
DATASET_KEYS = ("dataset", "target", "subset", "model")  # the options a worker loads its dataset from
CRASH_ONCE_ENV = "ACTLAB_RAY_CRASH_ONCE"  # tests only: a file path; the first attempt that finds none dies
POLL_SECONDS = 0.2  # how often the driver looks at its stop flag while waiting for events


def import_ray() -> Any:
    """The ``ray`` module, or :class:`ActlabError` (exit 2) with the install command."""
    try:
        import ray
    except ImportError:
        raise ActlabError(f"--engine ray needs Ray, which is not installed here; install it with: {INSTALL} "
                          "(or train locally with --engine grid: a sweep resumes on either engine)") from None
    return ray


def ensure_ray(address: str | None = None) -> float:
    """Connect to Ray once per process (``address``: None starts a local instance, "auto" finds a running
    one, "ray://head:10001" a remote cluster); returns the seconds ``ray.init`` took (0 when connected).

    The driver's SIGINT / SIGTERM handlers are kept: Ray's own would replace the sweep's stop-within-a-step.
    """
    ray = import_ray()
    if ray.is_initialized():
        return 0.0
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage-stats prompt or upload
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    started = time.monotonic()
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=True, logging_level="WARNING",
                 configure_logging=True, runtime_env={"worker_process_setup_hook": worker_setup})
    except (ConnectionError, ValueError, RuntimeError) as error:
        raise ActlabError(f"cannot start or reach Ray at {address or 'a new local instance'}: {error}") from None
    finally:
        if threading.current_thread() is threading.main_thread():
            for number, handler in handlers.items():
                if handler is not None:
                    signal.signal(number, handler)
    return time.monotonic() - started


def worker_setup() -> None:
    """Each Ray worker's start, on its main thread before any task: import SymPy and torch._dynamo (torch.optim
    imports it on first use) where nothing can interrupt them — a task's imports can be cut short by Ray's
    cancellation (a KeyboardInterrupt), which leaves the modules half-initialised for the worker's life."""
    import sympy  # noqa: F401
    import torch._dynamo  # noqa: F401


POISONED_EXIT = 75  # a worker whose SymPy / torch._dynamo import was interrupted exits with this status


def _import_heavy_modules() -> None:
    """Import SymPy and torch._dynamo before the trainer's thread starts (torch.optim imports them on first use).

    Where :func:`worker_setup` did not run (Ray started by the caller without it), a cancelled task's
    KeyboardInterrupt can land inside these imports and leave them half-initialised for the rest of the
    worker's life ("partially initialized module 'torch._dynamo' has no attribute 'decorators'").  Such a
    worker cannot recover, so it exits: Ray starts a fresh one and retries the task.
    """
    try:
        import sympy  # noqa: F401
        import torch._dynamo  # noqa: F401
    except Exception as error:  # noqa: BLE001 - any failure here is an import left half-done
        print(f"actlab: this Ray worker's imports are broken ({type(error).__name__}: {error}); "
              "exiting so that Ray retries the task on a fresh worker", file=sys.stderr, flush=True)
        os._exit(POISONED_EXIT)


# ------------------------------------------------------------------ what a task carries
@dataclass(frozen=True)
class CellTask:
    """One cell as a worker needs it: plain, picklable data (no tensors, no dataset, no local names)."""

    kind: str  # "grid" or "sequential" (the trainer)
    runs: tuple[Any, ...]  # actlab.train.RunSpec
    config: Any  # actlab.train.TrainConfig, its precision resolved on the driver
    dataset: Mapping[str, Any]  # DATASET_KEYS → value: the worker loads the data itself
    formulas: Mapping[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # saved name → (expression, params)
    checkpoint: bytes | None = None  # the cell's last checkpoint (None: start afresh)
    device: str = "cpu"
    threads: int = 1  # torch threads in the worker (cpus per task)
    compile: bool = False  # the driver's torch.compile decision for the job
    crash_marker: str | None = None  # tests only (CRASH_ONCE_ENV)

    @property
    def run_ids(self) -> list[str]:
        return [run.run_id for run in self.runs]


def _portable_formulas(runs: Sequence[Any], model: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Saved formulas by the name the runs use → (expression, parameter defaults); inline formulas and
    catalog names resolve anywhere and need nothing."""
    from actlab.models import resolve_activation
    from actlab.registry import is_identifier

    formulas = {}
    for run in runs:
        spec = resolve_activation(run.activation, {}, model)
        if spec.source != "catalog" and spec.expression is not None and is_identifier(run.activation.strip()):
            formulas[run.activation.strip()] = (spec.expression, dict(spec.defaults()))
    return formulas


def cell_tasks(plan: Any, cells: Sequence[tuple[str, list[Any]]], checkpoints: Any = None, *,
               device: str = "cpu", threads: int = 1) -> list[CellTask]:
    """A :class:`CellTask` per cell of ``plan`` (:class:`actlab.sweep.plan.Plan`), each with its last checkpoint."""
    from actlab.compile_policy import job_compiles
    from actlab.train.config import resolve_precision

    config = dataclasses.replace(plan.train_config, precision=resolve_precision(plan.train_config.precision, device))
    dataset = {key: plan.config.get(key) for key in DATASET_KEYS}
    from actlab.data.files import looks_like_path

    if looks_like_path(str(dataset["dataset"])) and os.path.isfile(dataset["dataset"]):
        dataset["dataset"] = os.path.abspath(dataset["dataset"])  # a worker's working directory is not ours
    marker = os.environ.get(CRASH_ONCE_ENV) or None
    tasks = []
    for kind, runs in cells:
        payload = None
        if checkpoints is not None:
            payload = checkpoints.for_cell(kind, [run.run_id for run in runs]).read_bytes()
        tasks.append(CellTask(kind, tuple(runs), config, dataset, _portable_formulas(runs, config.model), payload,
                              device, threads, job_compiles(), marker))
    return tasks


# ------------------------------------------------------------------ the worker side
_DATA_CACHE: dict[tuple, Any] = {}  # per worker process: (dataset options, device) → Prepared


def _register_formulas(formulas: Mapping[str, tuple[str, dict[str, Any]]]) -> None:
    from actlab import registry
    from actlab.formula.build import register_formula
    from actlab.resolve import ensure_saved_formulas

    ensure_saved_formulas()  # first, so that the driver's definitions replace this machine's
    for name, (expression, params) in formulas.items():
        known = registry.lookup(name)
        if known is None or known.expression != expression or known.defaults() != params:
            register_formula(name, expression, params)


def _prepared(task: CellTask) -> Any:
    from actlab.sweep.dataset import load_dataset
    from actlab.train.prepared import prepare

    key = (tuple(sorted((k, str(v)) for k, v in task.dataset.items())), task.device)
    if key not in _DATA_CACHE:
        _DATA_CACHE.clear()  # one dataset at a time per worker
        _DATA_CACHE[key] = prepare(load_dataset(task.dataset), task.config.model, task.device)
    return _DATA_CACHE[key]


def _streaming_checkpoint(task: CellTask, out: queue.Queue) -> Any:
    """A Checkpoint whose load() reads the task's bytes and whose save() sends the state to the driver."""
    import torch

    from actlab.train.checkpoint import Checkpoint

    class Streamed(Checkpoint):
        def load(self) -> dict[str, Any] | None:
            if task.checkpoint is None:
                return None
            return self.accept(torch.load(io.BytesIO(task.checkpoint), map_location="cpu", weights_only=True))

        def save(self, state: dict[str, Any]) -> None:
            buffer = io.BytesIO()
            torch.save(self.stamp(state), buffer)
            out.put(("checkpoint", int(state["epoch"]), buffer.getvalue()))

    return Streamed(None, task.run_ids)  # type: ignore[arg-type]


def train_cell(task: CellTask) -> Iterator[tuple]:
    """Train one cell (in a Ray worker); yields ``("event", event)``, ``("checkpoint", epoch, bytes)`` after
    each epoch, and last ``("results", {run_id: RunEnd | RunDiverged}, finished)``.

    The trainer runs in a thread so that its events stream out as they happen; when the generator is
    closed or cancelled (Ray raises KeyboardInterrupt in it), the trainer stops at its next step.
    """
    import torch

    from actlab.compile_policy import set_job_compile
    from actlab.sweep.probes import probes_for
    from actlab.train.grid import train_grid
    from actlab.train.sequential import train_sequential

    # no forked SymPy helper (actlab.formula.budget) in a Ray worker: a child forked from it keeps the
    # worker's connection to Ray open, so a worker that dies would never be seen dead (and never retried)
    os.environ["ACTLAB_FORMULA_WORKER"] = "0"
    _import_heavy_modules()
    torch.set_num_threads(max(1, int(task.threads)))
    set_job_compile(task.compile)
    _register_formulas(task.formulas)
    data = _prepared(task)
    out: queue.Queue = queue.Queue()
    stop = threading.Event()
    checkpoint = _streaming_checkpoint(task, out)

    def work() -> None:
        results: dict[str, Any] = {}
        try:
            trainer = train_grid if task.kind == "grid" else train_sequential
            if task.kind == "stacked":  # a user model's seeds (actlab.train.func_stack)
                from actlab.train.func_stack import train_stacked_or_sequential as trainer
            finished = trainer(data, task.config, list(task.runs), lambda event: out.put(("event", event)),
                               stop.is_set, results, checkpoint, probes_for(task.config))
            out.put(("results", results, bool(finished)))
        except BaseException as error:  # handed to the generator, which raises it in the task
            out.put(("error", error))

    thread = threading.Thread(target=work, name="actlab-cell", daemon=True)
    thread.start()
    try:
        while True:
            try:
                item = out.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if item[0] == "error":
                raise item[1]
            if item[0] == "checkpoint" and item[1] >= 2 and task.crash_marker:
                _crash_once(task.crash_marker)
            yield item
            if item[0] == "results":
                return
    finally:
        stop.set()
        while thread.is_alive():  # the trainer stops at its next step; a second cancellation must not leave it
            try:                  # running beside the next task this worker takes
                thread.join()
            except KeyboardInterrupt:
                continue


def _crash_once(marker: str) -> None:
    """Tests: the first attempt that finds no marker file writes it and dies like a killed worker."""
    try:
        with open(marker, "x") as handle:
            handle.write(f"{os.getpid()}\n")
    except FileExistsError:
        return
    time.sleep(0.3)  # let what was yielded reach the driver: the retry then repeats it
    os._exit(1)


# ------------------------------------------------------------------ the driver side
def stream_cells(tasks: Sequence[CellTask], *, address: str | None = None, cpus_per_task: int = 1,
                 gpus_per_task: float = 0.0, should_stop: Callable[[], bool] | None = None,
                 max_retries: int = 3) -> Iterator[tuple[int, tuple]]:
    """Run each task on Ray; yield ``(task index, item)`` (items of :func:`train_cell`) as they arrive.

    The reusable part of the engine (``actlab compare`` and a search use it).  Items a retried task
    repeats are yielded again; :class:`Deduplicator` drops them.  ``should_stop()`` is polled every
    :data:`POLL_SECONDS`; when it returns True, or the consumer closes the generator, or a second
    Ctrl-C raises KeyboardInterrupt, the tasks still running are cancelled.
    """
    ray = import_ray()
    ensure_ray(address)
    remote = ray.remote(train_cell).options(
        num_cpus=cpus_per_task, num_gpus=gpus_per_task, max_retries=max_retries, retry_exceptions=False,
        num_returns="streaming", name="actlab-cell")
    pending = {remote.remote(task): index for index, task in enumerate(tasks)}
    try:
        while pending:
            if should_stop is not None and should_stop():
                return
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_SECONDS)
            for generator in ready:
                try:
                    reference = next(generator)
                except StopIteration:
                    del pending[generator]
                    continue
                try:
                    item = ray.get(reference)
                except ray.exceptions.RayTaskError as error:
                    raise error.as_instanceof_cause() from None
                yield pending[generator], item
    finally:
        for generator in pending:
            ray.cancel(generator)


class Deduplicator:
    """Drops what a retried task repeats: an event seen before (by kind, run and epoch) and any
    checkpoint not newer than the last one taken, per task."""

    def __init__(self) -> None:
        self.seen: set[tuple] = set()
        self.checkpoint_epoch: dict[int, int] = {}

    def new_event(self, index: int, event: Any) -> bool:
        key = (type(event).__name__, event.run_id, getattr(event, "epoch", None))
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def new_checkpoint(self, index: int, epoch: int) -> bool:
        if epoch <= self.checkpoint_epoch.get(index, -1):
            return False
        self.checkpoint_epoch[index] = epoch
        return True


def train_plan_on_ray(plan: Any, cells: Sequence[tuple[str, list[Any]]], *, on_event: Callable[[Any], None],
                      should_stop: Callable[[], bool] | None, checkpoints: Any) -> dict[str, Any]:
    """Train ``cells`` of ``plan`` on Ray (``plan.config``'s address, cpus_per_task, gpus_per_task): each
    event goes to ``on_event`` once, each newer checkpoint into ``checkpoints``; returns run_id →
    RunEnd / RunDiverged for the runs that ended (the same as :func:`actlab.train.train_runs`)."""
    config = plan.config
    cpus = int(config.get("cpus_per_task") or 1)
    gpus = float(config.get("gpus_per_task") or 0.0)
    ensure_ray(config.get("address"))
    tasks = cell_tasks(plan, cells, checkpoints, device="cuda" if gpus > 0 else "cpu", threads=cpus)
    seen = Deduplicator()
    results: dict[str, Any] = {}
    for index, item in stream_cells(tasks, address=config.get("address"), cpus_per_task=cpus,
                                    gpus_per_task=gpus, should_stop=should_stop):
        if item[0] == "event":
            if seen.new_event(index, item[1]):
                on_event(item[1])
        elif item[0] == "checkpoint":
            if checkpoints is not None and seen.new_checkpoint(index, item[1]):
                task = tasks[index]
                checkpoints.for_cell(task.kind, task.run_ids).save_bytes(item[2])
        elif item[0] == "results":
            results.update(item[1])
    return results
