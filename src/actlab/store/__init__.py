"""The results store: one SQLite database per sweep directory, its migrations, and export (re-exports only)."""
from __future__ import annotations

from actlab.store.db import (
    DB_NAME,
    STATUSES,
    EpochRow,
    RunRow,
    Store,
    is_store,
    library_versions,
    make_dir,
)
from actlab.store.export import to_csv, to_parquet, to_tensorboard
from actlab.store.migrations import MIGRATIONS, SCHEMA_VERSION

__all__ = [
    "DB_NAME",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STATUSES",
    "EpochRow",
    "RunRow",
    "Store",
    "is_store",
    "library_versions",
    "make_dir",
    "to_csv",
    "to_parquet",
    "to_tensorboard",
]
