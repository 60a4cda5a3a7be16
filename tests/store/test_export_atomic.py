"""Exports are written whole or not at all: under a real file-size limit (``RLIMIT_FSIZE`` in a child process)
``export --csv``, ``--parquet`` and ``--tensorboard`` end with exit 2 and a message that names the file and says to
run the export again — no traceback, no truncated file, no temporary file left, a previous export left as it was."""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from actlab.cli import main

SRC = str(Path(__file__).resolve().parents[2] / "src")
SWEEP = ["--dataset", "moons", "--subset", "200", "--acts", "relu,tanh", "--seeds", "2", "--epochs", "6",
         "--width", "8", "--depth", "1", "--precision", "fp32", "--compile", "off", "--quiet"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "run"
    assert main(["compare", *SWEEP, "--out", str(out)]) in (0, 3)
    return out


def _limited(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def _export(store, kind, target, limit=None):
    env = {**os.environ, "PYTHONPATH": SRC, "ACTLAB_COMPILE": "0"}
    child = subprocess.run([sys.executable, "-m", "actlab.cli", "export", str(store), f"--{kind}", str(target)],
                           env=env, capture_output=True, text=True, timeout=300,
                           preexec_fn=None if limit is None else _limited(limit))
    return child.returncode, " ".join((child.stdout + child.stderr).split())


def _files(directory):
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


# 1 200 bytes: below epochs.csv (~2.0 kB), runs.parquet (~5.6 kB, written first) and each event file (~1.9 kB);
# above runs.csv (~0.95 kB), which is written (whole) before epochs.csv fails
@pytest.mark.parametrize(("kind", "limit", "named"), [("csv", 1200, "epochs.csv"), ("parquet", 1200, "runs.parquet"),
                                                       ("tensorboard", 1200, "relu_seed=0")])
def test_export_under_a_file_size_limit_leaves_no_partial_file(store, tmp_path, kind, limit, named):
    fresh = tmp_path / "fresh"
    code, text = _export(store, kind, fresh, limit)
    assert code == 2 and "Traceback" not in text, text
    assert "disk full or file-size limit reached" in text and named in text and "run the export again" in text, text
    assert "(File too large)" in text, text  # the plain reason (pyarrow's long text is reduced to its errno)
    complete = tmp_path / "complete"
    code, text = _export(store, kind, complete)
    assert code == 0, text
    whole = _files(complete)
    for name, content in _files(fresh).items():  # what is there is whole; nothing hidden, nothing half-written
        assert not Path(name).name.startswith(".") and ".tmp" not in name, name
        if kind != "tensorboard":  # event files carry their time and pid in the name
            assert content == whole[name], name
    assert named not in _files(fresh) or kind == "tensorboard"
    if kind == "tensorboard":
        assert not any(name.startswith(named + "/") for name in _files(fresh))


@pytest.mark.parametrize(("kind", "limit"), [("csv", 1200), ("parquet", 1200), ("tensorboard", 1200)])
def test_a_failed_re_export_keeps_the_previous_export(store, tmp_path, kind, limit):
    target = tmp_path / "export"
    code, text = _export(store, kind, target)
    assert code == 0, text
    before = _files(target)
    code, text = _export(store, kind, target, limit)
    assert code == 2 and "Traceback" not in text and "run the export again" in text, text
    assert _files(target) == before  # byte for byte; no temporary file beside them
    assert sorted(p.name for p in target.iterdir()) == sorted({name.split("/")[0] for name in before})
