"""A disk cache for what the catalog commands compute (``show``, ``props``, ``plot`` of catalog records).

A record's description and property table depend only on the record and on actlab's code, so they are
computed once and kept in ``platformdirs.user_cache_dir("actlab")`` (or ``$ACTLAB_CACHE_DIR``), one file per
record, options and *code stamp*: actlab's version plus the size and modification time of every module in
the installed package — any edit, upgrade or reinstall gives a new stamp, and old files are simply never read
again.  Entries are written to a temporary file and renamed into place (atomic on POSIX and Windows), so
concurrent writers never leave a torn file; a reader that finds a damaged or missing file computes the value
again.  A cache that cannot be written (read-only home) costs only the speed.  The property table's
``relative_cost`` is a timing: the cached one is the first measurement, with its spread.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["ENV", "cache_dir", "cached_bytes", "cached_json", "code_stamp"]

ENV = "ACTLAB_CACHE_DIR"
_STAMP: list[str] = []


def cache_dir() -> Path:
    """Where the cache lives: ``$ACTLAB_CACHE_DIR``, else the user cache directory."""
    folder = os.environ.get(ENV)
    if not folder:
        import platformdirs

        folder = platformdirs.user_cache_dir("actlab")
    return Path(folder)


def code_stamp() -> str:
    """actlab's version and a digest of (path, size, mtime) of every module of the package (computed once)."""
    if not _STAMP:
        import actlab

        root = Path(actlab.__file__).parent
        digest = hashlib.sha256(actlab.__version__.encode())
        for folder, dirs, files in sorted(os.walk(root)):
            dirs.sort()
            for name in sorted(files):
                if name.endswith((".py", ".json", ".toml")):
                    info = os.stat(os.path.join(folder, name))
                    digest.update(f"{folder}/{name}:{info.st_size}:{info.st_mtime_ns}".encode())
        _STAMP.append(f"{actlab.__version__}-{digest.hexdigest()[:16]}")
    return _STAMP[0]


def _path(kind: str, key: str, suffix: str) -> Path:
    name = hashlib.sha256(f"{code_stamp()}|{key}".encode()).hexdigest()[:32]
    return cache_dir() / code_stamp() / kind / f"{name}{suffix}"


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        pass  # no cache: slower, never wrong


def cached_json(kind: str, key: str, compute: Callable[[], Any]) -> Any:
    """The JSON value stored for (``kind``, ``key``) under the current code stamp, else ``compute()`` stored."""
    path = _path(kind, key, ".json")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    text = json.dumps(compute(), allow_nan=True, default=_plain)
    _write(path, text.encode("utf-8"))
    return json.loads(text)  # the same types a cache hit returns


def _plain(value: Any) -> Any:
    """NumPy / torch scalars and arrays as Python numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot cache {type(value).__name__}")


def cached_bytes(kind: str, key: str, compute: Callable[[], bytes]) -> bytes:
    """The bytes stored for (``kind``, ``key``) under the current code stamp, else ``compute()`` stored."""
    path = _path(kind, key, ".bin")
    try:
        return path.read_bytes()
    except OSError:
        pass
    value = compute()
    _write(path, value)
    return value
