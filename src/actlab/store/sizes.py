"""Each arm's model size, stored at sweep time for the report and the exports to read (table ``model_size``).

One row per activation label: the trainable parameters of the model that arm trains (tied weights counted once),
the hidden width the builder gave it (the gpt: the FFN's; changed by ``--match params``), and its forward FLOPs
per example with their unit ("token" for the gpt, "sample" otherwise) — :mod:`actlab.models.size`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from actlab.store.db import Store

__all__ = ["SizeRow", "write_sizes", "read_sizes"]


@dataclass(frozen=True)
class SizeRow:
    label: str
    activation: str
    n_parameters: int
    hidden_width: int
    flops: int
    flops_unit: str


def write_sizes(store: Store, rows: Sequence[Mapping[str, Any]]) -> None:
    """Record one size per label (replacing any)."""
    with store._write() as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO model_size (label, activation, n_parameters, hidden_width, flops, flops_unit)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(r["label"], r["activation"], int(r["n_parameters"]), int(r["hidden_width"]), int(r["flops"]),
              str(r["flops_unit"])) for r in rows])


def read_sizes(store: Store) -> dict[str, SizeRow]:
    """label → its size (empty for a store written before sizes were recorded)."""
    from actlab.store.guard import guarded_read

    @guarded_read
    def read(self: Store) -> dict[str, SizeRow]:
        if self._conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'model_size'").fetchone() is None:
            return {}  # a read-only store of an older schema
        return {row["label"]: SizeRow(**dict(row))
                for row in self._conn.execute("SELECT * FROM model_size ORDER BY label")}

    return read(store)
