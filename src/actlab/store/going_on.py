"""What to tell the user after a sweep's write failed (a full disk, a file-size limit, an I/O error): resume when
the store holds a sweep to resume, else run the same command again — ``--resume`` has nothing to start from."""
from __future__ import annotations

from pathlib import Path

from actlab.errors import ActlabError, StorageError

__all__ = ["after_failed_write", "holds_sweep"]

_KEPT = "; what was stored before is kept"  # where storage_error's advice begins


def holds_sweep(run_dir: str | Path) -> bool:
    """The directory's store holds a sweep (its config), which ``--resume`` continues."""
    from actlab.store.db import Store, is_store

    if not is_store(run_dir):
        return False
    try:
        with Store(run_dir, readonly=True) as store:
            return store.sweep() is not None
    except ActlabError:  # no tables yet (the first write failed), damaged, unreadable: nothing to resume
        return False


def after_failed_write(error: StorageError, run_dir: str | Path, *, resume: str, again: str) -> StorageError:
    """``error`` (a ``"full"`` or ``"io"`` :class:`StorageError` met while sweeping into ``run_dir``) with the command
    that goes on: ``resume`` when the store holds a sweep, else ``again`` (the same sweep without ``--resume``)."""
    if holds_sweep(run_dir):
        return StorageError(f"{error}: {resume}", path=error.path, kind=error.kind)
    head = str(error).partition(_KEPT)[0]
    fix = "free space (or raise the limit)" if error.kind == "full" else \
        "check the disk (free space, file-size limit, the device)"
    return StorageError(f"{head}; nothing was stored yet, so there is nothing to resume: {fix}, then run the same "
                        f"command again (without --resume): {again}", path=error.path, kind=error.kind)
