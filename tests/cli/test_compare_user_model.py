"""``actlab compare --model FILE.py:FUNCTION``: the user's own model on an image folder, resume, bad input."""
from __future__ import annotations

import json
import sqlite3
import textwrap

import numpy as np
import pytest
from PIL import Image

from actlab.cli import main

MODEL = textwrap.dedent('''
    import torch.nn.functional as F
    from torch import nn

    class Net(nn.Module):
        def __init__(self, channels, n_outputs, act):
            super().__init__()
            self.conv = nn.Conv2d(channels, 4, 3, padding=1)
            self.act = act()
            self.fc = nn.Linear(4 * 6 * 6, n_outputs)

        def forward(self, x):
            return self.fc(F.relu(self.act(self.conv(x))).flatten(1))

    def build(act_layer, input_shape, n_outputs):
        return Net(input_shape[0], n_outputs, act_layer)

    def swapped():  # no act_layer: built, then its ReLU modules swapped
        return nn.Sequential(nn.Flatten(), nn.Linear(3 * 6 * 6, 8), nn.ReLU(), nn.Linear(8, 2))

    def broken(act_layer):
        raise ValueError("width must be even")

    def too_many(act_layer):
        return nn.Sequential(nn.Flatten(), nn.Linear(3 * 6 * 6, 5))
''')


@pytest.fixture()
def setup(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTLAB_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    for label, name in enumerate(("dark", "light")):
        (tmp_path / "images" / name).mkdir(parents=True)
        for i in range(15):
            pixels = rng.integers(0, 128, (6, 6, 3)) + 120 * label
            Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / "images" / name / f"{i}.png")
    (tmp_path / "net.py").write_text(MODEL)
    return tmp_path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def _args(root, function="build", *more):
    return ["compare", "--model", f"{root / 'net.py'}:{function}", "--dataset", root / "images", "--acts",
            "relu,tanh", "--seeds", "2", "--epochs", "1", "--batch-size", "8", "--out", root / "out", *more]


@pytest.mark.slow
def test_the_user_model_trains_stacked_reports_and_resumes_honestly(setup, capsys):
    code, out, err = run(capsys, *_args(setup), "--json")
    assert code in (0, 3), err  # 3: every arm failed to learn in this tiny budget (the summary says so)
    summary = json.loads(out)
    assert {row["activation"] for row in summary["ranking"]} == {"relu", "tanh"}
    assert (setup / "out" / "report.html").is_file()
    conn = sqlite3.connect(setup / "out" / "results.sqlite")
    config = json.loads(conn.execute("SELECT config FROM sweep").fetchone()[0])
    conn.close()
    import hashlib

    assert config["model_source"]["model_sha256"] == hashlib.sha256((setup / "net.py").read_bytes()).hexdigest()
    assert "built with act_layer" in config["model_note"] and "functional.relu in the top-level" in config["model_note"]
    code, _, err = run(capsys, *_args(setup))  # the same sweep again: everything already done
    assert code in (0, 3) and "4 runs (4 already done" in err
    (setup / "net.py").write_text(MODEL + "\n# changed\n")
    code, _, err = run(capsys, *_args(setup))
    assert code == 2 and "model's code changed" in err


def test_a_model_without_act_layer_is_swapped(setup, capsys):
    code, out, err = run(capsys, *_args(setup, "swapped"), "--engine", "sequential", "--quiet")
    assert code in (0, 3), err  # 3: every arm failed to learn in this tiny budget (the summary says so)
    assert "1 activation module(s) swapped" in err


@pytest.mark.parametrize("function, dataset, message", [
    ("buidl", None, r"no function 'buidl' in .*net\.py; did you mean build\?"),
    ("broken", None, r"model function .*:broken raised ValueError: width must be even"),
    ("too_many", None, r"output shape \(2, 5\) does not match the dataset \(2 classes: expected \(2, 2\)\)"),
    ("build", "empty", r"empty' is a directory with no class sub-folders"),
], ids=["no-function", "raises", "wrong-outputs", "empty-folder"])
def test_bad_input_exits_2_naming_the_problem(setup, capsys, function, dataset, message):
    import re

    argv = _args(setup, function)
    if dataset:
        (setup / dataset).mkdir()
        argv[argv.index("--dataset") + 1] = setup / dataset
    code, _, err = run(capsys, *argv)
    assert code == 2 and re.search(message, " ".join(err.split())), err


def test_a_missing_model_file_and_a_bad_task_are_named(setup, capsys):
    code, _, err = run(capsys, "compare", "--model", "nowhere.py:build", "--dataset", setup / "images")
    assert code == 2 and "model file nowhere.py not found" in err
    code, _, err = run(capsys, *_args(setup), "--task", "clasify")
    assert code == 2 and "did you mean classify" in err


def test_a_toy_sweep_records_the_dataset_task_beside_task_auto_and_still_draws_thumbnails(tmp_path, capsys):
    from actlab.store import Store
    from actlab.store.measured import read_thumbnails

    code, _, err = run(capsys, "compare", "--dataset", "moons", "--subset", "200", "--width", "8", "--epochs", "1",
                       "--seeds", "2", "--acts", "relu", "--quiet", "--out", tmp_path / "toy")
    assert code in (0, 3), err  # 3: every arm failed to learn in this tiny budget (the summary says so)
    with Store(tmp_path / "toy", readonly=True) as store:
        config = store.sweep()["config"]
        frame, thumbnails = read_thumbnails(store)
    assert (config["task"], config["dataset_task"]) == ("auto", "classification")
    assert frame is not None and set(thumbnails) == {"relu"}


@pytest.mark.slow
def test_tune_takes_the_user_model_like_a_built_in_one(setup, capsys):
    out = setup / "tuned"
    code, stdout, err = run(capsys, "tune", "--model", f"{setup / 'net.py'}:build", "--dataset", setup / "images",
                            "--acts", "relu", "--epochs", "1", "--batch-size", "8", "--trials", "2",
                            "--space", "lr=1e-3:1e-1:log", "--out", out, "--json")
    assert code in (0, 3), err
    data = json.loads(stdout)
    assert data["trials_run"] == 2
    conn = sqlite3.connect(out / "results.sqlite")
    config = json.loads(conn.execute("SELECT config FROM sweep").fetchone()[0])
    conn.close()
    assert config["model"] == f"{setup / 'net.py'}:build" and "built with act_layer" in config["model_note"]


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_the_ray_engine_trains_the_user_model_with_the_local_numbers(setup, capsys):
    local, spread = setup / "local", setup / "ray"
    code, _, err = run(capsys, *_args(setup)[:-1], local, "--quiet")
    assert code in (0, 3), err
    code, _, err = run(capsys, *_args(setup)[:-1], spread, "--engine", "ray", "--quiet")
    assert code in (0, 3), err

    def rows(root):
        conn = sqlite3.connect(root / "results.sqlite")
        found = conn.execute("SELECT runs.run_id, status, test_loss, test_accuracy FROM runs JOIN results USING (run_id) "
                             "ORDER BY run_id").fetchall()
        conn.close()
        return found

    local_rows, ray_rows = rows(local), rows(spread)
    assert [r[:2] for r in ray_rows] == [r[:2] for r in local_rows] and len(local_rows) == 4
    assert all(abs(a[2] - b[2]) < 1e-5 and a[3] == b[3] for a, b in zip(local_rows, ray_rows, strict=True))
