"""One writer per sweep directory: refusal naming the other process, stale lock takeover, the two-writer
sequence of issue 17 (nothing lost), SIGTERM stops a CLI sweep within a step and it resumes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from actlab.store import Store
from actlab.sweep.lock import LOCK_NAME, SweepLock, SweepLocked, holder

SRC = str(Path(__file__).resolve().parents[2] / "src")
ENV = {**os.environ, "PYTHONPATH": SRC, "ACTLAB_COMPILE": "0"}


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_lock_refuses_a_second_holder_and_names_it(tmp_path):
    holder_code = f"""
import sys, time
sys.path.insert(0, {SRC!r})
from actlab.sweep.lock import SweepLock
with SweepLock({str(tmp_path)!r}, command="actlab compare --out X"):
    print("locked", flush=True)
    time.sleep(60)
"""
    child = subprocess.Popen([sys.executable, "-c", holder_code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(SweepLocked, match=rf"in use by process {child.pid} .*actlab compare --out X"):
            SweepLock(tmp_path).acquire()
    finally:
        child.kill()
        child.wait()
    with SweepLock(tmp_path) as lock:  # the holder died: its lock is stale and taken over
        assert lock.took_over["pid"] == child.pid
        assert holder(tmp_path)["pid"] == os.getpid()
    assert holder(tmp_path) is None  # released: an empty file


def test_stale_lock_file_from_a_dead_process_is_taken_over(tmp_path):
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": _dead_pid(), "host": "h", "command": "c"}))
    with SweepLock(tmp_path, command="mine") as lock:
        assert lock.took_over["command"] == "c"
        assert holder(tmp_path)["command"] == "mine"


SWEEP = ["--dataset", "moons", "--subset", "300", "--acts", "relu,tanh,elu", "--seeds", "2", "--epochs", "40",
         "--batch-size", "16", "--width", "16", "--precision", "fp32", "--quiet"]


def _open_when_created(out, timeout: float = 120.0) -> Store:
    """The store another process is creating, once it is one (the file exists empty for a moment first)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return Store(out, create=False)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.slow
def test_two_writers_lose_nothing(tmp_path):
    """Issue 17: a second compare on the same --out while the first runs; Ctrl-C to the second."""
    out, hold = tmp_path / "D", tmp_path / "hold"
    hold.touch()
    first_code = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {SRC!r})
        from actlab.cli.compare import run_compare
        from actlab.sweep.options import split_list
        def slow(event, hold={str(hold)!r}):
            deadline = time.monotonic() + 90
            while os.path.exists(hold) and time.monotonic() < deadline:
                time.sleep(0.05)
        import actlab.sweep as sweep
        outcome = sweep.compare(dict(dataset="moons", subset=300, acts=["relu", "tanh", "elu"], seeds=2, epochs=40,
                                     batch_size=16, width=16, precision="fp32"), out={str(out)!r}, on_event=slow,
                                report=False)
        print("first", outcome.finished, outcome.total, flush=True)
    """)
    first = subprocess.Popen([sys.executable, "-c", first_code], env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        with _open_when_created(out) as store:
            assert store.wait_for_epochs(1, timeout=120)
        second = subprocess.Popen([sys.executable, "-m", "actlab.cli", "compare", *SWEEP, "--out", str(out)],
                                  env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _, err = second.communicate(timeout=120)
        finally:
            if second.poll() is None:
                second.send_signal(signal.SIGINT)
                second.wait()
        assert second.returncode == 2
        assert f"process {first.pid}" in " ".join(err.split())
    finally:
        hold.unlink()
        text, _ = first.communicate(timeout=300)
    assert first.returncode == 0 and text.split() == ["first", "6", "6"]
    with Store(out, create=False) as store:
        assert len(store.epochs()) == 6 * 40  # every epoch row of the first survives
        assert store.integrity_check() == "ok"
        assert all(r.status == "finished" for r in store.runs())


@pytest.mark.slow
def test_sigterm_stops_within_a_step_and_resumes(tmp_path):
    out = tmp_path / "T"
    args = [sys.executable, "-m", "actlab.cli", "compare", "--dataset", "moons", "--subset", "2000", "--acts",
            "relu,tanh", "--seeds", "1", "--epochs", "400", "--batch-size", "8", "--width", "16", "--precision",
            "fp32", "--quiet", "--out", str(out)]
    child = subprocess.Popen(args, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with _open_when_created(out) as store:
        assert store.wait_for_epochs(2, timeout=120)
        before = len(store.epochs())
    sent = time.monotonic()
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    stopped_in = time.monotonic() - sent
    err = " ".join(err.split())
    assert child.returncode == 130, err
    assert "Interrupted: 0 of 2 runs finished" in err and "--resume" in err
    assert stopped_in < 30  # wall time is only a hang guard: the 2 cores may be shared with other jobs
    with Store(out, create=False) as store:
        stored = len(store.epochs())
        # an epoch is 150 steps: stopping within a step stores at most the epoch under way (one row per run)
        assert 2 <= stored <= before + 2 and store.integrity_check() == "ok"
    assert not (out / LOCK_NAME).read_text()  # the lock was released
