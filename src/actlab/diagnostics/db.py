"""The diagnose store: ``OUT/diagnostics.sqlite`` (WAL), so an interrupted or extended run resumes.

Tables
------
``setup``       one row: the resolved :class:`~actlab.diagnostics.presets.Setup` (JSON) and its fingerprint.
``runs``        one row per (activation, seed): status (running | finished | diverged), steps taken,
                steps whose gradient clipping changed, why it diverged, seconds.
``points``      one row per measurement: run, optimiser step, epoch (fractional), evaluation loss.
``layers``      one row per (measurement, hidden layer): the measures of
                :class:`~actlab.analysis.layer_measures.LayerMeasures` (NaN stored as NULL).
``histograms``  activation histograms per hidden layer at ``init`` and at the ``end`` (JSON edges/counts).

A re-run with the same setup skips finished runs and restarts unfinished ones from
scratch (their rows are deleted first); a setup with different numbers is refused.
"""
from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from actlab.errors import ActlabError
from actlab.store.sqlite import connect, transaction

__all__ = ["DB_NAME", "MEASURE_COLUMNS", "DiagnoseStore"]

DB_NAME = "diagnostics.sqlite"
SCHEMA_VERSION = 1
MEASURE_COLUMNS = ("speed", "weight_grad_norm", "update_ratio", "mean", "std", "saturated_fraction",
                   "zero_fraction", "dead_fraction", "units")
_NAN_AS_NULL = ("speed", "weight_grad_norm", "mean", "std", "zero_fraction", "dead_fraction")  # read back as NaN

_SCHEMA = """
CREATE TABLE IF NOT EXISTS setup (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    options     TEXT NOT NULL,
    fingerprint TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id        TEXT PRIMARY KEY,
    activation    TEXT NOT NULL,
    seed          INTEGER NOT NULL,
    status        TEXT NOT NULL,
    steps         INTEGER NOT NULL DEFAULT 0,
    clipped_steps INTEGER NOT NULL DEFAULT 0,
    reason        TEXT NOT NULL DEFAULT '',
    seconds       REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS points (
    run_id TEXT NOT NULL,
    step   INTEGER NOT NULL,
    epoch  REAL NOT NULL,
    loss   REAL,
    PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS layers (
    run_id TEXT NOT NULL,
    step   INTEGER NOT NULL,
    layer  INTEGER NOT NULL,
    speed REAL, weight_grad_norm REAL, update_ratio REAL, mean REAL, std REAL,
    saturated_fraction REAL, zero_fraction REAL, dead_fraction REAL, units INTEGER,
    PRIMARY KEY (run_id, step, layer)
);
CREATE TABLE IF NOT EXISTS histograms (
    run_id TEXT NOT NULL,
    point  TEXT NOT NULL,
    layer  INTEGER NOT NULL,
    edges  TEXT NOT NULL,
    counts TEXT NOT NULL,
    PRIMARY KEY (run_id, point, layer)
);
"""


