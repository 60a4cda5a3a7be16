"""``actlab tune``: the search space, a study per activation, pruning, resume after a kill, the comparison and report."""
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
from actlab.store import Store
from actlab.sweep.space import Dimension, format_space, parse_space
from actlab.sweep.tune import tune

optuna = pytest.importorskip("optuna")

SMALL = dict(dataset="digits", epochs=2, seeds=2, batch_size=64, precision="fp32")
CLI = [sys.executable, "-c", "import sys; from actlab.cli import main; sys.exit(main())"]


@pytest.fixture(autouse=True)
def _eager(monkeypatch):
    monkeypatch.setenv("ACTLAB_COMPILE", "0")


def _studies(out: Path) -> dict[str, list]:
    storage = optuna.storages.RDBStorage(f"sqlite:///{(out / 'optuna.sqlite').resolve()}")
    found = {}
    for summary in optuna.get_all_study_summaries(storage):
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        found[summary.study_name.split(":", 1)[1]] = study.get_trials(deepcopy=False)
    return found


def _counted(trials) -> list:
    return [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]


# ------------------------------------------------------------ the space
GOOD = [
    ("lr=1e-4:1e-1:log", [Dimension("lr", "float", 1e-4, 1e-1, True)]),
    ("width=32:256", [Dimension("width", "int", 32, 256)]),
    ("depth=1:4,dropout=0:0.5", [Dimension("depth", "int", 1, 4), Dimension("dropout", "float", 0.0, 0.5)]),
    ("batch-size=16:128:log", [Dimension("batch_size", "int", 16, 128, True)]),
    ("weight_decay=0:1", [Dimension("weight_decay", "float", 0.0, 1.0)]),  # a float option with whole ends
    ("optimizer=adam|sgd|rmsprop", [Dimension("optimizer", "categorical", choices=("adam", "sgd", "rmsprop"))]),
    ("width=64|128", [Dimension("width", "categorical", choices=(64, 128))]),
    (" lr = 0.001 : 0.1 : log ", [Dimension("lr", "float", 0.001, 0.1, True)]),
]


@pytest.mark.parametrize("text, dims", GOOD, ids=[g[0] for g in GOOD])
def test_space_parses(text, dims):
    assert parse_space(text) == dims
    assert parse_space(format_space(dims)) == dims  # the text round-trips


def test_default_space():
    assert [d.name for d in parse_space(None)] == ["lr", "width", "depth", "dropout"]
    assert parse_space(["lr=1e-3:1e-1", "depth=1:2"]) == parse_space("lr=1e-3:1e-1,depth=1:2")


BAD = [
    ("wdth=32:256", "did you mean width"),
    ("learning-rate=1e-3:1e-1", "searchable"),
    ("epochs=1:10", "epochs cannot be searched"),
    ("model=mlp|cnn", "model cannot be searched"),
    ("width=16.5:64", "whole numbers"),
    ("width=32|64.5", "whole numbers"),
    ("lr=0:1e-1:log", "positive low end"),
    ("lr=1e-1:1e-3", "low end must be below"),
    ("lr=1e-3:1e-1:lin", "only be 'log'"),
    ("lr=1e-3", "two ends"),
    ("lr=abc:1", "not a number"),
    ("lr=1e-3:inf", "finite"),
    ("optimizer=0:1", "takes words"),
    ("width", "name=lo:hi"),
    ("lr=1e-3:1e-1,,width=8:16", "empty item"),
    ("lr=1e-3:1e-1,lr=1e-2:1", "twice"),
    ("width=8|8", "listed twice"),
    ("", "empty"),
]


@pytest.mark.parametrize("text, message", BAD, ids=[b[0] or "empty" for b in BAD])
def test_bad_space_is_refused(text, message):
    with pytest.raises(ActlabError, match=message):
        parse_space(text)


