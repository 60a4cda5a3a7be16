"""``train_runs``: train one architecture once per run (activation × seed × lr), grid or sequential.

Each cell of runs goes to one engine (stacked grid, or sequential) and the driver
(:mod:`actlab.train.driver`) trains it: the budget, the evaluation points, the three
reported points (best validation loss, best validation accuracy, final), checkpoints,
probes and events.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch

from actlab.errors import ActlabError
from actlab.models import resolve_activation
from actlab.train.config import RunSpec, TrainConfig
from actlab.train.driver import Probe
from actlab.train.events import RunDiverged, RunEnd
from actlab.train.grid import grid_handles, grid_supports, train_grid
from actlab.train.prepared import prepare
from actlab.train.sequential import train_sequential

__all__ = ["train_runs", "plan_cells", "ENGINES"]

ENGINES = ("grid", "sequential")


def plan_cells(config: TrainConfig, runs: list[RunSpec], engine: str = "grid",
               grid_size: int | None = None) -> list[tuple[str, list[RunSpec]]]:
    """Split ``runs`` into independent cells ``(engine, runs)`` that can be trained in any order or place.

    grid: runs whose activations share the architecture (maxout's k changes the
    layer widths) form one grid cell; runs with learnable or randomised
    activation parameters (prelu, rrelu) become sequential cells of one run.
    Models the stacked grid cannot express go to sequential cells of one run too.
    A user's model (``model`` "user") is stacked with ``torch.func`` instead of the grid: one "stacked" cell per
    activation and learning rate (its seeds), which :func:`train_runs` trains sequentially when it cannot be
    stacked.  sequential: one cell per run.  ``grid_size`` splits each grid into grids of at most that many runs
    (in run order).  Cells are plain data (picklable).
    """
    if engine == "sequential" or not grid_handles(config):
        return [("sequential", [run]) for run in runs]
    if config.model == "user":
        arms: dict[tuple, list[RunSpec]] = {}
        for run in runs:
            arms.setdefault((run.activation, run.params, run.lr), []).append(run)
        size = grid_size or max(1, len(runs))
        return [("stacked", arm[start:start + size]) for arm in arms.values() for start in range(0, len(arm), size)]
    grids: dict[int, list[RunSpec]] = {}
    alone: list[tuple[str, list[RunSpec]]] = []
    for run in runs:
        spec = resolve_activation(run.activation, dict(run.params), config.model)
        if grid_supports(spec):
            grids.setdefault(spec.width_divisor, []).append(run)
        else:
            alone.append(("sequential", [run]))
    size = grid_size or max(1, len(runs))
    return [("grid", group[start:start + size]) for group in grids.values()
            for start in range(0, len(group), size)] + alone


@contextmanager
def _tf32(device: torch.device) -> Iterator[None]:
    """On a CUDA device, float32 matmuls and convolutions in TF32 (tensor cores) while training; restored after."""
    if device.type != "cuda":
        yield
        return
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def train_runs(dataset, config: TrainConfig, runs: list[RunSpec], *, engine: str = "grid",
               on_event: Callable[[object], None] | None = None,
               should_stop: Callable[[], bool] | None = None,
               device: str = "cpu", checkpoints=None,
               skip_cell: Callable[[str, list[RunSpec]], bool] | None = None,
               grid_size: int | None = None, probes: Sequence[Probe] = ()) -> dict[str, RunEnd | RunDiverged]:
    """Train every run on ``dataset``; return run_id → RunEnd (finished) or RunDiverged.

    ``on_event`` receives EpochEnd / RunDiverged / RunEnd synchronously;
    ``should_stop()`` is polled between steps, and when it returns True training
    stops at once: runs that had not finished are absent from the result.
    ``checkpoints`` (:class:`actlab.train.checkpoint.CheckpointDir`): each cell resumes from its
    last checkpoint and checkpoints every epoch; ``skip_cell(kind, runs)`` True leaves a cell out;
    ``grid_size``: at most that many runs per grid (:func:`plan_cells`); ``probes``: called by the driver at
    initialisation and after every evaluation (:mod:`actlab.train.driver`).
    """
    if engine not in ENGINES:
        raise ActlabError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    config.validate(dataset)
    if not runs:
        raise ActlabError("no runs to train")
    ids = [run.run_id for run in runs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ActlabError(f"duplicate runs: {', '.join(duplicates)}")
    for run in runs:  # fail before any training on a bad activation, seed or lr
        resolve_activation(run.activation, dict(run.params), config.model)
        if run.lr is not None and not run.lr > 0:
            raise ActlabError(f"{run.run_id}: lr must be > 0, got {run.lr!r}")
        if isinstance(run.seed, bool) or not isinstance(run.seed, int) or run.seed < 0:
            raise ActlabError(f"{run.run_id}: seed must be a whole number >= 0, got {run.seed!r}")
    emit = on_event if on_event is not None else (lambda event: None)
    data = prepare(dataset, config.model, device)
    results: dict[str, RunEnd | RunDiverged] = {}
    with _tf32(data.x_train.device):
        for kind, cell in plan_cells(config, runs, engine, grid_size):  # torch's thread count is the caller's choice
            if skip_cell is not None and skip_cell(kind, cell):
                continue
            if kind == "stacked":
                if not _train_stacked_cell(data, config, cell, emit, should_stop, results, checkpoints, probes):
                    break
                continue
            trainer = train_grid if kind == "grid" else train_sequential
            checkpoint = None if checkpoints is None else checkpoints.for_cell(kind, [run.run_id for run in cell])
            if not trainer(data, config, cell, emit, should_stop, results, checkpoint, probes):
                break
    return {run_id: results[run_id] for run_id in ids if run_id in results}


def _train_stacked_cell(data, config: TrainConfig, cell: list[RunSpec], emit, should_stop, results, checkpoints,
                        probes) -> bool:
    """One arm's seeds stacked with torch.func, or one after another when the model cannot be stacked (an
    EngineNote says which, and why)."""
    from actlab.train.events import EngineNote
    from actlab.train.func_stack import FuncStack, Unstackable, train_stacked

    try:
        engine = FuncStack(data, config, cell) if len(cell) > 1 else None
        reason = "" if engine is not None else "one run: nothing to stack"
    except Unstackable as error:
        engine, reason = None, str(error)
    if engine is not None:
        emit(EngineNote(cell[0].run_id, "stacked", len(cell), f"{len(cell)} runs stacked with torch.func"))
        checkpoint = None if checkpoints is None else checkpoints.for_cell("stacked", [run.run_id for run in cell])
        return train_stacked(data, config, cell, emit, should_stop, results, checkpoint, probes, engine=engine)
    emit(EngineNote(cell[0].run_id, "sequential", len(cell), reason))
    for run in cell:
        checkpoint = None if checkpoints is None else checkpoints.for_cell("sequential", [run.run_id])
        if not train_sequential(data, config, [run], emit, should_stop, results, checkpoint, probes):
            return False
    return True
