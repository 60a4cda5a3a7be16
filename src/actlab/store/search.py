"""The search tables of a store (migration 6): what ``actlab search`` generated, screened and raced.

``search``             one row: the search's options and plan (JSON), when it began, the command.
``search_candidates``  every generated formula, its canonical key, the first one it repeats.
``search_screen``      one verdict per (candidate, rule) the screen applied (it stops at a failure).
``search_rungs``       one row per rung of the race: budget, seeds, who entered and who went on.
``search_runs``        one row per trained (rung, candidate, seed): validation and test metrics.

:class:`SearchTables` wraps an open :class:`~actlab.store.Store`; writes are upserts, so a search
that resumes writes the same rows again without duplicating any.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from actlab.store.db import Store
from actlab.store.guard import decode_json

__all__ = ["SearchTables"]


def _real(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class SearchTables:
    """Reads and writes of the search tables of ``store``."""

    def __init__(self, store: Store):
        self.store = store

    # -------------------------------------------------------------- writes
    def begin(self, config: Mapping[str, Any], command: str) -> None:
        created = datetime.now(UTC).isoformat(timespec="seconds")
        with self.store._write() as conn:
            conn.execute("INSERT OR REPLACE INTO search (id, config, created, command) VALUES "
                         "(1, ?, COALESCE((SELECT created FROM search WHERE id = 1), ?), ?)",
                         (json.dumps(dict(config), sort_keys=True), created, command))

    def add_candidates(self, rows: Iterable[tuple[int, str, str, str, int | None]]) -> None:
        with self.store._write() as conn:
            conn.executemany("INSERT OR REPLACE INTO search_candidates (id, formula, origin, canonical, duplicate_of) "
                             "VALUES (?, ?, ?, ?, ?)", list(rows))

    def set_trained(self, candidate: int, formula: str) -> None:
        with self.store._write() as conn:
            conn.execute("UPDATE search_candidates SET trained = ? WHERE id = ?", (formula, candidate))

    def set_details(self, candidate: int, details: Mapping[str, Any]) -> None:
        with self.store._write() as conn:
            conn.execute("UPDATE search_candidates SET details = ? WHERE id = ?",
                         (json.dumps(dict(details), sort_keys=True, allow_nan=False), candidate))

    def add_verdicts(self, rows: Iterable[tuple[int, str, bool, float | None, str]]) -> None:
        with self.store._write() as conn:
            conn.executemany("INSERT OR REPLACE INTO search_screen (candidate, rule, passed, value, detail) "
                             "VALUES (?, ?, ?, ?, ?)", [(c, r, int(p), _real(v), d) for c, r, p, v, d in rows])

    def open_rung(self, rung: int, steps: int, seeds: int, entered: Sequence[int]) -> None:
        with self.store._write() as conn:
            conn.execute("INSERT OR IGNORE INTO search_rungs (rung, steps, seeds, entered) VALUES (?, ?, ?, ?)",
                         (rung, steps, seeds, json.dumps(list(entered))))

    def close_rung(self, rung: int, kept: Sequence[int], seconds: float) -> None:
        with self.store._write() as conn:
            conn.execute("UPDATE search_rungs SET kept = ?, seconds = COALESCE(seconds, 0) + ? WHERE rung = ?",
                         (json.dumps(list(kept)), float(seconds), rung))

    def add_runs(self, rows: Iterable[tuple]) -> None:
        """(rung, candidate, seed, status, val_loss, val_accuracy, test_loss, test_accuracy) rows."""
        with self.store._write() as conn:
            conn.executemany("INSERT OR REPLACE INTO search_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             [(r, c, s, st, *(_real(v) for v in rest)) for r, c, s, st, *rest in rows])

    # -------------------------------------------------------------- reads

    def config(self) -> dict[str, Any] | None:
        row = self.store._conn.execute("SELECT config, created, command FROM search WHERE id = 1").fetchone()
        if row is None:
            return None
        return {**decode_json(row["config"], self.store.path, "search.config"), "_created": row["created"],
                "_command": row["command"]}


    def candidates(self) -> list[dict[str, Any]]:
        rows = self.store._conn.execute("SELECT * FROM search_candidates ORDER BY id").fetchall()
        out = []
        for row in rows:
            item = dict(row)
            item["details"] = decode_json(row["details"], self.store.path, "search_candidates.details") \
                if row["details"] else None
            out.append(item)
        return out


    def verdicts(self) -> dict[int, dict[str, dict[str, Any]]]:
        out: dict[int, dict[str, dict[str, Any]]] = {}
        for row in self.store._conn.execute("SELECT * FROM search_screen ORDER BY candidate, rowid"):
            out.setdefault(row["candidate"], {})[row["rule"]] = {"passed": bool(row["passed"]), "value": row["value"],
                                                                 "detail": row["detail"]}
        return out


    def rungs(self) -> list[dict[str, Any]]:
        out = []
        for row in self.store._conn.execute("SELECT * FROM search_rungs ORDER BY rung"):
            item = dict(row)
            item["entered"] = json.loads(row["entered"])
            item["kept"] = None if row["kept"] is None else json.loads(row["kept"])
            out.append(item)
        return out


    def runs(self, rung: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM search_runs" + ("" if rung is None else " WHERE rung = ?") + " ORDER BY rung, candidate, seed"
        return [dict(row) for row in self.store._conn.execute(sql, () if rung is None else (rung,))]
