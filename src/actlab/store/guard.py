"""What stands between a damaged or foreign database and a traceback: the schema check on open, read errors
turned into messages that name the file, JSON and number columns checked as they are read."""
from __future__ import annotations

import functools
import json
import math
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from actlab.errors import StorageError, storage_error
from actlab.store.migrations import MIGRATIONS

__all__ = ["expected_tables", "check_schema", "guarded_read", "decode_json", "check_numbers", "damaged"]

F = TypeVar("F", bound=Callable[..., Any])


def expected_tables() -> set[str]:
    """The tables the migrations create."""
    return {name for script in MIGRATIONS for name in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", script)}


def damaged(path: Path | str, what: str) -> StorageError:
    return StorageError(f"{path} is damaged: {what}; it is left unchanged: restore it from a backup, or start "
                        "again in another directory", path=path, kind="damaged")


def table_names(connection: sqlite3.Connection) -> set[str]:
    return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def check_schema(connection: sqlite3.Connection, path: Path) -> None:
    """Every table of the current schema is there (a dropped ``epochs`` table is named, not met later)."""
    try:
        missing = sorted(expected_tables() - table_names(connection))
    except sqlite3.DatabaseError as error:
        raise storage_error(path, error, doing="read") from None
    if missing:
        raise damaged(path, f"table{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing")


def guarded_read(method: F) -> F:
    """A read of the store, seeing one state of the file (``Store._consistent``); a SQLite error on the way (a
    damaged page, a missing table) becomes a :class:`~actlab.errors.StorageError` naming the file."""

    @functools.wraps(method)
    def read(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return self._consistent(lambda: method(self, *args, **kwargs))
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.IntegrityError):  # pragma: no cover - not a read problem
                raise
            raise storage_error(self.path, error, doing="read") from None
        except UnicodeDecodeError as error:  # a flipped byte in a text value
            raise damaged(self.path, f"a text value is not valid UTF-8 ({error.reason})") from None

    return read  # type: ignore[return-value]


def decode_json(text: Any, path: Path, where: str, kind: type = dict) -> Any:
    """``text`` parsed as JSON and checked to be a ``kind``; a damaged value is named (``where``)."""
    if text is None or text == "":
        return kind()
    if not isinstance(text, str):
        raise damaged(path, f"{where} holds {text!r}, not JSON text")
    try:
        value = json.loads(text)
    except ValueError as error:  # json.JSONDecodeError, and RecursionError-free nesting errors
        raise damaged(path, f"{where} is not valid JSON ({error})") from None
    except RecursionError:
        raise damaged(path, f"{where} is nested too deeply to read") from None
    if not isinstance(value, kind):
        raise damaged(path, f"{where} holds a JSON {type(value).__name__}, not a {kind.__name__}")
    return value


def check_numbers(data: Mapping[str, Any], path: Path, where: str, integers: Iterable[str] = (),
                  reals: Iterable[str] = (), required: Iterable[str] = ()) -> None:
    """Columns that must hold numbers do (SQLite keeps text in a REAL column as text)."""
    needed = set(required)
    for column in integers:
        value = data.get(column)
        if value is None and column not in needed:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                continue
            raise damaged(path, f"{where}: {column} holds {value!r}, not a whole number")
    for column in reals:
        value = data.get(column)
        if value is None and column not in needed:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise damaged(path, f"{where}: {column} holds {value!r}, not a number")
        if isinstance(value, float) and math.isnan(value):  # pragma: no cover - SQLite stores NaN as NULL
            raise damaged(path, f"{where}: {column} holds NaN")
