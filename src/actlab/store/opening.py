"""Opening a sweep's SQLite file: create or refuse, read-only or writable, migrate, check the schema;
closing it; one write transaction whose SQLite errors name the file."""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Self, TypeVar

from actlab.errors import ActlabError, StorageError, storage_error
from actlab.store import migrations
from actlab.store.guard import check_schema, damaged, guarded_read, table_names
from actlab.store.migrations import SCHEMA_VERSION
from actlab.store.sqlite import connect, connect_readonly, file_stamp, is_quiescent, transaction

__all__ = ["DB_NAME", "StoreFile", "is_store", "make_dir"]

DB_NAME = "results.sqlite"
T = TypeVar("T")


def is_store(run_dir: str | Path) -> bool:
    return (Path(run_dir) / DB_NAME).is_file()


def make_dir(path: Path) -> None:
    """Create ``path`` (and parents); a clear ActlabError when that is impossible."""
    if not str(path).strip():
        raise ActlabError("empty directory path")
    if path.exists() and not path.is_dir():
        raise ActlabError(f"cannot use {path} as a directory: a file of that name exists")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ActlabError(f"cannot create directory {path}: {error.strerror or error}") from None


def _has_header(path: Path, wait: float = 1.0) -> bool:
    """The file has grown past 0 bytes, now or within ``wait`` seconds (a store another process is creating)."""
    import time

    deadline = time.monotonic() + wait
    while path.stat().st_size == 0:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


@contextmanager
def _translated(path: Path, transaction: AbstractContextManager[sqlite3.Connection]) -> Iterator[sqlite3.Connection]:
    """A write whose SQLite error (disk full, I/O error, read-only, damaged) becomes a StorageError naming ``path``;
    errors of the caller's own (an ActlabError, a constraint a bug broke) pass unchanged."""
    try:
        with transaction as connection:
            yield connection
    except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
        raise
    except sqlite3.DatabaseError as error:
        raise storage_error(path, error) from None


class StoreFile:
    """The file under a :class:`~actlab.store.db.Store`: how it is opened, checked, written and closed."""

    def __init__(self, run_dir: str | Path, *, create: bool = True, readonly: bool = False) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / DB_NAME
        self.readonly = readonly
        self._snapshot = False
        create = create and not readonly
        if self.path.is_dir():
            raise ActlabError(f"{self.path} is a directory, not an actlab store")
        if not self.path.is_file():
            if not create:
                raise ActlabError(f"{self.run_dir} holds no actlab results ({DB_NAME} not found)")
            make_dir(self.run_dir)
        elif not create and not _has_header(self.path):  # opening an existing store: an empty file is none
            # (while creating, a 0-byte file is another process's store being born: SQLite writes the header later;
            # a reader gives it a moment to appear)
            raise ActlabError(f"{self.path} is an empty file, not an actlab store; move it away (or delete it) "
                              "to start a new sweep there")
        if readonly:
            self._open_readonly()
            return
        existing = self.path.is_file() and self.path.stat().st_size > 0
        if existing:
            self._refuse_foreign()
        try:
            self._conn = connect(self.path)
        except sqlite3.DatabaseError as error:
            raise self._open_error(error) from None
        try:
            self._conn.row_factory = sqlite3.Row
            if existing and (check := self._conn.execute("PRAGMA quick_check").fetchone()[0]) != "ok":
                raise damaged(self.path, f"SQLite's check says {check!r}")  # before anything is written into it
            self._migrate()
            check_schema(self._conn, self.path)
        except BaseException as error:
            self._conn.close()
            if isinstance(error, (sqlite3.DatabaseError, UnicodeDecodeError)):
                raise self._open_error(error) from None
            raise

    def _open_error(self, error: sqlite3.DatabaseError | UnicodeDecodeError) -> ActlabError:
        if isinstance(error, UnicodeDecodeError):
            return damaged(self.path, f"a text value is not valid UTF-8 ({error.reason})")
        if any(word in str(error).lower() for word in ("not a database", "encrypted")):
            return ActlabError(f"{self.path} is not a readable actlab store: {error}")
        return storage_error(self.path, error, doing="open")

    def _open_readonly(self) -> None:
        """Open for reading; an older schema is upgraded first where the file may be written, else refused."""
        try:
            self._reopen()
            version, tables = self._consistent(lambda: (self._user_version(), table_names(self._conn)))
        except (sqlite3.DatabaseError, UnicodeDecodeError) as error:
            if hasattr(self, "_conn"):
                self._conn.close()
            raise self._open_error(error) from None
        try:
            if version == 0:
                if tables:
                    self._refuse_foreign(version, tables)
                raise ActlabError(f"{self.run_dir} holds no actlab results yet ({DB_NAME} has no tables)")
            if version > SCHEMA_VERSION:
                self._migrate()  # raises: a newer actlab wrote it
            if version < SCHEMA_VERSION:
                if not (os.access(self.path, os.W_OK) and os.access(self.run_dir, os.W_OK)):
                    raise ActlabError(f"{self.path} was written by an older actlab (schema {version} < "
                                      f"{SCHEMA_VERSION}) and needs a one-time upgrade, but it is read-only: copy "
                                      "the directory somewhere writable and use the copy")
                self._conn.close()
                type(self)(self.run_dir, create=False).close()  # the upgrade (a short write)
                self._reopen()
            self._consistent(lambda: check_schema(self._conn, self.path))
        except BaseException:
            self._conn.close()
            raise

    def _user_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _reopen(self) -> None:
        if getattr(self, "_conn", None) is not None:
            self._conn.close()
        self._conn, self._snapshot = connect_readonly(self.path)
        self._conn.row_factory = sqlite3.Row

    def _consistent(self, read: Callable[[], T]) -> T:
        """``read()`` on one state of the file.  A snapshot (``immutable``) connection is reopened live once a
        writer has connected; a writer that connected and folded its log into the file during the read (which a
        snapshot does not notice) makes it read again."""
        for attempt in range(4):
            if self._snapshot and not is_quiescent(self.path):
                self._reopen()
            before = file_stamp(self.path) if self._snapshot else None
            try:
                result = read()
            except (sqlite3.DatabaseError, StorageError, UnicodeDecodeError):
                if before is None or file_stamp(self.path) == before or attempt == 3:
                    raise
            else:
                if before is None or file_stamp(self.path) == before:
                    return result
            self._reopen()
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------ plumbing
    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        return _translated(self.path, transaction(self._conn))

    def _refuse_foreign(self, version: int | None = None, tables: set[str] | None = None) -> None:
        """A database actlab never wrote to (user_version 0 with tables) is refused before anything touches it."""
        if version is None or tables is None:
            try:
                probe, _ = connect_readonly(self.path, snapshot=False)  # a writer follows: no immutable snapshot
                try:
                    version = int(probe.execute("PRAGMA user_version").fetchone()[0])
                    tables = table_names(probe)
                finally:
                    probe.close()
            except (sqlite3.DatabaseError, UnicodeDecodeError) as error:
                raise self._open_error(error) from None
        if version == 0 and tables:
            raise ActlabError(f"{self.path} is a SQLite database that is not an actlab store (tables: "
                              f"{', '.join(sorted(tables)[:5])}); it is left untouched: use another --out")

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ActlabError(
                f"{self.path} was written by a newer actlab (schema {version} > {SCHEMA_VERSION})"
            )
        if version < SCHEMA_VERSION:
            with self._write() as conn:
                migrations.apply(conn, version)

    @guarded_read
    def integrity_check(self) -> str:
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0]

