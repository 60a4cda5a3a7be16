"""Hostile data files: regression targets beyond float32, a quoted cell that spans lines, a header of a million
columns (and the duplicate-name check on a wide one), a file named ``.npz`` that is no archive.  Each ends in a
clear error that names the file (and the line and column, or the array index) — never inf labels, a silently joined
number, a hang or numpy's ``allow_pickle`` hint."""
from __future__ import annotations

import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from actlab.cli import main
from actlab.data.files import load_file
from actlab.data.limits import MAX_COLUMNS
from actlab.errors import ActlabError

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.mark.parametrize("value", ["1e39", "-1e39", "3.5e38"])
def test_csv_regression_target_beyond_float32_is_refused(tmp_path, value):
    path = tmp_path / "huge_labels.csv"
    path.write_text(f"a,y\n1,0.5\n2,{value}\n3,1.5\n4,2.5\n5,3.5\n")
    with pytest.raises(ActlabError, match=rf"huge_labels.csv, line 3, column 'y': label '{value}' is beyond float32"):
        load_file(path, target="y", task="regression")
    with pytest.raises(ActlabError, match="beyond float32"):  # the task found by itself is no way around it
        load_file(path, target="y")


def test_csv_regression_target_at_float32_max_is_kept(tmp_path):
    path = tmp_path / "large_labels.csv"
    path.write_text("a,y\n1,0.5\n2,3.4e38\n3,-3.4e38\n4,2.5\n5,3.5\n")
    dataset = load_file(path, target="y", task="regression", val_fraction=0.0, test_fraction=0.0)
    values = dataset.y_train.numpy().ravel()
    assert np.isfinite(values).all() and np.isclose(np.abs(values).max(), 3.4e38, rtol=1e-6)


@pytest.mark.parametrize("value", [1e39, -1e39, np.finfo(np.float64).max])
def test_npz_float64_target_beyond_float32_is_refused(tmp_path, value):
    path = tmp_path / "huge_labels.npz"
    y = np.array([0.5, 1.5, 2.5, value, 3.5])
    np.savez(path, X=np.arange(5.0).reshape(-1, 1), y=y)
    with pytest.raises(ActlabError, match=r"huge_labels.npz: y\[3\] is .*beyond float32's range"):
        load_file(path, task="regression")


@pytest.mark.parametrize(("text", "where"), [
    ('a,label\n"1\n2",0\n3,1\n4,0\n5,1\n', r"line 2, column 1: the quoted cell '1\\n2' spans lines"),
    ('a,label\n1,0\n2,"1\n"\n4,0\n5,1\n', r"line 3, column 2: the quoted cell '1\\n' spans lines"),
    ('a,b,label\n1,2,0\n"x\n\ny","3\n4",1\n4,5,0\n', r"line 3, column 1: the quoted cell 'x\\n\\ny' spans lines"),
    ('"a\nb",label\n1,0\n2,1\n', r"line 1, column 1: the quoted cell 'a\\nb' spans lines"),
])
def test_a_quoted_cell_that_spans_lines_is_refused(tmp_path, text, where):
    path = tmp_path / "multiline.csv"
    path.write_text(text)
    with pytest.raises(ActlabError, match=where):
        load_file(path, target="label", task="regression")


def test_quoted_cells_on_one_line_still_read(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('"a","b, c",label\n"1"," 2 ",x\n3,4,y\n5,6,x\n7,8,y\n9,10,x\n')
    dataset = load_file(path, val_fraction=0.0, test_fraction=0.0)
    assert dataset.extra["feature_names"] == ["a", "b, c"] and dataset.extra["classes"] == ["x", "y"]
    assert sorted(dataset.x_train[:, 0].tolist()) == [1.0, 3.0, 5.0, 7.0, 9.0]


def _wide(path, columns, duplicate=None):
    names = [f"c{i}" for i in range(columns)]
    if duplicate is not None:
        names[-1] = names[duplicate]
    path.write_text(",".join(names) + ",label\n" + "\n".join(",".join(["1"] * columns) + f",{k % 2}"
                                                                for k in range(5)) + "\n")


def test_a_header_of_a_million_columns_is_refused_at_once(tmp_path):
    """The duplicate check used to count each name in the whole header (quadratic: hours for 10^6 columns); run in
    a child so that a regression fails on the timeout instead of hanging the suite."""
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(1_000_000)) + ",label\n" + "1," * 1_000_000 + "0\n")
    code = ("import time; from actlab.data.files import load_file; from actlab.errors import ActlabError\n"
            f"t = time.perf_counter()\ntry:\n    load_file({str(path)!r})\nexcept ActlabError as e:\n"
            "    print(time.perf_counter() - t); print(e)\n")
    child = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": SRC}, capture_output=True, text=True,
                           timeout=60)
    seconds, message = child.stdout.split("\n", 1)
    assert f"wide.csv: the header has 1000001 columns; at most {MAX_COLUMNS} are read" in message, child.stderr
    assert float(seconds) < 10, seconds  # measured 0.6 s (one core, load 6)


