"""The store's measured tables (migration 5): what the report shows but never computes.

``cost``             one row per activation label: its module (forward + backward) timed on the sweep's
                     ``batch × width`` tensor in interleaved rounds when the sweep ran — the median seconds
                     per call and its spread (half the interquartile range of the rounds).
``thumbnail_frame``  one row: the toy set, window, grid, training points and true boundary of the thumbnails.
``thumbnails``       one row per activation label: P(class 1) on the frame's grid, from the boundary lab's
                     small net trained when the sweep ran.

Written by :mod:`actlab.sweep.measure`, read by :mod:`actlab.report`.  A store written before these tables
existed holds no rows in them: the report then says "not measured" and draws no thumbnails.  Writes are
idempotent (``INSERT OR REPLACE`` keyed on the label).
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from actlab.store.guard import check_numbers, damaged, decode_json

if TYPE_CHECKING:
    from actlab.store.db import Store

__all__ = ["CostRow", "ThumbnailFrame", "ThumbnailRow", "read_costs", "read_thumbnails", "write_costs",
           "write_thumbnails"]


@dataclass(frozen=True)
class CostRow:
    """One activation's timed module: seconds per forward + backward call on a ``batch × width`` tensor."""

    label: str
    activation: str
    params: dict[str, Any]
    batch: int
    width: int
    layers: int
    median: float | None
    spread: float | None
    best: float | None
    rounds: tuple[float, ...]
    calls: int
    threads: int
    load: float | None
    measured: str


@dataclass(frozen=True)
class ThumbnailFrame:
    dataset: str
    recipe: dict[str, Any]
    window: tuple[float, float, float, float]
    grid: int
    points: np.ndarray  # (N, 3): x0, x1, class
    truth: np.ndarray | None  # (grid, grid)


@dataclass(frozen=True)
class ThumbnailRow:
    label: str
    activation: str
    test_accuracy: float | None
    probabilities: np.ndarray | None  # (grid, grid), P(class 1)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _real(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _blob(array: np.ndarray | None) -> bytes | None:
    return None if array is None else np.ascontiguousarray(array, dtype="<f4").tobytes()


def _array(blob: Any, grid: int, store: Store, where: str) -> np.ndarray | None:
    if blob is None:
        return None
    if not isinstance(blob, bytes) or len(blob) != 4 * grid * grid:
        raise damaged(store.path, f"{where} is not a {grid} × {grid} float32 grid")
    return np.frombuffer(blob, dtype="<f4").reshape(grid, grid).astype(np.float64)


# ---------------------------------------------------------------------------------------------- writes
def write_costs(store: Store, rows: Sequence[Mapping[str, Any]]) -> None:
    """Record timed modules; each mapping has the :class:`CostRow` fields (``measured`` defaults to now)."""
    with store._write() as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO cost (label, activation, params, batch, width, layers, median, spread, best,"
            " rounds, calls, threads, load, measured) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r["label"], r["activation"], json.dumps(dict(r.get("params") or {}), sort_keys=True), int(r["batch"]),
              int(r["width"]), int(r["layers"]), _real(r.get("median")), _real(r.get("spread")), _real(r.get("best")),
              json.dumps([float(v) for v in r.get("rounds", ())]), int(r["calls"]), int(r["threads"]),
              _real(r.get("load")), r.get("measured") or _now()) for r in rows])


def write_thumbnails(store: Store, frame: ThumbnailFrame, rows: Sequence[ThumbnailRow]) -> None:
    """Record the thumbnails' frame (replacing any) and one row per label."""
    points = [[round(float(a), 6), round(float(b), 6), int(c)] for a, b, c in np.asarray(frame.points)]
    with store._write() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO thumbnail_frame (id, dataset, recipe, window, grid, points, truth)"
            " VALUES (1, ?, ?, ?, ?, ?, ?)",
            (frame.dataset, json.dumps(frame.recipe, sort_keys=True), json.dumps([float(v) for v in frame.window]),
             int(frame.grid), json.dumps(points), _blob(frame.truth)))
        conn.executemany(
            "INSERT OR REPLACE INTO thumbnails (label, activation, test_accuracy, probabilities) VALUES (?, ?, ?, ?)",
            [(r.label, r.activation, _real(r.test_accuracy), _blob(r.probabilities)) for r in rows])


# ----------------------------------------------------------------------------------------------- reads
def read_costs(store: Store) -> dict[str, CostRow]:
    """label → its timed module (empty for a store measured before the table existed)."""

    def read() -> dict[str, CostRow]:
        out = {}
        for row in store._conn.execute("SELECT * FROM cost ORDER BY label"):
            data = dict(row)
            where = f"the cost of {data['label']!r}"
            check_numbers(data, store.path, where, integers=("batch", "width", "layers", "calls", "threads"),
                          reals=("median", "spread", "best", "load"), required=("batch", "width", "layers"))
            data["params"] = decode_json(data["params"], store.path, where)
            rounds = decode_json(data["rounds"], store.path, where, kind=list)
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in rounds):
                raise damaged(store.path, f"{where}: the rounds are not numbers")
            data["rounds"] = tuple(float(v) for v in rounds)
            out[data["label"]] = CostRow(**data)
        return out

    return _guarded(store, read)


def read_thumbnails(store: Store) -> tuple[ThumbnailFrame | None, dict[str, ThumbnailRow]]:
    """The thumbnails' frame and label → thumbnail; (None, {}) when none were drawn."""

    def read() -> tuple[ThumbnailFrame | None, dict[str, ThumbnailRow]]:
        row = store._conn.execute("SELECT * FROM thumbnail_frame WHERE id = 1").fetchone()
        if row is None:
            return None, {}
        data = dict(row)
        check_numbers(data, store.path, "the thumbnails' frame", integers=("grid",), required=("grid",))
        grid = int(data["grid"])
        window = decode_json(data["window"], store.path, "the thumbnails' window", kind=list)
        points = decode_json(data["points"], store.path, "the thumbnails' points", kind=list)
        try:
            points_array = np.asarray(points, dtype=np.float64).reshape(-1, 3)
            window_tuple = tuple(float(v) for v in window)
        except (TypeError, ValueError):
            raise damaged(store.path, "the thumbnails' points or window are not numbers") from None
        if len(window_tuple) != 4 or grid < 2:
            raise damaged(store.path, f"the thumbnails' window {window!r} / grid {grid!r}")
        frame = ThumbnailFrame(dataset=str(data["dataset"]),
                               recipe=decode_json(data["recipe"], store.path, "the thumbnails' recipe"),
                               window=window_tuple,  # type: ignore[arg-type]
                               grid=grid, points=points_array,
                               truth=_array(data["truth"], grid, store, "the thumbnails' true boundary"))
        rows = {}
        for thumb in store._conn.execute("SELECT * FROM thumbnails ORDER BY label"):
            item = dict(thumb)
            where = f"the thumbnail of {item['label']!r}"
            check_numbers(item, store.path, where, reals=("test_accuracy",))
            rows[item["label"]] = ThumbnailRow(item["label"], item["activation"], item["test_accuracy"],
                                               _array(item["probabilities"], grid, store, where))
        return frame, rows

    return _guarded(store, read)


def _guarded(store: Store, read: Any) -> Any:
    """``read()`` as a guarded store read (one state of the file; SQLite errors name the file)."""
    from actlab.store.guard import guarded_read

    @guarded_read
    def method(self: Store) -> Any:
        return read()

    return method(store)
