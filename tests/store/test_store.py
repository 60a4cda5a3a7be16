"""The SQLite results store: idempotent writes, resume bookkeeping, several writers, export."""
from __future__ import annotations

import csv
import math
import multiprocessing
import sqlite3

import pytest

from actlab.errors import ActlabError
from actlab.store import Store, to_csv, to_parquet, to_tensorboard
from actlab.sweep import config_fingerprint

CONFIG = {"dataset": "moons", "acts": ["relu", "tanh"], "seeds": 2, "epochs": 3}


def _runs(acts=("relu", "tanh"), seeds=2):
    return [
        {"run_id": f"{a}/seed={s}", "activation": a, "label": a, "seed": s, "lr": 1e-3, "spec": {"activation": a}}
        for a in acts
        for s in range(seeds)
    ]


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "sweep") as st:
        st.init_sweep(CONFIG, config_fingerprint(CONFIG), command="actlab compare --dataset moons")
        st.add_runs(_runs())
        yield st


def _count(st, table, where=""):
    return st._conn.execute(f"SELECT COUNT(*) FROM {table} {where}").fetchone()[0]


def test_pragmas_and_integrity(store):
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert store._conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    assert store.integrity_check() == "ok"


def test_sweep_recorded_once_and_other_config_refused(store):
    info = store.sweep()
    assert info["config"] == CONFIG
    assert info["command"] == "actlab compare --dataset moons"
    assert set(info["versions"]) == {"actlab", "torch", "numpy", "python"}
    assert store.init_sweep(CONFIG, config_fingerprint(CONFIG), command="again") is False
    other = {**CONFIG, "seeds": 3}
    with pytest.raises(ActlabError, match="different config"):
        store.init_sweep(other, config_fingerprint(other), command="x")


def test_add_runs_is_idempotent(store):
    store.add_runs(_runs())
    store.add_runs(_runs())
    assert _count(store, "runs") == 4
    assert store.status_counts() == {"pending": 4, "running": 0, "finished": 0, "diverged": 0}


def test_epoch_replay_replaces_not_duplicates(store):
    for _ in range(3):
        store.record_epoch("relu/seed=0", 1, 10, 0.9, 0.8, 0.5, 0.1)
    store.record_epoch("relu/seed=0", 1, 10, 0.7, 0.6, 0.55, 0.1)
    rows = store.epochs("relu/seed=0")
    assert len(rows) == 1 and rows[0].val_loss == 0.6
    assert store.runs()[0].status == "running"


def test_non_finite_values_become_null(store):
    store.record_epoch("tanh/seed=0", 1, 5, math.nan, math.inf, None, 0.1)
    row = store.epochs("tanh/seed=0")[0]
    assert row.train_loss is None and row.val_loss is None and row.val_accuracy is None


def test_end_and_divergence(store):
    for epoch in (1, 2, 3):
        store.record_epoch("relu/seed=0", epoch, epoch * 10, 1.0 / epoch, 1.0 / epoch, 0.5 + epoch / 10, 0.2)
    store.record_end("relu/seed=0", best_epoch=3, test_loss=0.3, test_accuracy=0.8, val_loss=0.33,
                     val_accuracy=0.8, seconds_per_epoch=0.2)
    store.record_end("relu/seed=0", best_epoch=3, test_loss=0.3, test_accuracy=0.8, val_loss=0.33,
                     val_accuracy=0.8, seconds_per_epoch=0.2)  # replay
    store.record_diverged("tanh/seed=1", 2, 17, "loss became nan")
    runs = {r.run_id: r for r in store.runs()}
    assert runs["relu/seed=0"].status == "finished" and runs["relu/seed=0"].test_accuracy == 0.8
    assert runs["relu/seed=0"].wall_seconds == pytest.approx(0.6)
    diverged = runs["tanh/seed=1"]
    assert (diverged.status, diverged.diverged_epoch, diverged.diverged_step) == ("diverged", 2, 17)
    assert _count(store, "results") == 1


def test_unfinished_lists_partial_runs_and_deletes_nothing(store):
    store.record_epoch("relu/seed=0", 1, 10, 1, 1, 0.5, 0.1)
    store.record_end("relu/seed=0", best_epoch=1, test_loss=1, test_accuracy=0.5, val_loss=1, val_accuracy=0.5,
                     seconds_per_epoch=0.1)
    store.record_diverged("relu/seed=1", 1, 3, "nan")
    store.record_epoch("tanh/seed=0", 1, 10, 1, 1, 0.5, 0.1)
    store.record_epoch("tanh/seed=0", 2, 20, 1, 1, 0.5, 0.1)
    assert sorted(store.unfinished()) == ["tanh/seed=0", "tanh/seed=1"]
    assert len(store.epochs("tanh/seed=0")) == 2  # kept: the run continues from its checkpoint
    store.reopen(["relu/seed=0", "relu/seed=1"])  # extension: finished → running, diverged stays
    statuses = {r.run_id: r.status for r in store.runs()}
    assert statuses == {"relu/seed=0": "running", "relu/seed=1": "diverged", "tanh/seed=0": "running",
                        "tanh/seed=1": "pending"}
    assert _count(store, "results") == 1