def test_duplicate_names_in_a_wide_header_are_found_in_linear_time(tmp_path):
    path = tmp_path / "wide_dup.csv"
    _wide(path, 40_000, duplicate=7)  # 40 000 columns took 19.8 s with the quadratic check
    started = time.perf_counter()
    with pytest.raises(ActlabError, match=r"wide_dup.csv: duplicate column name\(s\) in the header: c7$"):
        load_file(path)
    assert time.perf_counter() - started < 5  # measured 0.3 s (load 6)


def test_the_widest_header_allowed_reads_and_a_long_column_list_is_shortened(tmp_path):
    path = tmp_path / "widest.csv"
    _wide(path, MAX_COLUMNS - 1)
    dataset = load_file(path, val_fraction=0.0, test_fraction=0.0)
    assert dataset.x_train.shape == (5, MAX_COLUMNS - 1)
    with pytest.raises(ActlabError) as caught:
        load_file(path, target="labell")
    message = str(caught.value)
    assert f"… ({MAX_COLUMNS} in all); did you mean 'label'?" in message and len(message) < 400, message[:400]


@pytest.mark.parametrize("content", [b"hello", b"", pickle.dumps({"X": [1, 2]}), b"\x93NUMPY" + b"\x00" * 20])
def test_a_file_named_npz_that_is_no_archive(tmp_path, content):
    path = tmp_path / "notzip.npz"
    path.write_bytes(content)
    with pytest.raises(ActlabError) as caught:
        load_file(path)
    message = str(caught.value)
    assert "notzip.npz is not a valid .npz archive" in message, message
    assert "allow_pickle" not in message and "pickle.load" not in message and "unsafely" not in message


def test_cli_names_each_hostile_file_and_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ACTLAB_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "notzip.npz").write_bytes(b"hello")
    (tmp_path / "labels.csv").write_text("a,y\n1,0.5\n2,1e39\n3,1.5\n4,2.5\n5,3.5\n")
    (tmp_path / "multi.csv").write_text('a,label\n"1\n2",0\n3,1\n4,0\n5,1\n')
    np.savez(tmp_path / "labels.npz", X=np.arange(5.0).reshape(-1, 1), y=np.array([0.5, 1.5, -1e39, 2.5, 3.5]))
    cases = [
        (["data", "show", "notzip.npz"], "notzip.npz is not a valid .npz archive"),
        (["data", "show", "labels.csv", "--target", "y"], "line 3, column 'y': label '1e39' is beyond float32"),
        (["data", "show", "labels.npz"], "y[2] is -1e+39, beyond float32"),
        (["data", "show", "multi.csv"], "line 2, column 1: the quoted cell '1\\n2' spans lines"),
        (["compare", "--dataset", "labels.csv", "--target", "y", "--epochs", "1", "--seeds", "1", "--acts", "relu",
          "--quiet", "--out", "run"], "label '1e39' is beyond float32"),
    ]
    monkeypatch.chdir(tmp_path)
    for argv, expected in cases:
        code = main(argv)
        out, err = capsys.readouterr()
        text = " ".join((out + err).split())
        assert code == 2 and expected in text and "Traceback" not in text, (argv, text)
        assert "allow_pickle" not in text
    assert not (tmp_path / "run" / "results.sqlite").exists()  # refused before anything trained or was stored
