"""Writing a file whole or not at all: into a hidden temporary file beside it, then one rename.

A full disk, a file-size limit (``ulimit -f``) or a read-only place then leaves the previous file (or none) — never
a truncated one — and the error becomes a :class:`~actlab.errors.StorageError` that names the file and says what
to do.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from actlab.errors import storage_error

__all__ = ["replacing", "staged_directory", "temporary_name"]


def temporary_name(path: Path) -> Path:
    """The hidden name ``path`` is written under before the rename (same directory: the rename is atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _with_errno(error: OSError) -> OSError:
    """pyarrow's ``OSError`` says its errno inside a long text (``... Detail: [errno 27] File too large``): the
    plain error for that errno."""
    found = re.search(r"\[errno (\d+)\]", str(error), re.IGNORECASE)
    if not found:
        return error
    code = int(found.group(1))
    return OSError(code, os.strerror(code))


@contextmanager
def replacing(path: str | os.PathLike[str], *, again: str) -> Iterator[Path]:
    """``with replacing(path, again=...) as temporary:`` — write ``temporary``; on leaving the block it is renamed
    to ``path``.  An ``OSError`` on the way (``ENOSPC``, ``EFBIG``, ``EACCES``, ``EROFS``) removes the temporary
    file and raises the :class:`~actlab.errors.StorageError` for ``path`` (``again``: how to go on once there is
    room, e.g. "run the export again")."""
    path = Path(path)
    temporary = temporary_name(path)
    try:
        yield temporary
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise storage_error(path, _with_errno(error), then=again,
                            elsewhere="write it into a writable directory") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextmanager
def _thread_errors() -> Iterator[list[OSError]]:
    """The ``OSError``s that threads started inside the block die of (TensorBoard writes its events from one): kept
    for the caller to raise, instead of a traceback printed on the way."""
    import threading

    before = set(threading.enumerate())
    caught: list[OSError] = []
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if isinstance(args.exc_value, OSError) and args.thread not in before:
            caught.append(args.exc_value)
        else:
            previous(args)

    threading.excepthook = hook
    try:
        yield caught
    finally:
        threading.excepthook = previous


@contextmanager
def staged_directory(directory: str | os.PathLike[str], pattern: str, *, again: str) -> Iterator[Path]:
    """``with staged_directory(directory, "events.*", again=...) as staging:`` — write files into ``staging`` (a
    hidden directory beside ``directory``); on leaving the block the files of ``directory`` that match ``pattern``
    are replaced by the staged ones (each by a rename; other files there are left alone).  An ``OSError`` on the way,
    in this thread or in a thread the block started, leaves ``directory`` as it was and raises the
    :class:`~actlab.errors.StorageError` naming it."""
    import shutil

    directory = Path(directory)
    staging = temporary_name(directory)
    try:
        with _thread_errors() as caught:
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            yield staging
        if caught:
            raise caught[0]
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob(pattern):
            stale.unlink()
        for staged in sorted(staging.glob(pattern)):
            os.replace(staged, directory / staged.name)
    except OSError as error:
        raise storage_error(directory, _with_errno(error), then=again,
                            elsewhere="write it into a writable directory") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
