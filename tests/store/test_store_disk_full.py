"""A full disk, a file-size limit or an I/O error mid-sweep: exit 2, a message naming the file and what to do, no
traceback; what was committed stays readable, and ``--resume`` (once there is room) finishes the sweep with every
run and every epoch stored exactly once, equal to an uninterrupted sweep."""
from __future__ import annotations

import errno
import os
import resource
import signal
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from actlab.cli import main
from actlab.store import Store

SRC = str(Path(__file__).resolve().parents[2] / "src")
EPOCHS = 12
SWEEP = ["--dataset", "moons", "--subset", "200", "--acts", "relu,tanh", "--seeds", "2", "--epochs", str(EPOCHS),
         "--width", "8", "--depth", "1", "--precision", "fp32", "--compile", "off", "--quiet"]
RUNS = 4


@pytest.fixture(autouse=True)
def _eager(monkeypatch):
    monkeypatch.setenv("ACTLAB_COMPILE", "0")


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, " ".join((out + err).split())


def _snapshot(out):
    with Store(out, readonly=True) as store:
        epochs = [(e.run_id, e.epoch, e.step, e.train_loss, e.val_loss, e.val_accuracy) for e in store.epochs()]
        runs = [(r.run_id, r.status, r.best_epoch, r.test_loss, r.test_accuracy) for r in store.runs()]
    return epochs, runs


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "run"
    assert main(["compare", *SWEEP, "--out", str(out)]) in (0, 3)
    return _snapshot(out)


def _resumed_equals(capsys, out, reference):
    code, text = _cli(capsys, "compare", "--out", str(out), "--resume", "--quiet")
    assert code in (0, 3), text  # 3: the tiny sweep learned nothing
    epochs, runs = _snapshot(out)
    assert len(epochs) == len({(e[0], e[1]) for e in epochs}) == RUNS * EPOCHS  # each epoch exactly once
    assert all(r[1] == "finished" for r in runs) and len(runs) == RUNS
    assert (epochs, runs) == reference


def _limited(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_file_size_limit_mid_sweep_then_resume(tmp_path, capsys, reference):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": SRC, "ACTLAB_COMPILE": "0"}
    # 176 kB: the store's write-ahead log passes it after some epochs (schema ~80 kB, then each epoch appends two
    # 4 kB pages; the whole sweep needs ~450 kB); checkpoints (~14 kB) fit
    child = subprocess.run([sys.executable, "-m", "actlab.cli", "compare", *SWEEP, "--out", str(out)], env=env,
                           capture_output=True, text=True, timeout=300, preexec_fn=_limited(176_000))
    text = " ".join((child.stdout + child.stderr).split())
    assert child.returncode == 2, text
    assert "Traceback" not in text
    assert "disk full or file-size limit reached" in text and "results.sqlite" in text, text
    assert "--resume" in text
    epochs, runs = _snapshot(out)  # what was committed is readable
    assert 0 < len(epochs) < RUNS * EPOCHS, "the limit should hit mid-sweep"
    assert len(runs) == RUNS
    _resumed_equals(capsys, out, reference)


@pytest.mark.parametrize(("problem", "expect"), [("disk I/O error", "disk I/O error: cannot write"),
                                                 ("database or disk is full", "disk full or file-size limit reached")])
def test_store_write_fails_mid_sweep_then_resume(tmp_path, capsys, monkeypatch, reference, problem, expect):
    """SQLite's errors for an I/O error and a full disk (SQLITE_IOERR, SQLITE_FULL) at the 21st write."""
    import actlab.store.opening as opening

    real = opening.transaction
    calls = {"n": 0}

    @contextmanager
    def failing(connection):
        calls["n"] += 1
        if calls["n"] > 20:
            raise sqlite3.OperationalError(problem)
        with real(connection) as inside:
            yield inside

    monkeypatch.setattr(opening, "transaction", failing)
    out = tmp_path / "run"
    code, text = _cli(capsys, "compare", *SWEEP, "--out", str(out))
    assert code == 2 and expect in text and problem in text and "results.sqlite" in text, text
    assert "--resume" in text
    epochs, _ = _snapshot(out)
    assert 0 < len(epochs) < RUNS * EPOCHS
    monkeypatch.setattr(opening, "transaction", real)
    _resumed_equals(capsys, out, reference)


@pytest.mark.parametrize(("number", "expect"), [(errno.ENOSPC, "disk full or file-size limit reached"),
                                                (errno.EIO, "disk I/O error")])
def test_checkpoint_write_fails_then_resume(tmp_path, capsys, monkeypatch, reference, number, expect):
    import actlab.train.checkpoint as checkpoint

    saves = {"n": 0}

    def failing_open(path, mode="r", *args, **kwargs):
        if "w" in mode:
            saves["n"] += 1
            if saves["n"] > 3:
                raise OSError(number, os.strerror(number))
        return open(path, mode, *args, **kwargs)

    monkeypatch.setattr(checkpoint, "open", failing_open, raising=False)
    out = tmp_path / "run"
    code, text = _cli(capsys, "compare", *SWEEP, "--out", str(out))
    assert code == 2 and expect in text and "checkpoints" in text and ".pt" in text, text
    assert not list((out / "checkpoints").glob(".*.tmp"))  # the partial file is gone
    monkeypatch.delattr(checkpoint, "open")
    _resumed_equals(capsys, out, reference)


def test_report_write_fails_cleanly(tmp_path, capsys, monkeypatch, reference):
    from pathlib import Path as P

    out = tmp_path / "run"
    assert main(["compare", *SWEEP, "--out", str(out)]) in (0, 3)
    capsys.readouterr()
    real = P.write_text

    def full(self, *args, **kwargs):
        if self.name == "report.html":
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(P, "write_text", full)
    code, text = _cli(capsys, "report", str(out))
    assert code == 2 and "disk full" in text and "report.html" in text and "actlab report" in text, text


@pytest.mark.parametrize("limit", [8_000, 60_000])
def test_file_size_limit_before_anything_is_stored_says_what_will_work(tmp_path, capsys, reference, limit):
    """8-60 kB: the store's first write fails, so there is no sweep to resume; the message gives the command that
    works (the same sweep without --resume), and that command, run once there is room, finishes the sweep."""
    import shlex

    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": SRC, "ACTLAB_COMPILE": "0"}
    child = subprocess.run([sys.executable, "-m", "actlab.cli", "compare", *SWEEP, "--out", str(out)], env=env,
                           capture_output=True, text=True, timeout=300, preexec_fn=_limited(limit))
    text = " ".join((child.stdout + child.stderr).split())
    assert child.returncode == 2 and "Traceback" not in text, text
    assert "disk full or file-size limit reached" in text and "results.sqlite" in text, text
    assert "nothing was stored yet" in text and "run the same command again (without --resume)" in text, text
    assert "--resume:" not in text and not text.rstrip().endswith("--resume"), text
    command = shlex.split(text.rsplit("(without --resume): ", 1)[1])
    assert command[:2] == ["actlab", "compare"] and "--resume" not in command and str(out) in command
    code, resumed = _cli(capsys, "compare", "--out", str(out), "--resume", "--quiet")  # indeed nothing to resume
    assert code == 2 and ("run without --resume" in resumed or "no actlab results" in resumed), resumed
    code, again = _cli(capsys, *command[1:], "--quiet")  # what the message says, now that there is room
    assert code in (0, 3), again  # 3: the tiny sweep learned nothing
    epochs, runs = _snapshot(out)
    assert (epochs, runs) == reference
