"""What a sweep measures once, after training, for the report to read: each activation's module cost and,
on 2-D toy classification sets, the decision-boundary thumbnails (:mod:`actlab.store.measured`).

* **Cost**: each activation's module (the one the trainer builds, native op where one exists) runs forward +
  backward on a ``batch_size × width`` tensor, on one thread, in :data:`ROUNDS` interleaved rounds of
  :data:`CALLS` calls (every activation once per round, the order rotating, so a change of load touches all of
  them alike).  Stored: the median seconds per call, the spread (half the interquartile range of the rounds),
  the fastest round, every round, and the load average.
* **Thumbnails**: the boundary lab's small net (one hidden layer of :data:`HIDDEN` units, the lab's recipe for
  :data:`STEPS` steps, seed 0) per activation on the lab's own copy of the toy set; stored: P(class 1) on a
  :data:`GRID` × :data:`GRID` grid, the training points and the true boundary.

Labels already measured are kept (a resumed sweep does not time them again).
"""
from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from actlab.errors import ActlabError
from actlab.store.measured import (
    ThumbnailFrame,
    ThumbnailRow,
    read_costs,
    read_thumbnails,
    write_costs,
    write_thumbnails,
)

__all__ = ["CALLS", "GRID", "HIDDEN", "ROUNDS", "STEPS", "measure_costs", "measure_sizes", "measure_sweep", "measure_thumbnails"]

ROUNDS = 9
CALLS = 10
HIDDEN = 8
STEPS = 400
GRID = 120

Entry = tuple[str, str, Mapping[str, Any]]  # (label, activation, params)


def measure_sweep(store: Any, plan: Any, should_stop: Callable[[], bool] | None = None) -> None:
    """Measure what ``store`` does not hold yet for the activations of ``plan`` (a :class:`~actlab.sweep.plan.Plan`)."""
    seen: dict[str, Entry] = {}
    for row in plan.rows:
        seen.setdefault(row["label"], (row["label"], row["activation"], dict(row.get("params") or {})))
    measure_sizes(store, plan, list(seen.values()))
    measure_store(store, plan.config, list(seen.values()), should_stop=should_stop)


def measure_store(store: Any, config: Mapping[str, Any], entries: Sequence[Entry],
                  should_stop: Callable[[], bool] | None = None) -> None:
    """The cost of every entry not timed yet; the thumbnails once, on a toy classification set."""
    stop = should_stop or (lambda: False)
    timed = read_costs(store)
    missing = [e for e in entries if e[0] not in timed]
    if missing and not stop():
        write_costs(store, measure_costs(config, missing))
    if stop() or not _toy_classification(config):
        return
    frame, drawn = read_thumbnails(store)
    todo = [e for e in entries if e[0] not in drawn]
    if todo:
        result = measure_thumbnails(str(config["dataset"]).lower(), todo)
        if result is not None:
            write_thumbnails(store, *result)


def _toy_classification(config: Mapping[str, Any]) -> bool:
    from actlab.data.toy_truth import TOY_CLASSIFICATION

    task = config.get("dataset_task") or config.get("task", "classification")  # older configs: "task"
    return task == "classification" and \
        str(config.get("dataset", "")).lower() in TOY_CLASSIFICATION


def measure_sizes(store: Any, plan: Any, entries: Sequence[Entry]) -> None:
    """Each label's parameters, hidden width and forward FLOPs per example (:mod:`actlab.models.size`), once."""
    from actlab.models import output_units
    from actlab.models.size import describe_size
    from actlab.store.sizes import read_sizes, write_sizes

    known = read_sizes(store)
    dataset = plan.dataset
    outputs = output_units(dataset.task, dataset.num_classes, tuple(dataset.y_train.shape))
    rows = []
    for label, activation, params in entries:
        if label in known:
            continue
        spec = plan.train_config.model_config
        from actlab.models import resolve_activation

        size = describe_size(spec, resolve_activation(activation, params, spec.kind), tuple(dataset.input_shape), outputs)
        rows.append({"label": label, "activation": activation, **size})
    if rows:
        write_sizes(store, rows)


# ------------------------------------------------------------------------------------------------ cost
def measure_costs(config: Mapping[str, Any], entries: Sequence[Entry]) -> list[dict[str, Any]]:
    """One cost row per entry (median, spread and rounds None where the module could not be built or run)."""
    batch, width = int(config.get("batch_size") or 128), int(config.get("width") or 128)
    layers = max(1, int(config.get("depth") or 1))
    from actlab.analysis.cost import time_modules

    rounds = time_modules([(activation, params) for _, activation, params in entries], (batch, width),
                          rounds=ROUNDS, calls=CALLS)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    rows = []
    for (label, activation, params), seconds in zip(entries, rounds):
        median = spread = best = None
        if seconds:
            quartiles = statistics.quantiles(seconds, n=4) if len(seconds) > 1 else [seconds[0]] * 3
            median, spread, best = statistics.median(seconds), (quartiles[2] - quartiles[0]) / 2, min(seconds)
        rows.append({"label": label, "activation": activation, "params": dict(params), "batch": batch, "width": width,
                     "layers": layers, "median": median, "spread": spread, "best": best, "rounds": seconds or [],
                     "calls": CALLS, "threads": 1, "load": load})
    return rows


# ------------------------------------------------------------------------------------------ thumbnails
def _act_text(activation: str, params: Mapping[str, Any]) -> str:
    """The ``--act`` value of ``actlab boundary`` for an activation with numeric parameters."""
    numeric = {k: v for k, v in params.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return activation + "".join(f":{k}={v!r}" for k, v in sorted(numeric.items()))


def measure_thumbnails(dataset: str, entries: Sequence[Entry]) -> tuple[ThumbnailFrame, list[ThumbnailRow]] | None:
    """Train the lab's small net per entry and sample it on the grid; None when the lab cannot draw the set."""
    import numpy as np
    import torch

    from actlab.lab2d.figures import window
    from actlab.lab2d.run import load_points, run_boundary
    from actlab.lab2d.train import BoundaryConfig

    config = BoundaryConfig(hidden=HIDDEN, steps=STEPS, seeds=1)
    try:
        data = load_points(dataset)
    except ActlabError:
        return None
    x0a, x0b, x1a, x1b = window(data)
    gx, gy = np.meshgrid(np.linspace(x0a, x0b, GRID), np.linspace(x1a, x1b, GRID))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    points = torch.from_numpy(grid.astype(np.float32))
    truth_function = data.extra.get("boundary")
    truth = None
    if truth_function is not None and "standardize" not in data.extra:
        truth = np.asarray(truth_function(grid), dtype=np.float64).reshape(gx.shape)
    rows = []
    for label, activation, params in entries:
        text = _act_text(activation, params)
        try:
            result = run_boundary(dataset, [text], config)
        except ActlabError:
            rows.append(ThumbnailRow(label, text, None, None))
            continue
        trained, summary = result.trained[0], result.summaries[0]
        with torch.no_grad():
            p = trained.probabilities(points)[0].double().numpy().reshape(gx.shape)
        accuracy = summary.get("test_accuracy")
        rows.append(ThumbnailRow(label, text, accuracy if isinstance(accuracy, float) else None, p))
    x, y = data.x_train.numpy(), data.y_train.numpy()
    frame = ThumbnailFrame(dataset=dataset, recipe=config.describe(), window=(x0a, x0b, x1a, x1b), grid=GRID,
                           points=np.column_stack([x[:, 0], x[:, 1], (y > 0.5).astype(int)]), truth=truth)
    return frame, rows
