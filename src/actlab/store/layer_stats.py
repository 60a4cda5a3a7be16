"""The store's gradient-flow tables (migration 2): ``layer_stats`` and ``clipping``.

``layer_stats``  one row per (run, epoch, hidden layer) of ``actlab compare --diagnostics``:
                 the measures of :mod:`actlab.analysis.layer_measures` on the fixed evaluation
                 batch (epoch 0: at initialisation) and a compact activation histogram (JSON).
``clipping``     one row per run trained with clipping: steps so far and how many of them
                 clipping changed (updated at each epoch end).

:class:`LayerStatsTables` is mixed into :class:`actlab.store.Store`; its writes are
idempotent like the rest of the store (``INSERT OR REPLACE`` on the primary key).
"""
from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actlab.store.guard import check_numbers, decode_json, guarded_read

__all__ = ["LAYER_COLUMNS", "LayerStatRow", "LayerStatsTables"]

LAYER_COLUMNS = ("speed", "weight_grad_norm", "mean", "std", "saturated_fraction", "zero_fraction",
                 "dead_fraction")


@dataclass(frozen=True)
class LayerStatRow:
    run_id: str
    epoch: int
    layer: int
    step: int
    loss: float | None
    speed: float | None
    weight_grad_norm: float | None
    mean: float | None
    std: float | None
    saturated_fraction: float | None
    zero_fraction: float | None
    dead_fraction: float | None
    units: int | None
    histogram: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _real(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class LayerStatsTables:
    """Reads and writes of the gradient-flow tables (needs ``_conn`` and ``_write`` from the Store)."""

    _conn: sqlite3.Connection
    path: Path

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:  # provided by Store
        raise NotImplementedError

    def record_layer_stats(self, run_id: str, epoch: int, step: int, loss: float | None,
                           layers: Sequence[Mapping[str, Any]],
                           histograms: Sequence[Mapping[str, Any]] | None = None) -> None:
        """One measurement of every hidden layer of a run (replaying it replaces the rows)."""
        histograms = list(histograms or [None] * len(layers))
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO layer_stats (run_id, epoch, layer, step, loss, "
                + ", ".join(LAYER_COLUMNS) + ", units, histogram) VALUES (" + ", ".join("?" * 14) + ")",
                [
                    (run_id, int(epoch), int(layer.get("layer", index + 1)), int(step), _real(loss),
                     *(_real(layer.get(column)) for column in LAYER_COLUMNS),
                     None if layer.get("units") is None else int(layer["units"]),
                     None if hist is None else json.dumps(dict(hist)))
                    for index, (layer, hist) in enumerate(zip(layers, histograms))
                ],
            )

    def record_clipping(self, run_id: str, epoch: int, steps: int, clipped_steps: int) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO clipping (run_id, epoch, steps, clipped_steps) VALUES (?, ?, ?, ?)",
                         (run_id, int(epoch), int(steps), int(clipped_steps)))

    @guarded_read
    def layer_stats(self, run_id: str | None = None) -> list[LayerStatRow]:
        """Rows in run order, then epoch, then layer."""
        query = ("SELECT layer_stats.* FROM layer_stats JOIN runs USING (run_id)"
                 + (" WHERE run_id = ?" if run_id is not None else "")
                 + " ORDER BY runs.rowid, layer_stats.epoch, layer_stats.layer")
        return list(self._layer_rows(self._conn.execute(query, () if run_id is None else (run_id,))))

    def _layer_rows(self, cursor: sqlite3.Cursor) -> Iterator[LayerStatRow]:
        for row in cursor:
            data = dict(row)
            where = f"layer {data['layer']!r} at epoch {data['epoch']!r} of run {data['run_id']!r}"
            data["histogram"] = (decode_json(data["histogram"], self.path, f"the histogram of {where}")
                                 if data["histogram"] else None)
            check_numbers(data, self.path, where, integers=("epoch", "layer", "step", "units"),
                          reals=("loss", *LAYER_COLUMNS), required=("epoch", "layer", "step"))
            yield LayerStatRow(**data)

    @guarded_read
    def has_layer_stats(self) -> bool:
        return self._conn.execute("SELECT 1 FROM layer_stats LIMIT 1").fetchone() is not None

    @guarded_read
    def clipping(self) -> dict[str, tuple[int, int]]:
        """run_id → (steps, clipped_steps)."""
        counts = {}
        for row in self._conn.execute("SELECT run_id, steps, clipped_steps FROM clipping"):
            check_numbers(dict(row), self.path, f"the clipping counts of run {row[0]!r}",
                          integers=("steps", "clipped_steps"), required=("steps", "clipped_steps"))
            counts[row[0]] = (int(row[1]), int(row[2]))
        return counts
