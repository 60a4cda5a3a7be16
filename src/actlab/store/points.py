"""The store's tables of migration 4: ``steps`` (per-step training losses, ``log_every_step``) and
``result_points`` (every reportable point of a finished run: best-val-loss, best-val-acc, final).

:class:`PointTables` is mixed into :class:`actlab.store.Store`; its writes are idempotent like the rest
of the store (``INSERT OR REPLACE`` on the primary key).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from actlab.store.guard import check_numbers, guarded_read
from actlab.store.rows import PointRow, StepRow

__all__ = ["PointTables"]


def _finite_or_none(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class PointTables:
    """Writes and reads of ``steps`` and ``result_points`` (needs the store's ``_conn``, ``_write`` and ``path``)."""

    def record_steps(self, run_id: str, first_step: int, losses: list[float] | tuple[float, ...]) -> None:
        """Training losses of steps ``first_step``, ``first_step + 1``, … (1-based); replaying replaces them."""
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO steps (run_id, step, train_loss) VALUES (?, ?, ?)",
                [(run_id, int(first_step) + k, _finite_or_none(loss)) for k, loss in enumerate(losses)],
            )

    def record_points(self, run_id: str, points: Mapping[str, Mapping[str, Any]]) -> None:
        """Every reportable point of a finished run ({criterion: {epoch, step, test_loss, ...}})."""
        with self._write() as conn:
            conn.execute("DELETE FROM result_points WHERE run_id = ?", (run_id,))
            conn.executemany(
                "INSERT OR REPLACE INTO result_points (run_id, criterion, epoch, step, test_loss, test_accuracy,"
                " val_loss, val_accuracy) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, criterion, None if p.get("epoch") is None else int(p["epoch"]),
                  None if p.get("step") is None else int(p["step"]), _finite_or_none(p.get("test_loss")),
                  _finite_or_none(p.get("test_accuracy")), _finite_or_none(p.get("val_loss")),
                  _finite_or_none(p.get("val_accuracy"))) for criterion, p in points.items()],
            )

    @guarded_read
    def steps(self, run_id: str | None = None) -> list[StepRow]:
        """Per-step training losses (``log_every_step``), in run order then step order."""
        if run_id is None:
            cursor = self._conn.execute(
                "SELECT steps.* FROM steps JOIN runs USING (run_id) ORDER BY runs.rowid, steps.step")
        else:
            cursor = self._conn.execute("SELECT * FROM steps WHERE run_id = ? ORDER BY step", (run_id,))
        rows = []
        for row in cursor:
            data = dict(row)
            check_numbers(data, self.path, f"step {data['step']!r} of run {data['run_id']!r}",
                          integers=("step",), reals=("train_loss",), required=("step",))
            rows.append(StepRow(**data))
        return rows

    @guarded_read
    def points(self, run_id: str | None = None) -> list[PointRow]:
        """Every reportable point of the finished runs (best-val-loss, best-val-acc, final)."""
        query = "SELECT result_points.* FROM result_points JOIN runs USING (run_id)"
        args: tuple[Any, ...] = ()
        if run_id is not None:
            query += " WHERE run_id = ?"
            args = (run_id,)
        query += " ORDER BY runs.rowid, result_points.criterion"
        rows = []
        for row in self._conn.execute(query, args):
            data = dict(row)
            check_numbers(data, self.path, f"the {data['criterion']!r} point of run {data['run_id']!r}",
                          integers=("epoch", "step"), reals=("test_loss", "test_accuracy", "val_loss",
                                                             "val_accuracy"))
            rows.append(PointRow(**data))
        return rows
