"""Training a rung: many candidates at once through the one core (:func:`actlab.train.train_runs`, the
stacked grid engine), or spread over Ray (:func:`actlab.sweep.ray_engine.stream_cells`: one cell per chunk).

A chunk is :data:`CHUNK` candidates × the rung's seeds, one grid; its rows go to the store as soon as it
finished, so an interrupted rung resumes at the next chunk.  The score a rung ranks by is the validation
accuracy (regression: minus the validation loss) averaged over seeds, at each run's reported point; a
diverged run scores −∞.  Test metrics are recorded but never used to choose.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

__all__ = ["Entrant", "train_chunk", "score", "CHUNK", "train_config"]

CHUNK = 48  # candidates per grid


@dataclass(frozen=True)
class Entrant:
    candidate: int
    formula: str  # what is trained (a name for the baselines)
    params: tuple[tuple[str, float], ...] = ()


def train_config(steps: int, *, depth: int = 2, width: int = 64, batch_size: int = 128, lr: float = 1e-3) -> Any:
    from actlab.train import TrainConfig

    return TrainConfig(model="mlp", depth=depth, width=width, batch_size=batch_size, lr=lr, steps=int(steps),
                       eval_every=max(1, int(steps) // 5), precision="fp32")


def _run_specs(entrants: Sequence[Entrant], seeds: Sequence[int]) -> tuple[list[Any], dict[str, tuple[int, int]]]:
    from actlab.train import RunSpec

    runs, index = [], {}
    for entrant in entrants:
        for seed in seeds:
            run = RunSpec(activation=entrant.formula, seed=int(seed), params=entrant.params)
            runs.append(run)
            index[run.run_id] = (entrant.candidate, int(seed))
    return runs, index


def _rows(rung: int, results: Mapping[str, Any], index: Mapping[str, tuple[int, int]]) -> list[tuple]:
    from actlab.train import RunEnd

    rows = []
    for run_id, result in results.items():
        candidate, seed = index[run_id]
        if isinstance(result, RunEnd):
            rows.append((rung, candidate, seed, "finished", result.val_loss, result.val_accuracy, result.test_loss,
                         result.test_accuracy))
        else:
            rows.append((rung, candidate, seed, "diverged", None, None, None, None))
    return rows


def train_chunk(dataset: Any, config: Any, rung: int, entrants: Sequence[Entrant], seeds: Sequence[int], *,
                engine: str = "local", dataset_options: Mapping[str, Any] | None = None,
                should_stop: Callable[[], bool] | None = None) -> list[tuple] | None:
    """Train ``entrants`` × ``seeds``; the store rows, or None when ``should_stop`` interrupted the chunk."""
    runs, index = _run_specs(entrants, seeds)
    if engine == "ray":
        results = _on_ray(config, runs, dataset_options or {}, should_stop)
    else:
        from actlab.compile_policy import compiling
        from actlab.train import train_runs

        with compiling(False):  # each chunk has other activations: compiling them would cost more than it saves
            results = train_runs(dataset, config, runs, should_stop=should_stop)
    if len(results) < len(runs):
        return None
    return _rows(rung, results, index)


def _on_ray(config: Any, runs: Sequence[Any], dataset_options: Mapping[str, Any],
            should_stop: Callable[[], bool] | None) -> dict[str, Any]:
    """The chunk as Ray tasks (the compare engine's cells and streaming; a worker loads the data itself)."""
    from actlab.sweep.ray_engine import cell_tasks, stream_cells
    from actlab.train import plan_cells

    plan = SimpleNamespace(train_config=config, config={"model": config.model, "target": None, "subset": None,
                                                        **dataset_options})
    cells = plan_cells(config, list(runs), "grid", grid_size=max(1, len(runs) // 2))
    results: dict[str, Any] = {}
    for _index, item in stream_cells(cell_tasks(plan, cells), should_stop=should_stop):
        if item[0] == "results":
            results.update(item[1])
    return results


def score(rows: Sequence[Mapping[str, Any]], classification: bool) -> float:
    """The mean validation score of one candidate's runs (−∞ when any diverged or none finished)."""
    values = []
    for row in rows:
        value = row["val_accuracy"] if classification else (None if row["val_loss"] is None else -row["val_loss"])
        if row["status"] != "finished" or value is None or not math.isfinite(value):
            return -math.inf
        values.append(float(value))
    return sum(values) / len(values) if values else -math.inf
