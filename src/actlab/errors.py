"""Errors that actlab raises on bad input.

Every user-facing problem is an :class:`ActlabError` (a ``ValueError``) whose
message names the offending thing; the CLI turns it into exit code 2.
"""
from __future__ import annotations

import difflib
import errno
import os
from collections.abc import Iterable

__all__ = ["ActlabError", "UnknownNameError", "ParameterError", "StorageError", "storage_error", "suggest"]


class ActlabError(ValueError):
    """Bad input: the message says what is wrong and, where possible, how to fix it."""


class UnknownNameError(ActlabError, KeyError):
    """An identifier that names nothing known; carries close matches."""

    def __init__(self, kind: str, name: str, choices: Iterable[str]):
        self.kind = kind
        self.name = name
        self.suggestions = suggest(name, choices)
        message = f"unknown {kind} {name!r}"
        if self.suggestions:
            message += "; did you mean " + " or ".join(self.suggestions) + "?"
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.args[0]


class ParameterError(ActlabError):
    """A parameter value outside its allowed range, or a parameter that does not exist."""


class StorageError(ActlabError):
    """A file could not be written or read back: disk full, a file-size limit, an I/O error, a read-only place,
    or a damaged store.  ``kind`` is ``"full"``, ``"io"``, ``"readonly"``, ``"damaged"`` or ``"other"``."""

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None, kind: str = "other") -> None:
        super().__init__(message)
        self.path = None if path is None else str(path)
        self.kind = kind


_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
_READONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}


def _size_limit_reached(path: str) -> bool:
    """True when a file-size limit (``ulimit -f``) is set and ``path`` (or its SQLite ``-wal``) is near it, or the
    disk holding it has (almost) no room left: SQLite reports both as a plain "disk I/O error"."""
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        unlimited = limit == resource.RLIM_INFINITY
    except (ImportError, OSError, ValueError):  # pragma: no cover - no resource module (Windows)
        limit, unlimited = 0, True
    for candidate in (path, f"{path}-wal", f"{path}-journal"):
        try:
            size = os.stat(candidate).st_size
        except OSError:
            continue
        if not unlimited and size + 65536 >= limit:
            return True
    try:
        stats = os.statvfs(os.path.dirname(os.path.abspath(path)) or ".")
    except (AttributeError, OSError):  # pragma: no cover - no statvfs
        return False
    return stats.f_bavail * stats.f_frsize < 1 << 20


def storage_error(path: str | os.PathLike[str], error: BaseException, *, doing: str = "write",
                  then: str = "run with --resume", elsewhere: str = "use a writable place") -> StorageError:
    """The :class:`StorageError` for ``error`` (an ``OSError`` or a ``sqlite3`` error) met while ``doing``
    (``"write"``, ``"read"``, ``"open"``) ``path``: a message that names the file and the problem, and says what to
    do (``then``: how to continue once there is room; ``elsewhere``: what to do about a read-only place)."""
    path = str(path)
    code = getattr(error, "errno", None)
    text = (getattr(error, "strerror", None) or str(error) or type(error).__name__).strip()
    lowered = str(error).lower()
    kept = "what was stored before is kept"
    if code in _FULL_ERRNOS or "disk is full" in lowered or "no space left" in lowered or (
            ("disk i/o error" in lowered or code == errno.EIO) and _size_limit_reached(path)):
        return StorageError(f"disk full or file-size limit reached: cannot {doing} {path} ({text}); {kept}: free "
                            f"space (or raise the limit) and {then}", path=path, kind="full")
    if "disk i/o error" in lowered or code == errno.EIO:
        return StorageError(f"disk I/O error: cannot {doing} {path} ({text}); {kept}: check the disk (free space, "
                            f"file-size limit, the device), then {then}", path=path, kind="io")
    if code in _READONLY_ERRNOS or "readonly database" in lowered or "read-only" in lowered:
        return StorageError(f"cannot {doing} {path}: it is read-only ({text}); {elsewhere}",
                            path=path, kind="readonly")
    if any(word in lowered for word in ("malformed", "not a database", "no such table", "no such column",
                                        "corrupt", "could not decode")):
        return StorageError(f"{path} is damaged: {text}; it is left unchanged: restore it from a backup, or start "
                            "again in another directory", path=path, kind="damaged")
    if "locked" in lowered or "busy" in lowered:
        return StorageError(f"cannot {doing} {path}: it is locked by another process ({text}); try again when that "
                            "process has finished", path=path, kind="other")
    return StorageError(f"cannot {doing} {path}: {text}", path=path, kind="other")


def suggest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Close matches for ``name`` among ``choices`` (case-insensitive)."""
    lowered = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[h] for h in hits]
