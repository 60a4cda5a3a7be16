"""``compare --json`` lists the step scores (each run's mean training loss over its last N steps) with
``--log-every-step --last-steps N``, computed from the stored step losses by the function export uses."""
from __future__ import annotations

import json
import statistics

import pytest

from actlab.cli import main
from actlab.store import Store

SMALL = ["--dataset", "digits", "--subset", "300", "--acts", "relu,tanh", "--seeds", "2", "--steps", "10",
         "--eval-every", "5", "--batch-size", "32", "--width", "8", "--precision", "fp32"]


@pytest.mark.slow  # the command line writes the report
def test_compare_json_has_the_step_scores(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ACTLAB_COMPILE", "0")
    out = tmp_path / "s"
    assert main(["compare", *SMALL, "--log-every-step", "--last-steps", "4", "--out", str(out), "--json"]) in (0, 3)  # 3: nothing learned yet
    summary = json.loads(capsys.readouterr().out)["step_scores"]
    assert summary["last_steps"] == 4
    with Store(out, readonly=True) as store:
        losses = {run.run_id: [s.train_loss for s in store.steps(run.run_id)] for run in store.runs()}
    assert all(len(v) == 10 for v in losses.values())
    by_run = {row["run_id"]: row for row in summary["runs"]}
    assert set(by_run) == set(losses)
    for run_id, values in losses.items():  # the mean of the last 4 of the 10 stored step losses
        assert by_run[run_id]["mean_train_loss"] == pytest.approx(sum(values[-4:]) / 4, rel=1e-12)
        assert (by_run[run_id]["steps"], by_run[run_id]["last_steps"]) == (10, 4)
    groups = {row["activation"]: row for row in summary["by_activation"]}
    for label in ("relu", "tanh"):
        scores = [by_run[f"{label}/seed={seed}"]["mean_train_loss"] for seed in (0, 1)]
        assert groups[label]["mean"] == pytest.approx(statistics.fmean(scores), rel=1e-12)
        assert groups[label]["std"] == pytest.approx(statistics.stdev(scores), rel=1e-12)
        assert (groups[label]["runs"], groups[label]["scored"]) == (2, 2)
    assert [row["mean"] for row in summary["by_activation"]] == sorted(g["mean"] for g in groups.values())


@pytest.mark.parametrize("extra, message", [
    (["--last-steps", "4"], "--last-steps scores the per-step training losses: add --log-every-step"),
    (["--log-every-step", "--last-steps", "0"], "--last-steps must be at least 1"),
])
def test_last_steps_needs_step_losses(tmp_path, capsys, extra, message):
    assert main(["compare", *SMALL, "--out", str(tmp_path / "o"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o" / "results.sqlite").exists()

