"""One writer per sweep directory: ``RUN_DIR/lock`` holds the pid of the process that trains there.

The file is locked with ``fcntl.flock`` while the sweep runs; the kernel drops that
lock when the process ends in any way (even SIGKILL), so a lock file left by a dead
process is stale by construction and the next sweep takes it over.  A second sweep
on a directory whose lock is held is refused with :class:`SweepLocked`, naming the
other process (pid, host, command, since when).
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from actlab.errors import ActlabError, storage_error

__all__ = ["LOCK_NAME", "SweepLock", "SweepLocked", "holder"]

LOCK_NAME = "lock"


class SweepLocked(ActlabError):
    """Another live process trains in this directory."""


def holder(run_dir: str | Path) -> dict[str, Any] | None:
    """What the lock file says (pid, host, command, since), or None when there is none or it is unreadable."""
    try:
        text = (Path(run_dir) / LOCK_NAME).read_text(encoding="utf-8")
        info = json.loads(text)
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SweepLock:
    """``with SweepLock(run_dir):`` — hold the directory's lock (creating the directory) or raise SweepLocked."""

    def __init__(self, run_dir: str | Path, command: str = "") -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self.command = command or " ".join(sys.argv)
        self._fd: int | None = None
        self.took_over: dict[str, Any] | None = None  # the stale holder this lock replaced, if any

    def acquire(self) -> SweepLock:
        from actlab.store.db import make_dir

        make_dir(self.run_dir)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:  # a directory (or lock file) this user may not write, a full disk
            raise storage_error(self.path, error, elsewhere="use another --out (a directory you may write)") from None
        try:
            self._lock(fd)
        except BaseException as error:
            os.close(fd)
            if isinstance(error, OSError):
                raise storage_error(self.path, error, elsewhere="use another --out") from None
            raise
        self._fd = fd
        return self

    def _lock(self, fd: int) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - no flock (Windows): fall back to the pid in the file
            fcntl = None
        previous = holder(self.run_dir)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SweepLocked(self._refusal(previous)) from None
        elif previous and previous.get("pid") != os.getpid() and _pid_alive(int(previous.get("pid", 0))):
            raise SweepLocked(self._refusal(previous))  # pragma: no cover
        if previous and previous.get("pid") not in (None, os.getpid()):
            self.took_over = previous
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        os.fsync(fd)

    def _refusal(self, info: dict[str, Any] | None) -> str:
        if not info:
            who = "another process"
        else:
            who = f"process {info.get('pid')} on {info.get('host', '?')} (since {info.get('since', '?')}: " \
                  f"{info.get('command', '?')})"
        return (f"{self.run_dir} is in use by {who}; wait for it to finish, stop it (Ctrl-C; then add --resume "
                f"to continue), or use another --out")

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # an empty file: nobody holds it (the flock goes with the close)
        finally:
            os.close(fd)

    def __enter__(self) -> SweepLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