@pytest.mark.parametrize("extra, message", [
    (["--space", "wdth=8:32"], "did you mean width"),
    (["--trials", "0"], "--trials"),
    (["--pruner", "mean"], "--pruner"),
    (["--engine", "spark"], "--engine"),
    (["--lr", "0.01", "--space", "lr=1e-3:1e-1"], "searched"),
    (["--lr-grid", "0.1,0.01"], "lr-grid"),
    (["--space", "dropout=0:1.5"], "dropout"),  # an end of the space the trainer refuses
    (["--acts", "relu,gelux"], "did you mean"),
])
def test_bad_input_exits_2_before_training(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    argv = ["tune", "--dataset", "digits", "--acts", "relu", "--epochs", "1", "--trials", "2", "--out", str(out), *extra]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (out / "optuna.sqlite").exists() and not (out / "results.sqlite").exists()


# ------------------------------------------------------------ tune end to end
@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    out = tmp_path_factory.mktemp("tune") / "run"
    mp = pytest.MonkeyPatch()
    mp.setenv("ACTLAB_COMPILE", "0")
    import actlab.train

    used = []
    real = actlab.train.train_runs

    def spy(dataset, config, runs, **kw):  # the comparison's trainings: each activation at its own config
        used.append((config.width, config.lr, [r.run_id for r in runs]))
        return real(dataset, config, runs, **kw)

    ended = []
    mp.setattr(actlab.train, "train_runs", spy)
    try:
        outcome = tune(dict(SMALL, acts=["relu", "tanh"]), trials=3, space="lr=1e-3:1e-1:log,width=8|32",
                       out=str(out), on_trial=ended.append)
    finally:
        mp.undo()
    return out, outcome, ended, used


def test_tune_produces_a_store_and_a_report_with_the_tuned_section(tuned):
    out, outcome, ended, used = tuned
    assert not outcome.interrupted and outcome.trials_run == 6 and len(ended) == 6
    assert {e.label for e in ended} == {"relu", "tanh"} and [e.counted for e in ended] == [1, 2, 3, 1, 2, 3]
    assert (out / "optuna.sqlite").is_file() and (out / "results.sqlite").is_file()
    studies = _studies(out)
    assert set(studies) == {"relu", "tanh"} and all(len(_counted(t)) == 3 for t in studies.values())
    with Store(out, create=False) as store:
        runs = store.runs()
        config = store.sweep()["config"]
    assert sorted(r.run_id for r in runs) == ["relu/seed=0", "relu/seed=1", "tanh/seed=0", "tanh/seed=1"]
    assert all(r.status == "finished" for r in runs)
    for run in runs:  # each activation at its best trial's settings
        best = max((t for t in studies[run.label] if t.state.name == "COMPLETE"), key=lambda t: t.value)
        assert config["tune"]["settings"][run.label] == best.params
        assert run.lr == pytest.approx(best.params["lr"])
    comparison = [u for u in used if u[2] and "seed=1" in " ".join(u[2])]
    assert {tuple(u[2]): (u[0], u[1]) for u in comparison} == {
        tuple(f"{label}/seed={s}" for s in (0, 1)): (config["tune"]["settings"][label]["width"],
                                                    config["tune"]["settings"][label]["lr"])
        for label in ("relu", "tanh")}
    report = (out / "report.md").read_text()
    assert report.startswith("# actlab tune — digits")
    assert "## Tuned settings" in report and "Importance of each searched option" in report
    for label in ("relu", "tanh"):
        assert f"| {label} | {config['tune']['settings'][label]['lr']:.3g} |" in report
    assert "Tuned settings" in (out / "report.html").read_text()


def test_rerun_resumes_without_training_and_json_is_strict(tuned, capsys):
    out, outcome, _, _ = tuned
    argv = ["tune", "--dataset", "digits", "--epochs", "2", "--seeds", "2", "--batch-size", "64", "--precision", "fp32",
            "--acts", "relu,tanh", "--trials", "3", "--space", "lr=1e-3:1e-1:log,width=8|32", "--out", str(out), "--json"]
    assert main(argv) == 0
    text = capsys.readouterr().out

    def refuse(constant):
        raise AssertionError(f"non-strict JSON constant {constant}")

    data = json.loads(text, parse_constant=refuse)
    assert data["trials_run"] == 0 and not data["interrupted"]
    assert data["search"]["relu"]["settings"] == outcome.settings["relu"]
    assert data["search"]["tanh"]["complete"] + data["search"]["tanh"]["pruned"] == 3
    assert {r["activation"] for r in data["comparison"]["ranking"]} == {"relu", "tanh"}


def test_more_trials_or_another_config_on_the_same_out_is_refused(tuned):
    out, _, _, _ = tuned
    with pytest.raises(ActlabError, match="after 3 trials"):
        tune(dict(SMALL, acts=["relu", "tanh"]), trials=4, space="lr=1e-3:1e-1:log,width=8|32", out=str(out))
    with pytest.raises(ActlabError, match="another config|different config"):
        tune(dict(SMALL, acts=["relu", "tanh"], epochs=3), trials=3, space="lr=1e-3:1e-1:log,width=8|32",
             out=str(out))


# ------------------------------------------------------------ pruning
def test_the_median_pruner_stops_a_hopeless_trial(tmp_path):
    good = [{"lr": 1e-2}] * 5
    hopeless = {"lr": 1e-6}  # at this rate the net stays near chance: below the median after epoch 1
    outcome = tune(dict(SMALL, acts=["relu"], seeds=1, width=16), trials=6, space="lr=1e-6:1e-1:log",
                   out=str(tmp_path / "p"), enqueue={"relu": [*good, hopeless]}, report=False)
    trials = _studies(tmp_path / "p")["relu"]
    assert [t.state.name for t in trials] == ["COMPLETE"] * 5 + ["PRUNED"]
    assert trials[-1].params == hopeless and len(trials[-1].intermediate_values) < 2
    assert outcome.studies["relu"]["pruned"] == 1 and outcome.settings["relu"]["lr"] == pytest.approx(1e-2)


@pytest.mark.slow
def test_no_pruner_lets_every_trial_finish(tmp_path):
    outcome = tune(dict(SMALL, acts=["relu"], seeds=1, width=16), trials=6, space="lr=1e-6:1e-1:log", pruner="none",
                   out=str(tmp_path / "n"), enqueue={"relu": [{"lr": 1e-2}] * 5 + [{"lr": 1e-6}]}, report=False)
    assert outcome.studies["relu"]["complete"] == 6 and outcome.studies["relu"]["pruned"] == 0


# ------------------------------------------------------------ stop and resume
def _stop_after(calls):
    count = {"n": 0}

    def stop():
        count["n"] += 1
        return count["n"] > calls
    return stop


def test_a_stopped_trial_is_tried_again_with_the_same_settings(tmp_path):
    options = dict(SMALL, acts=["relu"], seeds=1, width=16)
    out = tmp_path / "s"
    # digits: 1079 training examples, batch 64 → 17 steps an epoch; stop inside the second trial
    first = tune(options, trials=3, space="lr=1e-3:1e-1:log", out=str(out), should_stop=_stop_after(50), report=False)
    assert first.interrupted and first.trials_run == 1 and first.comparison is None
    trials = _studies(out)["relu"]
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "WAITING"]
    assert trials[2].system_attrs["fixed_params"] == trials[1].params and trials[2].user_attrs["retry_of"] == 1
    again = tune(options, trials=3, space="lr=1e-3:1e-1:log", out=str(out), report=False)
    assert not again.interrupted and again.trials_run == 2 and again.comparison.finished == 1
    trials = _studies(out)["relu"]
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]
    assert trials[2].params == trials[1].params


