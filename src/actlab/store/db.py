"""The results store: one SQLite file per sweep directory (``RUN_DIR/results.sqlite``).

Tables
------
``sweep``    one row: the resolved config (JSON), its fingerprint, library versions,
             created time, the exact command line and a reproduce command.
``runs``     one row per run (activation × lr × seed): ``run_id`` primary key, the
             run's spec, ``status`` (pending | running | finished | diverged), where
             a diverged run diverged (epoch, step, reason), wall time, timestamps.
``epochs``   one row per finished epoch, primary key ``(run_id, epoch)``.
``results``  final metrics of a finished run at the point ``report_at`` chose (test
             loss/accuracy, that point's epoch, validation metrics, seconds per epoch).
``result_points``  every reportable point of a finished run (best-val-loss, best-val-acc, final).
``steps``    per-step training losses (``log_every_step``), primary key ``(run_id, step)``.

Every write is idempotent (``INSERT OR REPLACE`` / upserts keyed on ``run_id``),
so replaying an event — after a crash, or from a second process writing the same
cell — never duplicates a row. The database runs in WAL mode with
``synchronous=NORMAL`` and a busy timeout, and each write is its own short
``BEGIN IMMEDIATE`` transaction, so readers (a report, a monitor) never see half a write.
Only one process trains into a directory at a time (``actlab.sweep.lock``: a second
``compare`` is refused); no write deletes another run's epochs. SQLite's WAL needs one
host's shared memory, so a store is written by one machine (a distributed engine sends
events to its driver, which writes). Each epoch is committed as soon as it finishes.

The schema version lives in ``PRAGMA user_version``; later tables are added
by a new entry in :data:`actlab.store.migrations.MIGRATIONS` without touching these.
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from actlab.errors import ActlabError
from actlab.store.guard import check_numbers, damaged, decode_json, guarded_read
from actlab.store.layer_stats import LayerStatsTables
from actlab.store.opening import DB_NAME, StoreFile, is_store, make_dir
from actlab.store.points import PointTables
from actlab.store.rows import EpochRow, PointRow, RunRow, StepRow

__all__ = ["DB_NAME", "STATUSES", "Store", "is_store", "library_versions", "make_dir", "EpochRow", "RunRow",
           "PointRow", "StepRow"]

STATUSES = ("pending", "running", "finished", "diverged")

def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _finite_or_none(value: Any) -> float | None:
    """SQLite turns NaN into NULL anyway; do it explicitly (and for ±inf too)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def library_versions() -> dict[str, str]:
    """Versions that matter for reproducing a result."""
    import platform

    import numpy
    import torch

    import actlab

    return {
        "actlab": actlab.__version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


_RUN_INTEGERS = ("seed", "diverged_epoch", "diverged_step", "best_epoch")
_RUN_REALS = ("lr", "wall_seconds", "test_loss", "test_accuracy", "val_loss", "val_accuracy", "seconds_per_epoch")
_EPOCH_REALS = ("train_loss", "val_loss", "val_accuracy", "seconds")


class Store(StoreFile, LayerStatsTables, PointTables):  # opening, gradient-flow tables, steps and result points
    """A sweep's SQLite store. Open with ``Store(run_dir)``; use as a context manager.

    ``create=False`` refuses a directory that holds no store (``ActlabError``).  ``readonly=True`` (implies
    ``create=False``) writes nothing, not even SQLite's ``-wal``/``-shm`` when no writer is connected, so a store
    in a read-only directory can be reported and exported (see :func:`actlab.store.sqlite.connect_readonly`).
    A damaged store (missing tables, unreadable pages, bad JSON, text in a number column) raises
    :class:`~actlab.errors.StorageError` naming the file, never a raw ``sqlite3``/``json`` error.
    """

    # --------------------------------------------------------------- sweep
    @guarded_read
    def sweep(self) -> dict[str, Any] | None:
        """The sweep row (config and versions decoded), or None for a new store."""
        row = self._conn.execute("SELECT * FROM sweep WHERE id = 1").fetchone()
        if row is None:
            return None
        info = dict(row)
        info["config"] = decode_json(info["config"], self.path, "the sweep's config")
        info["versions"] = decode_json(info["versions"], self.path, "the sweep's library versions")
        if not isinstance(info.get("fingerprint"), str):
            raise damaged(self.path, f"the sweep's fingerprint is {info.get('fingerprint')!r}")
        check_numbers(info, self.path, "the sweep row", reals=("wall_seconds",))
        return info

    def init_sweep(
        self,
        config: Mapping[str, Any],
        fingerprint: str,
        *,
        command: str,
        reproduce: str = "",
        versions: Mapping[str, str] | None = None,
    ) -> bool:
        """Record the sweep once. Returns True when this call created it.

        A store that already holds a sweep with another fingerprint raises
        ``ActlabError``; the same fingerprint is a resume (nothing changes).
        """
        versions = dict(versions or library_versions())
        with self._write() as conn:
            row = conn.execute("SELECT fingerprint FROM sweep WHERE id = 1").fetchone()
            if row is not None:
                if row[0] != fingerprint:
                    raise ActlabError(
                        f"{self.run_dir} already holds a sweep with a different config; "
                        "use another --out or the same options (add --resume to reuse the stored ones)"
                    )
                return False
            conn.execute(
                "INSERT INTO sweep (id, config, fingerprint, versions, created, command, reproduce)"
                " VALUES (1, ?, ?, ?, ?, ?, ?)",
                (json.dumps(dict(config), sort_keys=True), fingerprint, json.dumps(versions), _now(), command, reproduce),
            )
        return True

    def add_wall_time(self, seconds: float) -> None:
        with self._write() as conn:
            conn.execute("UPDATE sweep SET wall_seconds = wall_seconds + ? WHERE id = 1", (float(seconds),))

    # ---------------------------------------------------------------- runs
    def add_runs(self, runs: list[Mapping[str, Any]]) -> None:
        """Register runs as pending; runs already present are left untouched.

        Each mapping has run_id, activation, label, params (dict), seed, lr, spec (dict).
        """
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO runs (run_id, activation, label, params, seed, lr, spec, status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT(run_id) DO NOTHING",
                [
                    (
                        r["run_id"],
                        r["activation"],
                        r.get("label", r["activation"]),
                        json.dumps(r.get("params", {}), sort_keys=True),
                        int(r["seed"]),
                        None if r.get("lr") is None else float(r["lr"]),
                        json.dumps(r.get("spec", {}), sort_keys=True, default=str),
                    )
                    for r in runs
                ],
            )

    @guarded_read
    def unfinished(self, run_ids: list[str] | None = None) -> list[str]:
        """The pending or running runs (of ``run_ids``, if given). Nothing is deleted: a run resumes
        from its checkpoint and rewrites the epochs after it with the same values."""
        rows = self._conn.execute("SELECT run_id FROM runs WHERE status IN ('pending', 'running')").fetchall()
        wanted = None if run_ids is None else set(run_ids)
        return [r[0] for r in rows if wanted is None or r[0] in wanted]

    def reopen(self, run_ids: list[str]) -> None:
        """Finished runs that train further (a larger epoch budget) go back to running; results stay until replaced."""
        with self._write() as conn:
            conn.executemany("UPDATE runs SET status = 'running' WHERE run_id = ? AND status = 'finished'",
                             [(run_id,) for run_id in run_ids])

    def mark_running(self, run_ids: list[str]) -> None:
        with self._write() as conn:
            conn.executemany(
                "UPDATE runs SET status = 'running', started = ? WHERE run_id = ? AND status = 'pending'",
                [(_now(), run_id) for run_id in run_ids],
            )

    def record_epoch(
        self,
        run_id: str,
        epoch: int,
        step: int,
        train_loss: float | None,
        val_loss: float | None,
        val_accuracy: float | None,
        seconds: float | None,
    ) -> None:
        """One finished epoch, committed on its own. Replaying it replaces the row."""
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO epochs (run_id, epoch, step, train_loss, val_loss, val_accuracy, seconds)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    int(epoch),
                    int(step),
                    _finite_or_none(train_loss),
                    _finite_or_none(val_loss),
                    _finite_or_none(val_accuracy),
                    _finite_or_none(seconds),
                ),
            )
            conn.execute(
                "UPDATE runs SET status = 'running', started = COALESCE(started, ?)"
                " WHERE run_id = ? AND status IN ('pending', 'running')",
                (_now(), run_id),
            )

    def record_diverged(self, run_id: str, epoch: int, step: int, reason: str, wall_seconds: float | None = None) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET status = 'diverged', diverged_epoch = ?, diverged_step = ?, reason = ?,"
                " wall_seconds = COALESCE(?, wall_seconds), finished = ? WHERE run_id = ?",
                (int(epoch), int(step), str(reason), _finite_or_none(wall_seconds), _now(), run_id),
            )
            conn.execute("DELETE FROM results WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM result_points WHERE run_id = ?", (run_id,))

    def record_end(
        self,
        run_id: str,
        *,
        best_epoch: int | None,
        test_loss: float | None,
        test_accuracy: float | None,
        val_loss: float | None,
        val_accuracy: float | None,
        seconds_per_epoch: float | None,
        wall_seconds: float | None = None,
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO results (run_id, best_epoch, test_loss, test_accuracy, val_loss,"
                " val_accuracy, seconds_per_epoch) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    None if best_epoch is None else int(best_epoch),
                    _finite_or_none(test_loss),
                    _finite_or_none(test_accuracy),
                    _finite_or_none(val_loss),
                    _finite_or_none(val_accuracy),
                    _finite_or_none(seconds_per_epoch),
                ),
            )
            if wall_seconds is None:
                total = conn.execute("SELECT SUM(seconds) FROM epochs WHERE run_id = ?", (run_id,)).fetchone()[0]
                wall_seconds = total
            conn.execute(
                "UPDATE runs SET status = 'finished', wall_seconds = ?, finished = ?,"
                " diverged_epoch = NULL, diverged_step = NULL, reason = NULL WHERE run_id = ?",
                (_finite_or_none(wall_seconds), _now(), run_id),
            )

    # --------------------------------------------------------------- reads
    @guarded_read
    def runs(self, status: str | None = None) -> list[RunRow]:
        query = (
            "SELECT runs.*, results.best_epoch, results.test_loss, results.test_accuracy, results.val_loss,"
            " results.val_accuracy, results.seconds_per_epoch FROM runs"
            " LEFT JOIN results USING (run_id)"
        )
        args: tuple[Any, ...] = ()
        if status is not None:
            query += " WHERE runs.status = ?"
            args = (status,)
        query += " ORDER BY runs.rowid"
        rows = []
        for row in self._conn.execute(query, args):
            data = dict(row)
            where = f"run {data['run_id']!r}"
            data["params"] = decode_json(data["params"], self.path, f"the parameters of {where}")
            data.pop("spec", None)
            check_numbers(data, self.path, where, integers=_RUN_INTEGERS, reals=_RUN_REALS, required=("seed",))
            if data["status"] not in STATUSES or not isinstance(data["activation"], str):
                raise damaged(self.path, f"{where}: status {data['status']!r}, activation {data['activation']!r}")
            rows.append(RunRow(**data))
        return rows

    @guarded_read
    def run_spec(self, run_id: str) -> dict[str, Any]:
        row = self._conn.execute("SELECT spec FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise ActlabError(f"no run {run_id!r} in {self.path}")
        return decode_json(row[0], self.path, f"the spec of run {run_id!r}")

    @guarded_read
    def status_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for status, n in self._conn.execute("SELECT status, COUNT(*) FROM runs GROUP BY status"):
            counts[status] = n
        return counts

    @guarded_read
    def epochs(self, run_id: str | None = None) -> list[EpochRow]:
        if run_id is None:
            cursor = self._conn.execute(
                "SELECT epochs.* FROM epochs JOIN runs USING (run_id) ORDER BY runs.rowid, epochs.epoch"
            )
        else:
            cursor = self._conn.execute("SELECT * FROM epochs WHERE run_id = ? ORDER BY epoch", (run_id,))
        rows = []
        for row in cursor:
            data = dict(row)
            check_numbers(data, self.path, f"epoch {data['epoch']!r} of run {data['run_id']!r}",
                          integers=("epoch", "step"), reals=_EPOCH_REALS, required=("epoch", "step"))
            rows.append(EpochRow(**data))
        return rows

    @guarded_read
    def validate(self) -> None:
        """Read every row once through the checks (before a sweep writes into an existing store): a damaged row
        is met here, with a message naming it, and not halfway through the sweep."""
        self.sweep()
        self.runs()
        self.epochs()
        self.layer_stats()
        self.clipping()
        self.steps()
        self.points()
        self._consistent(lambda: [decode_json(row[1], self.path, f"the spec of run {row[0]!r}") for row in
                                  self._conn.execute("SELECT run_id, spec FROM runs")])

    @guarded_read
    def _epoch_count(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM epochs").fetchone()[0])

    def wait_for_epochs(self, count: int, timeout: float = 30.0) -> bool:
        """Poll until at least ``count`` epoch rows exist (for tests and monitors)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._epoch_count() >= count:
                return True
            time.sleep(0.05)
        return False


