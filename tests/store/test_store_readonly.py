"""Read-only stores: ``report`` and ``export`` open ``results.sqlite`` read-only and write nothing beside it (no
``-wal``/``-shm``/``-journal``), so a sweep directory on a read-only place can be reported (``report --out``) and
exported; ``report`` into a directory it may not write says so and points to ``--out``."""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import stat
import sys
import tempfile
from pathlib import Path

import pytest

from actlab.cli import main
from actlab.errors import StorageError
from actlab.store import Store

SWEEP = ["--dataset", "moons", "--subset", "200", "--acts", "relu,tanh", "--seeds", "2", "--epochs", "2",
         "--width", "8", "--depth", "1", "--compile", "off", "--quiet"]


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    out = tmp_path_factory.mktemp("healthy") / "run"
    assert main(["compare", *SWEEP, "--out", str(out)]) in (0, 3)  # imports and warms everything a report needs
    return out


def _state(run_dir):
    path = run_dir / "results.sqlite"
    return sorted(p.name for p in run_dir.iterdir()), path.read_bytes(), path.stat().st_mtime_ns


def _readonly_copy(healthy, parent):
    run = parent / "run"
    shutil.copytree(healthy, run)
    for name in ("report.html", "report.md"):
        (run / name).unlink()
    shutil.rmtree(run / "figures")
    (run / "results.sqlite").chmod(0o444)
    run.chmod(0o555)
    return run


def _writable_again(run):
    run.chmod(0o755)


def _cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, " ".join((out + err).split())


def test_report_and_export_write_nothing_beside_the_store(healthy, tmp_path, capsys):
    run = _readonly_copy(healthy, tmp_path)
    before = _state(run)
    try:
        for argv in (["export", run, "--csv", tmp_path / "csv"], ["export", run, "--parquet", tmp_path / "pq"],
                     ["export", run, "--tensorboard", tmp_path / "tb"], ["report", run, "--out", tmp_path / "rep"],
                     ["report", run, "--json", "--out", tmp_path / "rep2"]):
            code, text = _cli(capsys, *argv)
            assert code == 0, (argv, text)
            assert _state(run) == before, argv  # no -wal, -shm or -journal; the file byte for byte, same mtime
        assert (tmp_path / "rep" / "report.html").is_file() and (tmp_path / "rep" / "figures").is_dir()
        assert (tmp_path / "csv" / "runs.csv").read_text().count("\n") == 5
        with Store(run, readonly=True) as store:
            assert len(store.runs()) == 4 and len(store.epochs()) == 8
            with pytest.raises(StorageError, match="read-only"):
                store.add_wall_time(1.0)
        assert _state(run) == before
    finally:
        _writable_again(run)


def test_a_reader_sees_a_writer_that_starts_later(healthy, tmp_path):
    """The snapshot a quiet store is read through is dropped once a writer connects."""
    run = tmp_path / "run"
    shutil.copytree(healthy, run)
    with Store(run, readonly=True) as reader:
        assert reader._snapshot and len(reader.epochs()) == 8
        with Store(run) as writer:
            writer.record_epoch(reader.runs()[0].run_id, 3, 99, 0.1, 0.2, 0.3, 0.01)
            assert len(reader.epochs()) == 9
        assert len(reader.epochs()) == 9  # the writer folded its log into the file and left


def _nobody():
    try:
        import pwd

        entry = pwd.getpwnam("nobody")
    except (ImportError, KeyError):
        return None
    return entry.pw_uid, entry.pw_gid


