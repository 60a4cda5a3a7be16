"""Sweep commands end with the decision (also --quiet), exit 3 when every activation failed, and progress lines
off a terminal name runs done, ETA and the leader; runs that failed to learn are marked while the sweep runs."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from actlab.cli import main
from actlab.cli.live import FailureWatch, PlainProgress, leader_text
from actlab.report import ALL_FAILED_EXIT

TINY = ["compare", "--dataset", "moons", "--subset", "300", "--width", "8", "--epochs", "2", "--seeds", "2",
        "--acts", "relu,tanh"]


@pytest.mark.slow
def test_quiet_compare_still_prints_the_decision_and_all_failed_exits_3(tmp_path, capsys):
    assert main([*TINY, "--lr", "1e9", "--quiet", "--out", str(tmp_path / "bad")]) == ALL_FAILED_EXIT == 3
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Every activation failed to learn")
    assert out[-1] == f"Report: {tmp_path / 'bad' / 'report.html'}"
    assert out[0] in (tmp_path / "bad" / "report.html").read_text()  # the report's own words
    assert main(["report", str(tmp_path / "bad"), "--json"]) == 0  # rendering is not a failure
    summary = json.loads(capsys.readouterr().out)
    assert summary["headline"] == out[0] and summary["exit_code"] == 3 and summary["table"]["rows"]


def test_a_run_ending_at_chance_level_is_marked_failed_the_moment_it_ends():
    watch = FailureWatch({"baseline": {"classes": 2, "val_size": 100, "chance": 0.5, "constant_loss": 0.69}}, True)
    for epoch, acc in enumerate([0.5, 0.52, 0.51], 1):
        watch.epoch(SimpleNamespace(run_id="a", epoch=epoch, val_loss=0.69, val_accuracy=acc))
        watch.epoch(SimpleNamespace(run_id="b", epoch=epoch, val_loss=0.3, val_accuracy=0.6 + 0.1 * epoch))
    watch.epoch(SimpleNamespace(run_id="c", epoch=1, val_loss=50.0, val_accuracy=0.9))
    assert watch.ended(SimpleNamespace(run_id="a", val_loss=0.69, val_accuracy=0.52)).startswith("chance level")
    assert watch.ended(SimpleNamespace(run_id="b", val_loss=0.3, val_accuracy=0.9)) == ""
    assert watch.ended(SimpleNamespace(run_id="c", val_loss=50.0, val_accuracy=0.9)).startswith("exploded")
    assert set(watch.failed) == {"a", "c"}


def test_plain_progress_prints_runs_eta_and_leader_at_new_epochs_and_every_ten_seconds():
    now = [0.0]
    lines: list[str] = []
    progress = PlainProgress("progress", runs=4, points=40, completed=0, done=0, say=lines.append,
                             clock=lambda: now[0])
    now[0] = 5.0
    progress.update(10, 0, 1, leader_text({"relu": 0.9, "tanh": 0.95}, {"tanh"}, True))
    assert lines == ["progress: 0/4 runs done, 10/40 evaluation points, epoch 1, elapsed 0:05, ETA 0:15; "
                     "leader relu 90.00 %"]
    now[0] = 6.0
    progress.update(11, 0, 1, "")  # same epoch, 1 s later: quiet
    now[0] = 16.0
    progress.update(20, 2, 1, "")  # 10 s since the last line: a line
    assert len(lines) == 2 and "2/4 runs done" in lines[1] and "ETA 0:16" in lines[1]
    assert leader_text({"a": 0.3, "b": 0.2}, set(), False) == "b 0.2"
