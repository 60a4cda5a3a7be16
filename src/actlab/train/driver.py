"""The driver: everything about training that is not the arithmetic of a step, written once for every engine.

The driver owns the **budget** (``epochs`` or ``steps``), the **evaluation cadence** (``eval_every``
epochs, or steps with a step budget; the end of the budget is always an evaluation point), **which
point a run reports** (``report_at``: best-val-loss | best-val-acc | final — all three are tracked and
recorded in :attr:`RunEnd.points`), **per-step training losses** (``log_every_step`` →
:class:`StepLosses` events), **checkpoints and resume** (after every evaluation point), **stop**
(``should_stop`` is polled before every step), **divergence** (a run whose loss turns NaN/inf stops;
the others go on), **probes** and **events** (``emit``).

The engine protocol
-------------------
An engine trains a set of runs that share an architecture (``M`` runs, index ``0..M-1``).  It has:

``runs``, ``run_ids``                the runs (:class:`~actlab.train.config.RunSpec`) in engine order
``data``, ``config``                 the :class:`~actlab.train.prepared.Prepared` data and the TrainConfig
``step``                             optimiser steps taken (all live runs step together); settable only
                                     through ``load_state_dict``
``steps_per_epoch``                  ``ceil(len(train) / batch_size)``; the batch of step ``s`` is batch
                                     ``s % steps_per_epoch`` of epoch ``s // steps_per_epoch``'s order
``diverged``                         ``{index: RunDiverged}`` of the runs that stopped
``alive_runs() -> list[bool]``
``train_steps(count, should_stop, emit, record_steps) -> Chunk | None``
                                     exactly ``count`` steps (across epoch ends), or None when
                                     ``should_stop()`` turned True (polled before each step).  A run whose
                                     training loss is not finite is stopped and its RunDiverged emitted.
``evaluate_split(split, slot=None) -> (loss (M,), accuracy (M,) | None)``
                                     on "val" or "test" with the current weights or those of ``slot``
``keep(slot, indices)``              copy the current weights of runs ``indices`` into ``slot``
``mark_diverged(indices, values, reason, emit)``
``clip_counts() -> list[int] | None``  steps whose gradient clipping changed (None: no clipping)
``live_models()``                    yields ``(index, run_id, nn.Module, spec)`` per live run: a plain module
                                     holding the run's current weights (for probes and figures)
``state_dict()`` / ``load_state_dict(state)``   weights, optimiser state, kept slots, RNG, ``step``

:class:`actlab.train.grid.GridTrainer` (stacked) and :class:`actlab.train.sequential.SingleRun` implement it.

Probes
------
A probe is a callable taking a :class:`ProbePoint`: it is called at initialisation (epoch 0, step 0; not
again on resume) and after every evaluation point, with the live models and a fixed batch (the first
:data:`PROBE_EXAMPLES` training examples).  It may emit events; it must not change the weights or any
random stream (measure with ``torch.autograd.grad`` on the models it is given).

Usage::

    from actlab.train.driver import drive
    drive(GridTrainer(data, config, runs), config, emit=print, probes=[my_probe])
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from actlab.spec import ActivationSpec
from actlab.train.config import REPORT_AT, TrainConfig
from actlab.train.events import ClipCount, EpochEnd, RunDiverged, RunEnd, StepLosses

__all__ = ["Budget", "Chunk", "ProbePoint", "Probe", "PROBE_EXAMPLES", "drive", "Tracker"]

PROBE_EXAMPLES = 1000  # the probes' fixed batch: the first 1 000 training examples
Emit = Callable[[object], None]


@dataclass(frozen=True)
class Chunk:
    """What :meth:`train_steps` did: steps ``first_step`` → ``last_step``; per run the sum over the chunk's
    examples of the batch-mean losses times the batch size (``loss_sums / examples`` is the mean training loss),
    and with ``record_steps`` the loss of every step (steps, M) (NaN for stopped runs)."""

    first_step: int
    last_step: int
    loss_sums: Tensor
    examples: int
    step_losses: Tensor | None = None


@dataclass(frozen=True)
class ProbePoint:
    """What a probe sees: where training is, the live models and the fixed batch."""

    epoch: int  # evaluation label (0: at initialisation)
    step: int
    models: Callable[[], Iterator[tuple[int, str, nn.Module, ActivationSpec]]]  # (index, run_id, module, spec)
    x: Tensor
    y: Tensor
    kind: str  # "multiclass" | "binary" | "regression" (actlab.train.metrics.per_model_loss)
    emit: Emit
    config: TrainConfig


Probe = Callable[[ProbePoint], None]


@dataclass(frozen=True)
class Budget:
    """The evaluation points of a budget, as step counts.  ``label(step)``: epochs done (epoch budget) or the
    evaluation's number (step budget): the ``epoch`` of the events and the store."""

    total_steps: int
    steps_per_epoch: int
    by_steps: bool
    eval_every: int

    @classmethod
    def from_config(cls, config: TrainConfig, examples: int) -> Budget:
        per_epoch = config.steps_per_epoch(examples)
        return cls(config.total_steps(examples), per_epoch, config.steps is not None, int(config.eval_every))

    def points(self) -> list[int]:
        unit = 1 if self.by_steps else self.steps_per_epoch
        points = list(range(unit * self.eval_every, self.total_steps + 1, unit * self.eval_every))
        if not points or points[-1] != self.total_steps:
            points.append(self.total_steps)
        return points

    def label(self, step: int) -> int:
        if not self.by_steps:
            return step // self.steps_per_epoch
        points = self.points()
        return next((i + 1 for i, p in enumerate(points) if p >= step), len(points))