def _as_nobody(calls):
    """Run each ``argv`` of ``calls`` through ``main`` in a forked child that has become ``nobody``; returns
    ``[(code, text), ...]``. (Forked, not exec'd: this Python may live where ``nobody`` cannot read it.)"""
    uid, gid = _nobody()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        results = []
        try:
            os.close(read_end)
            import torch

            torch.set_num_threads(1)  # OpenMP's pool does not survive a fork: a parallel op would wait forever
            signal.alarm(240)  # whatever happens, the child ends (and the parent's read sees the pipe close)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            for argv in calls:
                buffer = io.StringIO()
                sys.stdout = sys.stderr = buffer
                try:
                    code = main([str(a) for a in argv])
                except BaseException as error:  # noqa: BLE001 - reported to the parent, which fails the test
                    import traceback

                    code = -1
                    buffer.write("Traceback\n" + "".join(traceback.format_exception(error)))
                results.append((code, buffer.getvalue()))
        finally:
            os.write(write_end, json.dumps(results).encode())
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 1 << 16):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    return [(code, " ".join(text.split())) for code, text in json.loads(b"".join(chunks))]


@pytest.mark.skipif(not hasattr(os, "fork") or os.geteuid() != 0 or _nobody() is None,
                    reason="needs root (to become nobody) and fork")
def test_really_read_only_directory_as_another_user(healthy):
    """chmod does not stop root, so a child becomes ``nobody``: the store's directory is then truly read-only."""
    base = Path(tempfile.mkdtemp(prefix="actlab-ro-", dir="/tmp"))
    try:
        base.chmod(0o755)
        run = _readonly_copy(healthy, base)
        outside = base / "out"
        outside.mkdir()
        outside.chmod(stat.S_IRWXU | stat.S_IRWXG | stat.S_IRWXO)
        before = _state(run)
        results = _as_nobody([
            ["export", run, "--csv", outside / "csv"],
            ["report", run],
            ["report", run, "--out", outside / "report"],
            ["compare", *SWEEP, "--out", run, "--resume"],
        ])
        for _, text in results:
            assert "Traceback" not in text, text
        (export, _), (refused, refusal), (report, report_text), (resumed, resume_text) = results
        assert export == 0 and (outside / "csv" / "epochs.csv").is_file()
        assert refused == 2 and "not writable" in refusal and "--out" in refusal, refusal
        assert report == 0 and (outside / "report" / "report.html").is_file(), report_text
        assert resumed == 2 and str(run) in resume_text, resume_text
        assert _state(run) == before
    finally:
        os.chmod(base / "run", 0o755) if (base / "run").exists() else None
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.skipif(not hasattr(os, "fork") or os.geteuid() != 0 or _nobody() is None,
                    reason="needs root (to become nobody) and fork")
def test_a_lock_file_this_user_may_not_write_is_refused_clearly(healthy):
    """``compare``/``tune`` into a directory the user may not write, and ``compare --resume`` on a store whose
    ``lock`` belongs to another user: exit 2 naming the lock file and what to do, no PermissionError traceback."""
    import optuna  # noqa: F401 - imported before the fork: nobody may not read this Python's own files

    base = Path(tempfile.mkdtemp(prefix="actlab-lock-", dir="/tmp"))
    try:
        base.chmod(0o755)
        empty = base / "empty"
        empty.mkdir()
        empty.chmod(0o555)
        shared = base / "shared"  # the store is writable for everyone, its lock file is root's (rw-r--r--)
        shutil.copytree(healthy, shared)
        shared.chmod(0o777)
        (shared / "results.sqlite").chmod(0o666)
        (shared / "lock").chmod(0o644)
        with Store(shared, readonly=True) as store:
            before = (len(store.runs()), len(store.epochs()))
        results = _as_nobody([
            ["compare", *SWEEP, "--out", empty],
            ["compare", "--out", shared, "--resume", "--quiet"],
            ["tune", "--dataset", "moons", "--subset", "100", "--epochs", "1", "--trials", "1", "--acts", "relu",
             "--out", empty, "--quiet"],
        ])
        for (code, text), where in zip(results, (empty, shared, empty)):
            assert "Traceback" not in text and "PermissionError" not in text, text
            assert code == 2, text
            assert f"cannot write {where / 'lock'}: it is read-only (Permission denied)" in text, text
            assert "use another --out" in text, text
        assert list(empty.iterdir()) == []
        with Store(shared, readonly=True) as store:
            assert (len(store.runs()), len(store.epochs())) == before
    finally:
        for path in (base / "empty", base / "shared"):
            if path.exists():
                path.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)
