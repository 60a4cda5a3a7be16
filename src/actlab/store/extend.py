"""Growing a sweep in place: the epochs each run has, a larger epoch budget recorded, an old fingerprint adopted."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from actlab.store.db import Store, _now
from actlab.store.guard import check_numbers, guarded_read

__all__ = ["last_epochs", "record_extension", "extensions", "adopt_config"]


@guarded_read
def last_epochs(store: Store) -> dict[str, int]:
    """run_id → the last epoch stored for it (runs without epochs are absent)."""
    last = {}
    for row in store._conn.execute("SELECT run_id, MAX(epoch) AS epoch FROM epochs GROUP BY run_id"):
        check_numbers(dict(row), store.path, f"the epochs of run {row[0]!r}", integers=("epoch",), required=("epoch",))
        last[row[0]] = int(row[1])
    return last


def adopt_config(store: Store, config: Mapping[str, Any], fingerprint: str, reproduce: str = "") -> None:
    """Make ``config`` (same results identity, e.g. a larger epoch budget) the sweep's stored config."""
    with store._write() as conn:
        conn.execute("UPDATE sweep SET config = ?, fingerprint = ?, reproduce = COALESCE(NULLIF(?, ''), reproduce)"
                     " WHERE id = 1", (json.dumps(dict(config), sort_keys=True), fingerprint, reproduce))


def record_extension(store: Store, from_epochs: int, to_epochs: int, runs: int, command: str = "") -> None:
    with store._write() as conn:
        conn.execute("INSERT INTO extensions (created, from_epochs, to_epochs, runs, command) VALUES (?, ?, ?, ?, ?)",
                     (_now(), int(from_epochs), int(to_epochs), int(runs), command))


@guarded_read
def extensions(store: Store) -> list[dict[str, Any]]:
    return [dict(row) for row in store._conn.execute("SELECT * FROM extensions ORDER BY id")]
