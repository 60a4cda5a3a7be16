"""The SQLite plumbing every actlab database shares: how a connection is opened (for writing, or read-only),
one write transaction."""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["BUSY_TIMEOUT_MS", "connect", "connect_readonly", "file_stamp", "is_quiescent",
           "transaction"]

BUSY_TIMEOUT_MS = 60_000


def connect(path: Path) -> sqlite3.Connection:
    """WAL mode, ``synchronous=NORMAL``, a busy timeout, foreign keys on; autocommit (explicit transactions)."""
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


def _side_files(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def is_quiescent(path: Path) -> bool:
    """No writer has the database open and nothing waits in a write-ahead log: no ``-wal``, ``-shm`` or
    ``-journal`` beside it (a WAL writer keeps ``-wal`` and ``-shm`` while connected; the last one to close
    folds the log into the file and removes both)."""
    return not any(side.exists() for side in _side_files(path))


def file_stamp(path: Path) -> tuple[int, ...]:
    """What changes when a writer folds its log into the file (or writes it directly)."""
    info = os.stat(path)
    return (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)


def connect_readonly(path: Path, *, snapshot: bool = True) -> tuple[sqlite3.Connection, bool]:
    """Open an existing database for reading only; returns the connection and whether it is a snapshot.

    Nothing is written: ``mode=ro``.  When no writer is connected (:func:`is_quiescent`) the file is opened
    ``immutable=1`` as well, so SQLite creates no ``-wal``/``-shm`` beside it: that is what lets a store in a
    read-only directory (or on a read-only medium) be read at all.  While a writer is connected, the normal
    read-only WAL path is taken, which sees each commit whole (SQLite needs the writer's ``-shm`` then).
    A snapshot does not notice a writer that connects later: compare :func:`file_stamp` before and after a read.
    ``snapshot=False``: never ``immutable`` unless the read-only WAL path is impossible (a writer's probe).
    """
    uri = path.resolve().as_uri()
    snapshot = snapshot and is_quiescent(path)
    query = "mode=ro&immutable=1" if snapshot else "mode=ro"
    try:
        connection = sqlite3.connect(f"{uri}?{query}", uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                                     isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA user_version").fetchone()
    except sqlite3.OperationalError:
        if snapshot:
            raise
        # a -wal/-shm left in a place we may not write (a copy, a read-only mount): read the file as it is
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise
        connection = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None)
        snapshot = True
    return connection, snapshot


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One short write transaction; ``BEGIN IMMEDIATE`` takes the write lock up front so two processes
    never deadlock upgrading read locks.  A failed write is rolled back (SQLite may already have done so
    itself, e.g. on a full disk): the original error is what the caller sees."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        if connection.in_transaction:
            try:
                connection.execute("ROLLBACK")
            except sqlite3.Error:  # the rollback of a failed write can fail too (an I/O error); the first error counts
                pass
        raise
    try:
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            try:
                connection.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        raise