def test_a_second_tune_on_a_directory_in_use_is_refused(tmp_path):
    from actlab.sweep.lock import SweepLock, SweepLocked

    out = tmp_path / "busy"
    with SweepLock(out, command="actlab tune (another)"), pytest.raises(SweepLocked, match="in use"):
        tune(dict(SMALL, acts=["relu"], seeds=1, width=16), trials=1, space="lr=1e-3:1e-1:log", out=str(out))


# ------------------------------------------------------------ resume after a kill
def _progress(db: Path) -> tuple[int, int]:
    """(complete trials, running trials with at least one reported epoch)."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            complete = conn.execute("SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]
            running = conn.execute(
                "SELECT COUNT(*) FROM trials WHERE state = 'RUNNING' AND trial_id IN "
                "(SELECT trial_id FROM trial_intermediate_values)").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:  # not created yet
        return 0, 0
    return complete, running


@pytest.mark.slow
def test_a_kill_mid_trial_resumes_to_the_requested_trials(tmp_path):
    options = ["--dataset", "digits", "--acts", "relu", "--epochs", "4", "--seeds", "1", "--width", "16",
               "--batch-size", "32", "--precision", "fp32", "--trials", "3", "--pruner", "none",
               "--space", "lr=1e-3:1e-1:log,depth=1:2", "--quiet"]
    killed = tmp_path / "killed"
    env = dict(os.environ, ACTLAB_COMPILE="0", PYTHONPATH=os.pathsep.join(sys.path))
    process = subprocess.Popen([*CLI, "tune", *options, "--out", str(killed)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and process.poll() is None:
            complete, running = _progress(killed / "optuna.sqlite")
            if complete >= 1 and running:
                break
            time.sleep(0.05)
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    before = _studies(killed)["relu"]
    finished_before = {t.number: (t.params, t.value) for t in before if t.state.name == "COMPLETE"}
    stale = [t for t in before if t.state.name == "RUNNING"]
    assert finished_before and len(stale) == 1

    assert main(["tune", *options, "--out", str(killed)]) == 0
    after = _studies(killed)["relu"]
    assert len(_counted(after)) == 3  # as requested: the killed trial is not counted
    for number, (params, value) in finished_before.items():  # the finished ones are kept, not redone
        assert (after[number].params, after[number].value) == (params, value)
    assert after[stale[0].number].state.name == "FAIL"
    retried = [t for t in after if t.user_attrs.get("retry_of") == stale[0].number]
    assert len(retried) == 1 and retried[0].params == stale[0].params and retried[0].state.name == "COMPLETE"
    assert len(after) == 4  # 3 counted + the one the kill interrupted

    # the same search uninterrupted suggests the same settings, trial for trial
    assert main(["tune", *options, "--out", str(tmp_path / "whole")]) == 0
    whole = _counted(_studies(tmp_path / "whole")["relu"])
    assert [t.params for t in whole] == [t.params for t in _counted(after)]
    assert [t.value for t in whole] == pytest.approx([t.value for t in _counted(after)], abs=1e-6)
    with Store(killed, create=False) as store:
        assert [r.status for r in store.runs()] == ["finished"]
