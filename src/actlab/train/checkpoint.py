"""Checkpoints: a training cell's whole state at the end of an epoch, written atomically, the last one kept.

A *cell* is what :func:`actlab.train.engine.plan_cells` hands one trainer: a grid
(every run of it, stacked) or one sequential run.  Its checkpoint holds the
weights, the optimiser state, the RNG state (dropout masks), the step and epoch
counters and the best-validation weights and metrics, so that a cell resumed from
its checkpoint computes exactly what it would have computed without the pause
(bit-identical on the CPU with the same engine).  Files live in
``RUN_DIR/checkpoints/<cell key>.pt``; each save writes a temporary file in the same
directory, fsyncs it and renames it over the previous one, so a crash leaves either
the old or the new checkpoint, never half of one.  Only plain tensors, numbers,
strings, lists and dicts are stored (loaded with ``weights_only=True``).
"""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import torch

from actlab.errors import storage_error
from actlab.train.events import RunDiverged

__all__ = ["CheckpointDir", "Checkpoint", "cell_key", "grid_state", "load_grid_state", "single_state",
           "load_single_state", "CHECKPOINT_DIR"]

CHECKPOINT_DIR = "checkpoints"
FORMAT = 1


def cell_key(kind: str, run_ids: list[str]) -> str:
    """A file-name-safe key for a cell: its engine and its run ids (in training order)."""
    digest = hashlib.sha256("\n".join([kind, *run_ids]).encode()).hexdigest()[:20]
    return f"{kind}-{digest}"


