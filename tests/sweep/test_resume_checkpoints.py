"""Checkpoints: a sweep stopped mid-run and resumed equals the uninterrupted sweep, bit for bit; extension."""
from __future__ import annotations

import pytest

import actlab.sweep as sweep
from actlab.errors import ActlabError
from actlab.store import Store
from actlab.store.extend import extensions
from actlab.train.checkpoint import CheckpointDir

BASE = dict(dataset="moons", subset=300, acts=["relu", "tanh", "selu"], seeds=2, epochs=4, batch_size=32, width=16,
            precision="fp32", dropout=0.2)


@pytest.fixture(autouse=True)
def _eager(monkeypatch):
    monkeypatch.setenv("ACTLAB_COMPILE", "0")  # the same numbers, without compile time


def _snapshot(out):
    with Store(out, create=False) as store:
        epochs = [(e.run_id, e.epoch, e.step, e.train_loss, e.val_loss, e.val_accuracy) for e in store.epochs()]
        runs = [(r.run_id, r.status, r.best_epoch, r.test_loss, r.test_accuracy, r.val_loss) for r in store.runs()]
    return epochs, runs


def _stop_after(steps):
    count = {"n": 0}

    def stop():
        count["n"] += 1
        return count["n"] > steps
    return stop


@pytest.mark.parametrize("engine", ["grid", "sequential"])
def test_stopped_mid_epoch_and_resumed_equals_uninterrupted(tmp_path, engine):
    options = dict(BASE, engine=engine)
    whole = sweep.compare(options, out=tmp_path / "whole", report=False)
    assert not whole.interrupted
    # steps per epoch: 300 points → 180 training examples ≈ 6 batches; stop in the middle of epoch 2 (and of
    # the second run, sequentially), then once more, then finish
    first = sweep.compare(options, out=tmp_path / "cut", report=False, should_stop=_stop_after(9))
    assert first.interrupted and 0 < first.epochs_stored < first.epochs_planned
    second = sweep.compare(options, out=tmp_path / "cut", report=False, resume=True, should_stop=_stop_after(14))
    assert second.interrupted and second.epochs_stored > first.epochs_stored
    third = sweep.compare(options, out=tmp_path / "cut", report=False, resume=True)
    assert not third.interrupted and third.finished == third.total
    assert _snapshot(tmp_path / "cut") == _snapshot(tmp_path / "whole")


def test_resume_trains_only_what_is_unfinished(tmp_path):
    options = dict(BASE, engine="sequential", dropout=0.0)
    out = tmp_path / "s"
    first = sweep.compare(options, out=out, report=False, should_stop=_stop_after(6 * 4 * 3 + 3))
    assert first.interrupted and first.finished == 3  # three runs of 4 epochs of 6 steps, then a bit
    events = []
    again = sweep.compare(options, out=out, report=False, resume=True, on_event=events.append)
    trained = [e for e in events if type(e).__name__ == "EpochEnd"]
    # the fourth run continues from its checkpoint (epochs 1.. are not retrained); runs 1-3 are not touched
    assert {e.run_id for e in trained} == {"selu/seed=0", "selu/seed=1", "tanh/seed=1"}
    assert again.skipped == 3 and len(trained) == 4 * 3


def test_extension_equals_the_longer_sweep(tmp_path):
    options = dict(BASE, acts=["relu", "tanh"])
    sweep.compare(dict(options, epochs=6), out=tmp_path / "long", report=False)
    short = sweep.compare(dict(options, epochs=3), out=tmp_path / "grow", report=False)
    assert not short.interrupted
    grown = sweep.compare({"epochs": 6}, out=tmp_path / "grow", report=False, resume=True)
    assert grown.extended_from == 3 and grown.finished == grown.total
    assert _snapshot(tmp_path / "grow") == _snapshot(tmp_path / "long")
    with Store(tmp_path / "grow", create=False) as store:
        assert [(x["from_epochs"], x["to_epochs"], x["runs"]) for x in extensions(store)] == [(3, 6, 4)]
        assert store.sweep()["config"]["epochs"] == 6
    with pytest.raises(ActlabError, match="shorten"):
        sweep.compare({"epochs": 2}, out=tmp_path / "grow", report=False, resume=True)


def test_checkpoint_is_one_file_per_cell_written_atomically(tmp_path):
    sweep.compare(dict(BASE, epochs=2), out=tmp_path, report=False)
    files = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert len(files) == 1 and files[0].startswith("grid-") and files[0].endswith(".pt")  # one grid cell
    run_ids = [f"{a}/seed={s}" for a in BASE["acts"] for s in range(2)]
    assert CheckpointDir(tmp_path).epochs("grid", run_ids) == 2


def test_checkpoint_save_is_atomic_and_leftovers_are_cleared(tmp_path):
    import torch

    checkpoint = CheckpointDir(tmp_path).for_cell("grid", ["a", "b"])
    assert checkpoint.load() is None
    checkpoint.save({"epoch": 3, "weights": torch.arange(4.0)})
    leftover = checkpoint.path.with_name(f".{checkpoint.path.name}.999.tmp")
    leftover.write_bytes(b"half a checkpoint")  # what a kill during a save leaves
    state = checkpoint.load()
    assert state["epoch"] == 3 and torch.equal(state["weights"], torch.arange(4.0))
    assert not leftover.exists()
    assert CheckpointDir(tmp_path).for_cell("grid", ["a"]).load() is None  # another cell: not this file
