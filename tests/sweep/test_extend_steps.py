"""A step budget grows in place: ``compare --resume --steps N`` (N larger) continues the stored runs from their
checkpoints, and the grown sweep equals the sweep trained to N steps at once, bit for bit."""
from __future__ import annotations

import pytest

import actlab.sweep as sweep
from actlab.cli import main
from actlab.errors import ActlabError
from actlab.store import Store

BASE = dict(dataset="digits", subset=300, acts=["relu", "tanh"], seeds=2, steps=12, eval_every=4, batch_size=32,
            width=8, precision="fp32", log_every_step=True)


@pytest.fixture(autouse=True)
def _eager(monkeypatch):
    monkeypatch.setenv("ACTLAB_COMPILE", "0")


def _snapshot(out):
    with Store(out, create=False) as store:
        epochs = [(e.run_id, e.epoch, e.step, e.train_loss, e.val_loss, e.val_accuracy) for e in store.epochs()]
        runs = [(r.run_id, r.status, r.best_epoch, r.test_loss, r.test_accuracy, r.val_loss) for r in store.runs()]
        steps = [(s.run_id, s.step, s.train_loss) for s in store.steps()]
    return epochs, runs, steps


def test_resume_with_more_steps_extends_the_stored_sweep(tmp_path):
    sweep.compare(dict(BASE, steps=24), out=tmp_path / "long", report=False)
    short = sweep.compare(BASE, out=tmp_path / "grow", report=False)
    assert not short.interrupted
    events = []
    grown = sweep.compare({"steps": 24}, out=tmp_path / "grow", report=False, resume=True, on_event=events.append)
    assert grown.extended_steps_from == 12 and grown.finished == grown.total and grown.skipped == 0
    # only steps 13..24 were trained: evaluation points 4..6 of each run
    assert sorted({e.epoch for e in events if type(e).__name__ == "EpochEnd"}) == [4, 5, 6]
    assert _snapshot(tmp_path / "grow") == _snapshot(tmp_path / "long")
    with Store(tmp_path / "grow", create=False) as store:
        assert store.sweep()["config"]["steps"] == 24
        assert sorted({s.step for s in store.steps("relu/seed=0")}) == list(range(1, 25))


@pytest.mark.slow  # the command line writes the report
def test_compare_resume_with_a_larger_steps_on_the_command_line(tmp_path, capsys):
    sweep.compare(dict(BASE, acts=["relu"], seeds=1), out=tmp_path / "grow", report=False)
    # a larger --steps on --resume grows the sweep (no "different config" refusal)
    code = main(["compare", "--out", str(tmp_path / "grow"), "--resume", "--steps", "16", "--quiet"])
    assert code in (0, 3), capsys.readouterr().err  # 3: nothing learned in 12 steps (the summary says so)
    with Store(tmp_path / "grow", create=False) as store:
        assert [e.step for e in store.epochs()] == [4, 8, 12, 16]
        assert store.sweep()["config"]["steps"] == 16
        assert [r.status for r in store.runs()] == ["finished"]


@pytest.mark.parametrize("change, message", [
    ({"steps": 8}, "would shorten it"),
    ({"epochs": 3}, "has a step budget \\(12 steps\\); give --steps"),
])
def test_a_step_budget_grows_but_never_shrinks_or_changes_kind(tmp_path, change, message):
    sweep.compare(dict(BASE, acts=["relu"], seeds=1), out=tmp_path / "s", report=False)
    with pytest.raises(ActlabError, match=message):
        sweep.plan_from_options(dict(change, out=tmp_path / "s"), resume=True)


def test_an_off_grid_step_budget_is_not_extended(tmp_path):
    sweep.compare(dict(BASE, acts=["relu"], seeds=1, steps=10), out=tmp_path / "s", report=False)  # points 4, 8, 10
    with pytest.raises(ActlabError, match="not a multiple of --eval-every 4"):
        sweep.plan_from_options({"steps": 20, "out": tmp_path / "s"}, resume=True)


def test_an_epoch_sweep_is_not_continued_with_a_step_budget(tmp_path):
    sweep.compare(dict(BASE, acts=["relu"], seeds=1, steps=None, epochs=1), out=tmp_path / "e", report=False)
    with pytest.raises(ActlabError, match="holds a sweep with an epoch budget; give --epochs"):
        sweep.plan_from_options({"steps": 20, "out": tmp_path / "e"}, resume=True)