class Checkpoint:
    """The last checkpoint of one cell: ``load()`` (None when there is none) and ``save(state)``."""

    def __init__(self, path: Path, run_ids: list[str]) -> None:
        self.path, self.run_ids = path, list(run_ids)

    def load(self) -> dict[str, Any] | None:
        self._clear_leftovers()
        if not self.path.is_file():
            return None
        return self.accept(torch.load(self.path, map_location="cpu", weights_only=True))

    def accept(self, state: dict[str, Any]) -> dict[str, Any] | None:
        """``state`` when it is this cell's checkpoint in this format, else None (start the cell afresh)."""
        if state.get("format") != FORMAT or state.get("run_ids") != self.run_ids:
            return None
        return state

    def stamp(self, state: dict[str, Any]) -> dict[str, Any]:
        return {**state, "format": FORMAT, "run_ids": self.run_ids}

    def save(self, state: dict[str, Any]) -> None:
        buffer = io.BytesIO()  # serialised in memory first: torch's writer makes a failed write an opaque RuntimeError
        torch.save(self.stamp(state), buffer)
        self._write(lambda handle: handle.write(buffer.getbuffer()))

    def read_bytes(self) -> bytes | None:
        """The file as it is (for an engine that ships it to a worker), None when there is none."""
        self._clear_leftovers()
        return self.path.read_bytes() if self.path.is_file() else None

    def save_bytes(self, payload: bytes) -> None:
        """Write a checkpoint serialised elsewhere (a worker's :meth:`save`), atomically like :meth:`save`."""
        self._write(lambda handle: handle.write(payload))

    def _clear_leftovers(self) -> None:
        # temporary files of a save that a kill interrupted (the caller holds the directory's lock)
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            leftover.unlink(missing_ok=True)

    def _write(self, write: Any) -> None:
        """Write atomically.  A full disk or a file-size limit raises :class:`~actlab.errors.StorageError` naming
        the file and the partial temporary file is removed; the previous checkpoint stays."""
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(temporary, "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except OSError as error:
            problem = storage_error(self.path, error)
            temporary.unlink(missing_ok=True)
            raise problem from None
        try:  # the rename itself survives a power cut once the directory is synced
            fd = os.open(self.path.parent, os.O_RDONLY)
        except OSError:  # pragma: no cover - platforms without directory fds
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class CheckpointDir:
    """Where a sweep keeps its cells' checkpoints (``RUN_DIR/checkpoints``)."""

    def __init__(self, run_dir: str | Path) -> None:
        self.root = Path(run_dir) / CHECKPOINT_DIR

    def for_cell(self, kind: str, run_ids: list[str]) -> Checkpoint:
        return Checkpoint(self.root / f"{cell_key(kind, run_ids)}.pt", run_ids)

    def epochs(self, kind: str, run_ids: list[str]) -> int:
        """The epoch a cell's checkpoint reached (0 when it has none)."""
        state = self.for_cell(kind, run_ids).load()
        return 0 if state is None else int(state.get("engine_state", state)["epoch"])


def _clone(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    return [t.detach().to("cpu", copy=True) for t in tensors]


@torch.no_grad()
def _copy_into(targets: list[torch.Tensor], sources: list[torch.Tensor]) -> None:
    if len(targets) != len(sources):
        raise ValueError("checkpoint does not match the model (layer count)")
    for target, source in zip(targets, sources):
        target.copy_(source.to(target.device))


# ---------------------------------------------------------------- grid
def grid_state(trainer: Any) -> dict[str, Any]:
    """A :class:`~actlab.train.grid.GridTrainer`'s state (weights, optimiser, kept slots, RNG, step)."""
    optimizer = trainer.optimizer
    return {
        "engine": "grid",
        "epoch": int(trainer.epoch),
        "step": int(trainer.step),
        "params": _clone(trainer.params),
        "state": _clone(optimizer.state),
        "state2": _clone(optimizer.state2),
        "state3": _clone(optimizer.state3),
        "adam_step": optimizer._adam_step.detach().to("cpu", copy=True),
        "alive": trainer.alive.detach().to("cpu", copy=True),
        "slots": {name: _clone(tensors) for name, tensors in trainer.slots.items()},
        "diverged": {str(i): [e.run_id, e.epoch, e.step, e.reason] for i, e in trainer.diverged.items()},
        "dropout_rng": trainer.dropout_generator.get_state(),
    }


def load_grid_state(trainer: Any, state: dict[str, Any]) -> None:
    """Put ``state`` (from :func:`grid_state` of the same cell) back into a fresh trainer.

    A checkpoint written before the slots existed holds ``best_params`` (the lowest validation loss): it
    fills the "best-val-loss" and "best-val-acc" slots."""
    optimizer = trainer.optimizer
    _copy_into(trainer.params, state["params"])
    _copy_into(optimizer.state, state["state"])
    _copy_into(optimizer.state2, state["state2"])
    _copy_into(optimizer.state3, state.get("state3", [t.detach().cpu() for t in optimizer.state3]))
    optimizer._adam_step.copy_(state["adam_step"])
    trainer.alive.copy_(state["alive"].to(trainer.alive.device))
    optimizer.alive = trainer.alive
    slots = state.get("slots")
    if slots is None and "best_params" in state:
        slots = {"best-val-loss": state["best_params"], "best-val-acc": state["best_params"]}
    trainer.slots = {name: [t.to(trainer.params[0].device, copy=True) for t in tensors]
                     for name, tensors in (slots or {}).items()}
    trainer.diverged.clear()
    for index, (run_id, epoch, step, reason) in state["diverged"].items():
        trainer.diverged[int(index)] = RunDiverged(run_id, int(epoch), int(step), reason)
    trainer.dropout_generator.set_state(state["dropout_rng"])
    trainer.step = int(state["step"])


# ---------------------------------------------------------- sequential
def single_state(single: Any) -> dict[str, Any]:
    """A :class:`~actlab.train.sequential.SingleRun`'s state (model, optimiser, kept slots, RNG, step)."""
    return {
        "engine": "sequential",
        "epoch": int(single.epoch),
        "step": int(single.step),
        "model": {k: v.detach().to("cpu", copy=True) for k, v in single.model.state_dict().items()},
        "optimizer": single.optimizer.state_dict(),
        "rng": single._rng.get_state(),
        "slots": {name: {k: v.detach().to("cpu", copy=True) for k, v in kept.items()}
                  for name, kept in single.slots.items()},
        "diverged": None if single.diverged_event is None else [single.diverged_event.run_id,
                                                                single.diverged_event.epoch,
                                                                single.diverged_event.step,
                                                                single.diverged_event.reason],
    }


def load_single_state(single: Any, state: dict[str, Any]) -> None:
    device = next(single.model.parameters()).device
    single.model.load_state_dict(state["model"])
    single.optimizer.load_state_dict(state["optimizer"])
    single._rng.set_state(state["rng"])
    slots = state.get("slots")
    if slots is None and state.get("best_state") is not None:
        slots = {"best-val-loss": state["best_state"], "best-val-acc": state["best_state"]}
    single.slots = {name: {k: v.to(device) for k, v in kept.items()} for name, kept in (slots or {}).items()}
    diverged = state.get("diverged")
    single.diverged_event = None if diverged is None else RunDiverged(diverged[0], int(diverged[1]),
                                                                     int(diverged[2]), diverged[3])
    single.step = int(state["step"])
