"""The forked SymPy worker ends when the process that forked it dies, however it dies.

Before, the worker kept the caller's end of its own pipe open, so it never saw EOF: after an ``os._exit``
or SIGKILL of the caller (a pytest-timeout, a crash) it lived on, holding every descriptor it inherited
(a test runner's output pipe, Playwright's driver pipe, a server's listening socket) — a hung CI job.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from actlab.formula import budget

SCRIPT = """
import os, sys
from actlab.formula import budget
worker = budget._worker()
print(worker.process.pid, flush=True)
os._exit(0)  # no atexit: multiprocessing does not get to terminate its daemonic children
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not budget.worker_enabled() or not os.path.isdir("/proc"), reason="needs fork and /proc")
def test_worker_ends_when_its_caller_dies(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    with open(tmp_path / "out", "w") as out:  # a file, not a pipe: an orphan holding it cannot hang this test
        subprocess.run([sys.executable, "-c", SCRIPT], stdout=out, timeout=120, env=env, check=True)
    pid = int((tmp_path / "out").read_text().split()[0])
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, 9)
        pytest.fail("the formula worker outlived the process that forked it")
