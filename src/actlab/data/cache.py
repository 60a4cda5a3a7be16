"""The on-disk array cache: where it lives, atomic writes, self-checking reads.

Cached datasets are plain ``.npz`` files (no pickles) in :func:`cache_dir`:
``$ACTLAB_CACHE_DIR`` when set, else ``platformdirs.user_cache_dir("actlab")``.
Each file carries a SHA-256 digest of its arrays (key ``__digest__``); a file
that cannot be read or whose digest does not match is treated as absent, so
the caller rebuilds it. Files are written to a temporary name in the same
folder and moved into place with :func:`os.replace`, so an interrupted write
never leaves a half-written cache behind.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import platformdirs

from actlab.errors import ActlabError

__all__ = ["CACHE_ENV", "cache_dir", "array_digest", "save_arrays", "load_arrays", "cached_arrays", "sha256_file"]

CACHE_ENV = "ACTLAB_CACHE_DIR"
_DIGEST_KEY = "__digest__"


def cache_dir() -> Path:
    """The cache folder (created if needed): ``$ACTLAB_CACHE_DIR`` or the user cache dir."""
    override = os.environ.get(CACHE_ENV, "").strip()
    path = Path(override).expanduser() if override else Path(platformdirs.user_cache_dir("actlab"))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ActlabError(f"cannot create the cache folder {str(path)!r} ({error}); set {CACHE_ENV} to a writable folder") from error
    return path


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def array_digest(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of ``arrays`` (sorted by name)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        if name == _DIGEST_KEY:
            continue
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(memoryview(array).cast("B") if array.size else b"")
    return digest.hexdigest()


def save_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` atomically, with their digest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {name: np.asarray(value) for name, value in arrays.items()}
    payload[_DIGEST_KEY] = np.array(array_digest(payload))
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
    try:
        with handle:
            np.savez(handle, **payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def load_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays saved at ``path``, or ``None`` when missing, unreadable or corrupted."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        return None
    stored = arrays.pop(_DIGEST_KEY, None)
    if stored is None or str(stored) != array_digest(arrays):
        return None
    return arrays


def cached_arrays(filename: str, build: Callable[[], Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Load ``filename`` from the cache, or ``build()`` it, save it and return it."""
    path = cache_dir() / filename
    arrays = load_arrays(path)
    if arrays is None:
        arrays = {name: np.asarray(value) for name, value in build().items()}
        try:
            save_arrays(path, arrays)
        except OSError as error:  # a read-only cache, a full disk, a directory where the file belongs
            warnings.warn(
                f"actlab: cannot write the cache file {path} ({error.strerror or error}); continuing without it "
                f"(set {CACHE_ENV} to a writable folder{', and remove that directory' if path.is_dir() else ''})",
                RuntimeWarning, stacklevel=2,
            )
    return arrays