@dataclass
class _Point:
    label: int = 0
    step: int = 0
    val_loss: float | None = None
    val_accuracy: float | None = None
    value: float = math.nan  # the criterion's value (lower is better)


@dataclass
class Tracker:
    """Per run and criterion the evaluation point to report; the seconds spent per run."""

    runs: int
    points: dict[str, list[_Point]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.points:
            self.points = {c: [_Point() for _ in range(self.runs)] for c in REPORT_AT}
        if not self.seconds:
            self.seconds = [0.0] * self.runs

    def update(self, engine: Any, indices: list[int], label: int, step: int, val_loss: Tensor | None,
               val_acc: Tensor | None) -> None:
        for criterion in REPORT_AT:
            improved = []
            for i in indices:
                loss = None if val_loss is None else float(val_loss[i])
                acc = None if val_acc is None else float(val_acc[i])
                if criterion == "final" or loss is None:
                    value = -float(step)
                elif criterion == "best-val-acc" and acc is not None:
                    value = -acc
                else:
                    value = loss
                best = self.points[criterion][i]
                if math.isnan(best.value) or value < best.value:
                    self.points[criterion][i] = _Point(label, step, loss, acc, value)
                    improved.append(i)
            if criterion != "final" and improved:
                engine.keep(criterion, improved)

    def state(self) -> dict[str, Any]:
        return {"points": {c: [[p.label, p.step, p.val_loss, p.val_accuracy, p.value] for p in ps]
                           for c, ps in self.points.items()}, "seconds": list(self.seconds)}

    def load(self, state: dict[str, Any]) -> None:
        for criterion, rows in state["points"].items():
            self.points[criterion] = [_Point(int(r[0]), int(r[1]), r[2], r[3], float(r[4])) for r in rows]
        self.seconds = [float(s) for s in state["seconds"]]


def _legacy_tracker(tracker: Tracker, state: dict[str, Any], engine: Any) -> None:
    """A checkpoint written before the driver tracked three criteria (best validation loss only): that point
    stands in for all three until a later evaluation replaces it."""
    if "best_loss" in state:  # a grid
        losses, accs, epochs = state["best_loss"].tolist(), state["best_acc"], state["best_epoch"]
        seconds_lists = state.get("seconds", [[]] * tracker.runs)
    else:  # one sequential run
        best = state.get("best") or [math.inf, None, 0]
        losses, accs, epochs = [best[0]], [best[1]], [best[2]]
        seconds_lists = [state.get("seconds", [])]
    for i in range(tracker.runs):
        loss = float(losses[i])
        acc = accs[i]
        epoch = int(epochs[i])
        for criterion in REPORT_AT:
            value = loss if criterion == "best-val-loss" else (-acc if acc is not None else loss)
            if criterion == "final":
                value = -float(epoch * engine.steps_per_epoch)
            tracker.points[criterion][i] = _Point(epoch, epoch * engine.steps_per_epoch,
                                                  loss if math.isfinite(loss) else None, acc, value)
        tracker.seconds[i] = float(sum(seconds_lists[i]))


def _probe(probes: Sequence[Probe], engine: Any, label: int, emit: Emit) -> None:
    if not probes:
        return
    data = engine.data
    point = ProbePoint(label, engine.step, engine.live_models, data.x_train[:PROBE_EXAMPLES],
                       data.y_train[:PROBE_EXAMPLES], data.kind, emit, engine.config)
    for probe in probes:
        probe(point)


def drive(engine: Any, config: TrainConfig, *, emit: Emit, should_stop: Callable[[], bool] | None = None,
          results: dict[str, RunEnd | RunDiverged] | None = None, checkpoint: Any = None,
          probes: Sequence[Probe] = ()) -> bool:
    """Train ``engine``'s runs to the end of ``config``'s budget; False when ``should_stop`` interrupted.

    Emits RunDiverged / StepLosses / EpochEnd / ClipCount / RunEnd events (and the probes' own) through
    ``emit`` and records each run's RunEnd or RunDiverged in ``results``.  ``checkpoint``
    (:class:`actlab.train.checkpoint.Checkpoint`): start from its last state, if any; save after each
    evaluation point's events were emitted.
    """
    results = {} if results is None else results
    budget = Budget.from_config(config, len(engine.data.x_train))
    has_val = len(engine.data.x_val) > 0
    tracker = Tracker(len(engine.runs))
    resumed = False
    if checkpoint is not None:
        state = checkpoint.load()
        if state is not None:
            engine.load_state_dict(state.get("engine_state", state))
            if "driver" in state:
                tracker.load(state["driver"])
            else:
                _legacy_tracker(tracker, state, engine)
            resumed = True
    for i, event in engine.diverged.items():
        results[engine.runs[i].run_id] = event
    if not resumed:
        _probe(probes, engine, 0, emit)  # the measurement at initialisation
    for point in budget.points():
        if point <= engine.step:
            continue
        alive = engine.alive_runs()
        if not any(alive):
            break
        start = time.perf_counter()
        live_at_start = sum(alive)
        chunk = engine.train_steps(point - engine.step, should_stop, emit, config.log_every_step)
        for i, event in engine.diverged.items():
            results[engine.runs[i].run_id] = event
        if chunk is None:
            return False
        label = budget.label(engine.step)
        val_loss = val_acc = None
        if has_val:
            val_loss, val_acc = engine.evaluate_split("val")
            alive = engine.alive_runs()
            bad = [i for i in range(len(alive)) if alive[i] and not math.isfinite(float(val_loss[i]))]
            if bad:
                engine.mark_diverged(bad, [float(val_loss[i]) for i in bad], "validation loss became", emit)
                for i in bad:
                    results[engine.runs[i].run_id] = engine.diverged[i]
        share = (time.perf_counter() - start) / max(live_at_start, 1)
        live = [i for i, a in enumerate(engine.alive_runs()) if a]
        tracker.update(engine, live, label, engine.step, val_loss, val_acc)
        for i in live:
            tracker.seconds[i] += share
            if chunk.step_losses is not None:
                emit(StepLosses(engine.runs[i].run_id, chunk.first_step + 1,
                                tuple(float(v) for v in chunk.step_losses[:, i].tolist())))
            emit(EpochEnd(engine.runs[i].run_id, label, engine.step, float(chunk.loss_sums[i] / chunk.examples),
                          None if val_loss is None else float(val_loss[i]),
                          None if val_acc is None else float(val_acc[i]), share))
        counts = engine.clip_counts()
        if counts is not None:
            for i in live:
                emit(ClipCount(engine.runs[i].run_id, label, engine.step, counts[i]))
        _probe(probes, engine, label, emit)
        if checkpoint is not None:
            checkpoint.save({"engine_state": engine.state_dict(), "driver": tracker.state(),
                             "epoch": int(engine.epoch)})
    for i, end in _finish(engine, config, tracker, budget, has_val).items():
        emit(end)
        results[engine.runs[i].run_id] = end
    return True


def _finish(engine: Any, config: TrainConfig, tracker: Tracker, budget: Budget, has_val: bool) -> dict[int, RunEnd]:
    """Test metrics of every live run at each criterion's point (one test pass per distinct set of weights)."""
    live = [i for i, a in enumerate(engine.alive_runs()) if a]
    if not live:
        return {}
    criteria = list(REPORT_AT) if has_val else ["final"]
    tested: dict[str, tuple[Tensor, Tensor | None]] = {}
    for criterion in criteria:
        same = next((c for c in tested if all(tracker.points[c][i].step == tracker.points[criterion][i].step
                                              for i in live)), None)
        if same is not None:
            tested[criterion] = tested[same]
        else:
            tested[criterion] = engine.evaluate_split("test", None if criterion == "final" else criterion)
    report = config.report_at if has_val else "final"
    epochs_done = engine.step / budget.steps_per_epoch
    ends = {}
    for i in live:
        points = {}
        for criterion in criteria:
            p = tracker.points[criterion][i]
            loss, acc = tested[criterion]
            points[criterion] = {"epoch": p.label, "step": p.step, "test_loss": float(loss[i]),
                                 "test_accuracy": None if acc is None else float(acc[i]),
                                 "val_loss": p.val_loss, "val_accuracy": p.val_accuracy}
        chosen = points[report]
        ends[i] = RunEnd(engine.runs[i].run_id, chosen["epoch"], chosen["test_loss"], chosen["test_accuracy"],
                         chosen["val_loss"], chosen["val_accuracy"], tracker.seconds[i] / max(epochs_done, 1e-12),
                         report_at=report, step=chosen["step"], points=points)
    return ends