def _sql(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


class DiagnoseStore:
    """The SQLite file of one diagnose output directory."""

    def __init__(self, out: Path) -> None:
        self.path = Path(out) / DB_NAME
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.connection = connect(self.path)
        except (OSError, sqlite3.Error) as error:
            raise ActlabError(f"cannot open the diagnose store {self.path}: {error}") from None
        version = self.connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ActlabError(f"{self.path} was written by a newer actlab (schema {version})")
        self.connection.executescript(_SCHEMA)
        self.connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> DiagnoseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.connection)

    # ------------------------------------------------------------------ setup
    def claim(self, options: dict[str, Any], fingerprint: str) -> None:
        """Record the setup, or check that the stored one has the same fingerprint."""
        row = self.connection.execute("SELECT fingerprint, options FROM setup WHERE id = 1").fetchone()
        if row is None:
            with self.transaction() as db:
                db.execute("INSERT INTO setup (id, options, fingerprint) VALUES (1, ?, ?)",
                           (json.dumps(options, sort_keys=True), fingerprint))
            return
        if row[0] != fingerprint:
            stored = json.loads(row[1])
            changed = sorted(k for k in options if k not in ("seeds", "preset", "activations")
                             and stored.get(k) != options[k])
            raise ActlabError(f"{self.path.parent} holds a diagnose run with other options "
                              f"({', '.join(changed) + ' differ' if changed else 'trained by an earlier version of the trainer'}); "
                              "choose another -o directory")
        with self.transaction() as db:
            db.execute("UPDATE setup SET options = ? WHERE id = 1", (json.dumps(options, sort_keys=True),))

    # ------------------------------------------------------------------- runs
    def status(self, run_id: str) -> str | None:
        row = self.connection.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return row[0] if row else None

    def start_run(self, run_id: str, activation: str, seed: int) -> None:
        """Forget any earlier unfinished attempt and mark the run as running."""
        with self.transaction() as db:
            for table in ("points", "layers", "histograms"):
                db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            db.execute("INSERT OR REPLACE INTO runs (run_id, activation, seed, status) VALUES (?, ?, ?, 'running')",
                       (run_id, activation, seed))

    def add_point(self, run_id: str, step: int, epoch: float, loss: float, layers: Sequence[dict[str, Any]]) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?)", (run_id, step, epoch, _sql(loss)))
            for layer in layers:
                db.execute(
                    f"INSERT OR REPLACE INTO layers (run_id, step, layer, {', '.join(MEASURE_COLUMNS)}) "
                    f"VALUES (?, ?, ?, {', '.join('?' * len(MEASURE_COLUMNS))})",
                    (run_id, step, layer["layer"], *(_sql(layer[c]) for c in MEASURE_COLUMNS)),
                )

    def add_histogram(self, run_id: str, point: str, layer: int, edges: list[float], counts: list[int]) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO histograms VALUES (?, ?, ?, ?, ?)",
                       (run_id, point, layer, json.dumps(edges), json.dumps(counts)))

    def finish_run(self, run_id: str, status: str, steps: int, clipped_steps: int, reason: str, seconds: float) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET status = ?, steps = ?, clipped_steps = ?, reason = ?, seconds = ? "
                       "WHERE run_id = ?", (status, steps, clipped_steps, reason, seconds, run_id))

    # ------------------------------------------------------------------ reads
    def runs(self) -> list[dict[str, Any]]:
        cursor = self.connection.execute(
            "SELECT run_id, activation, seed, status, steps, clipped_steps, reason, seconds FROM runs ORDER BY rowid")
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor]

    def points(self, run_id: str) -> list[dict[str, Any]]:
        """Measurement points of a run in step order, each with its ``layers`` (list of dicts)."""
        points = [
            {"step": step, "epoch": epoch, "loss": math.nan if loss is None else loss, "layers": []}
            for step, epoch, loss in self.connection.execute(
                "SELECT step, epoch, loss FROM points WHERE run_id = ? ORDER BY step", (run_id,))
        ]
        by_step = {p["step"]: p for p in points}
        cursor = self.connection.execute(
            f"SELECT step, layer, {', '.join(MEASURE_COLUMNS)} FROM layers WHERE run_id = ? ORDER BY step, layer",
            (run_id,))
        for step, layer, *values in cursor:
            row = {"layer": layer, **dict(zip(MEASURE_COLUMNS, values))}
            for key in _NAN_AS_NULL:
                if row[key] is None:
                    row[key] = math.nan
            if step in by_step:
                by_step[step]["layers"].append(row)
        return points

    def histograms(self, run_id: str, point: str) -> list[tuple[list[float], list[int]]]:
        cursor = self.connection.execute(
            "SELECT edges, counts FROM histograms WHERE run_id = ? AND point = ? ORDER BY layer", (run_id, point))
        return [(json.loads(edges), json.loads(counts)) for edges, counts in cursor]