def test_extensions_table_and_last_epochs(store):
    from actlab.store.extend import extensions, last_epochs, record_extension

    store.record_epoch("relu/seed=0", 1, 10, 1, 1, 0.5, 0.1)
    store.record_epoch("relu/seed=0", 2, 20, 1, 1, 0.5, 0.1)
    record_extension(store, 2, 5, 1, "actlab compare --resume --epochs 5")
    assert last_epochs(store) == {"relu/seed=0": 2}
    assert [(x["from_epochs"], x["to_epochs"]) for x in extensions(store)] == [(2, 5)]


def test_open_without_create_refuses_empty_dir(tmp_path):
    with pytest.raises(ActlabError, match="holds no actlab results"):
        Store(tmp_path, create=False)
    (tmp_path / "results.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(ActlabError, match="not a readable actlab store"):
        Store(tmp_path, create=False)


def _writer(path, worker, n):
    with Store(path) as st:
        st.add_runs(_runs(acts=("relu", "tanh", "gelu"), seeds=2))
        for i in range(n):
            run = _runs(acts=("relu", "tanh", "gelu"), seeds=2)[(i + worker) % 6]["run_id"]
            st.record_epoch(run, 1 + i % 5, i, 0.1, 0.2, 0.3, 0.01)


def test_several_processes_write_one_store(tmp_path):
    path = tmp_path / "shared"
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 60)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with Store(path) as st:
        assert st.integrity_check() == "ok"
        assert _count(st, "runs") == 6
        keys = st._conn.execute("SELECT run_id, epoch FROM epochs").fetchall()
        assert len(keys) == len({tuple(k) for k in keys}) == 30  # 6 runs × epochs 1..5, each once


def _filled(tmp_path):
    path = tmp_path / "sweep"
    with Store(path) as st:
        st.init_sweep(CONFIG, "f", command="c")
        st.add_runs(_runs())
        for run in ("relu/seed=0", "relu/seed=1", "tanh/seed=0"):
            for epoch in (1, 2, 3):
                st.record_epoch(run, epoch, epoch * 4, 1.0, 0.9, 0.6, 0.1)
            st.record_end(run, best_epoch=3, test_loss=0.9, test_accuracy=0.6, val_loss=0.9, val_accuracy=0.6,
                          seconds_per_epoch=0.1)
        st.record_epoch("tanh/seed=1", 1, 4, 1.0, 0.9, 0.6, 0.1)
        st.record_diverged("tanh/seed=1", 2, 6, "loss became nan")
    return path


def test_export_csv(tmp_path):
    written = to_csv(_filled(tmp_path), tmp_path / "csv")
    assert [p.name for p in written] == ["runs.csv", "epochs.csv"]
    runs = list(csv.DictReader((tmp_path / "csv" / "runs.csv").open()))
    epochs = list(csv.DictReader((tmp_path / "csv" / "epochs.csv").open()))
    assert len(runs) == 4 and len(epochs) == 10
    assert {r["status"] for r in runs} == {"finished", "diverged"}


def test_export_parquet(tmp_path):
    import pyarrow.parquet as pq

    to_parquet(_filled(tmp_path), tmp_path / "pq")
    runs = pq.read_table(tmp_path / "pq" / "runs.parquet")
    epochs = pq.read_table(tmp_path / "pq" / "epochs.parquet")
    assert runs.num_rows == 4 and epochs.num_rows == 10
    assert epochs.column("epoch").to_pylist()[:3] == [1, 2, 3]


def test_export_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    source = _filled(tmp_path)
    written = to_tensorboard(source, tmp_path / "tb")
    run_dirs = sorted(p.name for p in (tmp_path / "tb").iterdir())
    assert len(run_dirs) == 4 and len(written) == 4
    accumulator = EventAccumulator(str(tmp_path / "tb" / run_dirs[0]))
    accumulator.Reload()
    assert {"train_loss", "val_loss", "val_accuracy"} <= set(accumulator.Tags()["scalars"])
    assert [e.step for e in accumulator.Scalars("val_loss")] == [1, 2, 3]
    # exporting again replaces the event files instead of doubling every curve
    assert len(to_tensorboard(source, tmp_path / "tb")) == 4
    for run_dir in (tmp_path / "tb").iterdir():
        assert len(list(run_dir.glob("events.out.tfevents.*"))) == 1
    accumulator = EventAccumulator(str(tmp_path / "tb" / run_dirs[0]))
    accumulator.Reload()
    assert [e.step for e in accumulator.Scalars("val_loss")] == [1, 2, 3]


def test_sqlite_file_is_plain_sqlite(store):
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 4
    conn.close()


@pytest.mark.parametrize("kind", ["empty", "foreign", "directory"])
def test_a_store_that_is_not_actlabs_is_refused_and_left_untouched(tmp_path, kind, capsys):
    import sqlite3

    from actlab.cli import main

    target = tmp_path / "results.sqlite"
    if kind == "empty":
        target.touch()
    elif kind == "directory":
        target.mkdir()
    else:
        conn = sqlite3.connect(target)
        conn.execute("CREATE TABLE invoices (id INTEGER)")
        conn.commit()
        conn.close()
    before = target.read_bytes() if target.is_file() else None
    with pytest.raises(ActlabError, match="not an actlab store"):
        Store(tmp_path, create=False)
    code = main(["compare", "--dataset", "moons", "--subset", "100", "--epochs", "1", "--seeds", "1", "--acts", "relu",
                 "--out", str(tmp_path), "--resume", "--quiet"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and ("not an actlab store" in err or "holds no sweep to resume" in err), err
    assert (target.read_bytes() if target.is_file() else None) == before
