"""``actlab compare`` / ``report`` / ``export`` / ``demo`` end to end on small toy sets."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actlab.cli import main
from actlab.errors import ActlabError
from actlab.sweep import DEFAULTS, reproduce_command, resolve_config, split_list

SMALL = ["--dataset", "moons", "--subset", "300", "--width", "8", "--epochs", "2", "--seeds", "2"]
CLI = [sys.executable, "-c", "import sys; from actlab.cli import main; sys.exit(main())"]


def _db(out: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{out / 'results.sqlite'}?mode=ro", uri=True, timeout=30)


def _assert_complete(out: Path, runs: int, epochs: int) -> None:
    conn = _db(out)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        statuses = conn.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall()
        assert dict(statuses) == {"finished": runs}
        per_run = conn.execute("SELECT run_id, COUNT(*), MIN(epoch), MAX(epoch), COUNT(DISTINCT epoch)"
                               " FROM epochs GROUP BY run_id").fetchall()
        assert len(per_run) == runs
        assert all(row[1:] == (epochs, 1, epochs, epochs) for row in per_run)
        assert conn.execute("SELECT COUNT(*) FROM results").fetchone()[0] == runs
    finally:
        conn.close()


# ------------------------------------------------------------ parsing
def test_split_list_keeps_formula_commas():
    assert split_list("relu, maximum(x, 0),gelu") == ["relu", "maximum(x, 0)", "gelu"]
    assert split_list("where(x > 0, x, 0.1 * x)") == ["where(x > 0, x, 0.1 * x)"]


@pytest.mark.parametrize("text", ["relu,,gelu", "maximum(x, 0", "relu)"])
def test_split_list_rejects_malformed(text):
    with pytest.raises(ValueError):
        split_list(text)


def test_resolution_order(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('dataset = "circle"\nepochs = 4\nacts = ["relu", "tanh"]\nbatch-size = 32\n')
    config = resolve_config({"epochs": 7, "lr": None}, config_file=toml)
    assert (config["dataset"], config["epochs"], config["acts"], config["batch_size"]) == ("circle", 7, ["relu", "tanh"], 32)
    assert config["seeds"] == DEFAULTS["seeds"]


# ------------------------------------------------------------- errors
BAD = [
    (["--acts", "relu,gelux"], "did you mean"),
    (["--acts", "relu,relu"], "listed twice"),
    (["--dataset", "mnistt"], "unknown dataset"),
    (["--epochs", "-1"], "epochs"),
    (["--model", "cnn"], "cnn"),
    (["--clip-value", "0.5", "--clip-norm", "1"], "not both"),
    (["--lr", "0.1", "--lr-grid", "0.1,0.01"], "not both"),
    (["--lr-grid", "0.1,abc"], "not a number"),
    (["--optimizer", "adamw"], "optimizer"),
    (["--engine", "rocket"], "engine"),
    (["--target", "label"], "target"),
    (["--momentum", "0.5"], "--momentum is for --optimizer sgd"),
    (["--optimizer", "adam", "--momentum", "0.9"], "--momentum is for --optimizer sgd"),
]


@pytest.mark.parametrize("extra, message", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_options_exit_2_before_training(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    assert main(["compare", *SMALL, "--out", str(out), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (out / "results.sqlite").exists()


@pytest.mark.parametrize("content, message", [
    ("epochs = 2\ncolour = 'red'\n", "unknown config key 'colour'"),
    ("epochs = [\n", "not valid TOML"),
    ("epochs = 'two'\n", "epochs must be a whole number"),
])
def test_bad_toml_exit_2(tmp_path, capsys, content, message):
    toml = tmp_path / "run.toml"
    toml.write_text(content)
    assert main(["compare", *SMALL, "--config", str(toml), "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err


def test_momentum_with_sgd_is_taken(tmp_path):
    config = resolve_config({"optimizer": "sgd", "momentum": 0.5})
    assert (config["optimizer"], config["momentum"]) == ("sgd", 0.5)
    toml = tmp_path / "run.toml"
    toml.write_text("momentum = 0.5\n")
    with pytest.raises(ActlabError, match=f"momentum in {toml} is for --optimizer sgd"):
        resolve_config({}, config_file=toml)
    # a TOML written for sgd, switched to adam on the command line: its momentum no longer applies
    toml.write_text('optimizer = "sgd"\nmomentum = 0.5\n')
    config = resolve_config({"optimizer": "adam"}, config_file=toml)
    assert (config["optimizer"], config["momentum"]) == ("adam", DEFAULTS["momentum"])
    assert "--momentum" not in reproduce_command(config)
    # resuming: the stored config is not checked; an sgd sweep may get a new momentum
    assert resolve_config({}, stored=dict(DEFAULTS))["optimizer"] == "adam"
    sgd = dict(DEFAULTS, optimizer="sgd", momentum=0.5)
    assert resolve_config({"momentum": 0.8}, stored=sgd)["momentum"] == 0.8
    assert "--momentum 0.5" in reproduce_command(sgd)


def test_subnormals_flushed_while_training_only(tmp_path, monkeypatch):
    import torch

    from actlab import sweep

    def tiny() -> float:
        return (torch.tensor([1e-30]) * torch.tensor([1e-10])).item()  # 1e-40: a float32 subnormal

    seen = []
    real = sweep.run_sweep

    def spy(*args, **kwargs):
        seen.append(tiny())
        return real(*args, **kwargs)

    monkeypatch.setattr(sweep, "run_sweep", spy)
    assert main(["compare", *SMALL, "--quiet", "--out", str(tmp_path / "o")]) == 0
    assert seen == [0.0]  # flushed during the sweep
    assert tiny() != 0.0  # and torch's default again after


def test_help_states_the_real_defaults(capsys):
    from actlab.sweep import DEFAULT_EPOCHS

    assert main(["compare", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"Epochs per run. [default: {DEFAULT_EPOCHS}]" in text


def test_missing_toml_and_run_dir_exit_2(tmp_path, capsys):
    assert main(["compare", "--config", str(tmp_path / "nope.toml")]) == 2
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert main(["export", str(tmp_path), "--csv", str(tmp_path / "csv")]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "not a directory" in err and "holds no actlab results" in err


# -------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "run"
    toml = out.parent / "run.toml"
    toml.write_text('acts = "relu,tanh"\nseeds = 2\n')
    argv = ["compare", *SMALL, "--config", str(toml), "--out", str(out), "--json"]
    return out, argv


@pytest.mark.slow
def test_compare_report_export(sweep, capsys, tmp_path):
    out, argv = sweep
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["out"] == str(out)
    assert {r["activation"] for r in summary["ranking"]} == {"relu", "tanh"}
    # 2 epochs at lr 1e-3 on 300 points: a run may still be at chance level, which the report says (no mean)
    assert all(r["test_accuracy_mean"] is not None or "failed to learn" in r["vs_best"] for r in summary["ranking"])
    _assert_complete(out, runs=4, epochs=2)
    with _db(out) as conn:
        config = json.loads(conn.execute("SELECT config FROM sweep").fetchone()[0])
    assert config["acts"] == ["relu", "tanh"] and config["epochs"] == 2

    # same config again: everything is skipped, nothing duplicated
    assert main([*argv[:-1], "--quiet"]) == 0
    _assert_complete(out, runs=4, epochs=2)
    # --resume with only --out reuses the stored options
    assert main(["compare", "--out", str(out), "--resume", "--quiet"]) == 0
    _assert_complete(out, runs=4, epochs=2)
    # a different config into the same directory is refused
    assert main(["compare", *SMALL, "--acts", "relu,tanh", "--seeds", "3", "--out", str(out)]) == 2
    assert "use another --out" in capsys.readouterr().err

    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0
    html = (out / "report.html").read_text()
    assert "relu" in html and "tanh" in html and "data:image/png;base64," in html
    assert (out / "report.md").is_file() and (out / "figures" / "curves.png").is_file()

    assert main(["export", str(out), "--csv", str(tmp_path / "csv"), "--parquet", str(tmp_path / "pq"),
                 "--tensorboard", str(tmp_path / "tb")]) == 0
    assert len((tmp_path / "csv" / "epochs.csv").read_text().strip().splitlines()) == 1 + 4 * 2
    assert len((tmp_path / "csv" / "runs.csv").read_text().strip().splitlines()) == 1 + 4
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "pq" / "epochs.parquet").num_rows == 8
    assert len([p for p in (tmp_path / "tb").iterdir() if p.is_dir()]) == 4


@pytest.mark.slow
def test_divergence_is_recorded_and_reported(tmp_path, capsys):
    out = tmp_path / "div"
    code = main(["compare", "--dataset", "moons", "--subset", "300", "--width", "8", "--epochs", "3",
                 "--seeds", "2", "--acts", "cube,relu", "--optimizer", "sgd", "--lr", "10",
                 "--out", str(out), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == summary["exit_code"] == (3 if summary["all_failed"] else 0)  # relu at lr 10 may not learn either
    diverged = summary["diverged"]
    assert diverged and all(d["activation"] == "cube" and d["epoch"] >= 1 and d["step"] >= 1 for d in diverged)
    relu = next(r for r in summary["ranking"] if r["activation"] == "relu")
    assert relu["diverged"] == 0 and relu["finished"] + relu["failed_to_learn"] == 2  # ran to the end
    html = (out / "report.html").read_text()
    assert "Diverged runs" in html and "cube" in html


def _resumable(out: Path) -> list[str]:
    return ["compare", "--dataset", "moons", "--subset", "300", "--width", "8", "--batch-size", "32",
            "--acts", "relu,tanh", "--seeds", "2", "--epochs", "5", "--engine", "sequential",
            "--out", str(out), "--quiet"]


def _start(out: Path) -> subprocess.Popen:
    return subprocess.Popen([*CLI, *_resumable(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})


def _wait_epochs(proc: subprocess.Popen, out: Path, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if (out / "results.sqlite").exists():
            try:
                conn = _db(out)
                n = conn.execute("SELECT COUNT(*) FROM epochs").fetchone()[0]
                conn.close()
                if n >= count:
                    return
            except sqlite3.OperationalError:
                pass  # tables not created yet
        time.sleep(0.05)
    proc.kill()
    pytest.fail("no epochs committed in time")


@pytest.mark.slow
def test_resume_after_sigkill(tmp_path):
    out = tmp_path / "killed"
    proc = _start(out)
    _wait_epochs(proc, out, 3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    conn = _db(out)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finished = conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'finished'").fetchone()[0]
    conn.close()
    assert finished < 4
    assert main([*_resumable(out), "--resume"]) == 0  # in-process: one torch import less
    _assert_complete(out, runs=4, epochs=5)


@pytest.mark.slow
def test_sigint_stops_cleanly_with_resume_hint(tmp_path):
    out = tmp_path / "interrupted"
    proc = _start(out)
    _wait_epochs(proc, out, 1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Interrupted:" in stderr and "of 4 runs finished" in stderr
    assert "--resume" in stderr and "actlab compare" in stderr
    conn = _db(out)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_steps_budget_step_losses_and_export(tmp_path, capsys):
    """--steps N trains exactly N steps; --log-every-step stores each; export writes steps.csv and step scores."""
    import csv

    out = tmp_path / "s"
    assert main(["compare", "--dataset", "moons", "--subset", "300", "--width", "8", "--seeds", "2",
                 "--acts", "relu,tanh", "--steps", "11", "--eval-every", "5", "--batch-size", "32",
                 "--log-every-step", "--report-at", "final", "--quiet", "--out", str(out)]) == 0
    conn = _db(out)
    try:
        steps = conn.execute("SELECT run_id, COUNT(*), MIN(step), MAX(step) FROM steps GROUP BY run_id").fetchall()
        assert sorted(row[1:] for row in steps) == [(11, 1, 11)] * 4
        points = conn.execute("SELECT criterion, COUNT(*) FROM result_points GROUP BY criterion").fetchall()
        assert dict(points) == {"best-val-loss": 4, "best-val-acc": 4, "final": 4}
        evals = conn.execute("SELECT DISTINCT epoch, step FROM epochs ORDER BY epoch").fetchall()
        assert evals == [(1, 5), (2, 10), (3, 11)]
        reported = conn.execute("SELECT results.test_loss, result_points.test_loss FROM results JOIN result_points"
                                " USING (run_id) WHERE criterion = 'final'").fetchall()
        assert all(a == b for a, b in reported)  # --report-at final: results hold the final point
    finally:
        conn.close()
    capsys.readouterr()
    assert main(["export", str(out), "--csv", str(tmp_path / "csv"), "--last-steps", "3"]) == 0
    assert "mean training loss of the last 3 steps" in capsys.readouterr().out
    with (tmp_path / "csv" / "steps.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["run_id", "step", "train_loss"] and len(rows) == 44
    with (tmp_path / "csv" / "step_scores.csv").open() as handle:
        scores = {row["run_id"]: float(row["mean_train_loss"]) for row in csv.DictReader(handle)}
    run = rows[0]["run_id"]
    last = [float(r["train_loss"]) for r in rows if r["run_id"] == run][-3:]
    assert scores[run] == pytest.approx(sum(last) / 3)


def test_val_size_zero_says_the_test_split_is_read_at_the_end(tmp_path, capsys):
    out = tmp_path / "v"
    assert main(["compare", "--dataset", "mnist1d", "--subset", "300", "--depth", "0", "--seeds", "1",
                 "--acts", "identity", "--epochs", "2", "--val-size", "0", "--report-at", "final", "--no-bias",
                 "--quiet", "--out", str(out)]) == 0
    assert "test split is read only" in capsys.readouterr().err
    conn = _db(out)
    try:
        assert conn.execute("SELECT COUNT(*) FROM epochs WHERE val_loss IS NOT NULL").fetchone()[0] == 0
        assert conn.execute("SELECT criterion FROM result_points").fetchall() == [("final",)]
    finally:
        conn.close()
