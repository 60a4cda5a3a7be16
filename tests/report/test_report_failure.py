"""Runs that failed to learn (diverged, chance level, exploded loss): thresholds, summaries, report, real sweeps."""
from __future__ import annotations

import json
import math

import pytest

from actlab.cli import main
from actlab.report import summarize, write_report
from actlab.report.decision import decide
from actlab.report.failure import CHANCE_SIGMAS, LOSS_FACTOR, Baseline, failure_reason, stored_baseline
from actlab.store import EpochRow, RunRow, Store

DIGITS = Baseline(True, classes=10, val_size=359, chance=0.1, constant_loss=math.log(10))


def _run(status="finished", val_accuracy=None, val_loss=None, reason=None):
    return RunRow(run_id="a/seed=0", activation="a", label="a", params={}, seed=0, lr=0.1, status=status,
                  diverged_epoch=None, diverged_step=None, reason=reason, wall_seconds=None, started=None,
                  finished=None, best_epoch=1, val_accuracy=val_accuracy, val_loss=val_loss)


def _epochs(*pairs):
    return [EpochRow("a/seed=0", i, 10 * i, 1.0, loss, acc, 0.1) for i, (loss, acc) in enumerate(pairs, 1)]


# ------------------------------------------------------------ thresholds
def test_chance_bound_is_a_binomial_bound():
    expected = 0.1 + CHANCE_SIGMAS * math.sqrt(0.1 * 0.9 / 359)
    assert DIGITS.chance_bound == pytest.approx(expected) and 0.14 < expected < 0.16
    assert DIGITS.loss_bound == pytest.approx(LOSS_FACTOR * math.log(10))
    # the margin shrinks with the validation set: 10 000 examples → chance + 0.9 points
    assert Baseline(True, 10, 10_000, 0.1, math.log(10)).chance_bound == pytest.approx(0.109)
    assert Baseline(True).chance_bound is None and Baseline(True).loss_bound is None


@pytest.mark.parametrize("pairs, status, reason", [
    ([(2.0, 0.10), (2.1, 0.12)], "finished", "chance level"),  # best 12 % ≤ 14.8 %
    ([(2.0, 0.10), (1.5, 0.16)], "finished", ""),  # 16 % > the bound: it learned something
    ([(0.5, 0.90), (1e16, 0.14)], "finished", "exploded"),  # the last loss 1e16 > 23
    ([(0.5, 0.90), (30.0, 0.85)], "finished", "exploded"),  # 30 > 10 × log 10 even at 85 %
    ([(0.5, 0.90), (20.0, 0.85)], "finished", ""),  # an overconfident net that learned
    ([(0.5, 0.90), (math.inf, 0.85)], "finished", "exploded"),
    ([(0.5, 0.90)], "diverged", "diverged"),
    ([(0.5, 0.10)], "running", ""),  # not over yet: no verdict
])
def test_failure_reason(pairs, status, reason):
    run = _run(status, val_accuracy=max(a for _, a in pairs), val_loss=pairs[-1][0], reason="loss became nan")
    why = failure_reason(run, _epochs(*pairs), DIGITS)
    assert why.startswith(reason) if reason else why == ""


def test_chance_level_at_the_reported_epoch():
    """Above chance at one epoch (20 %), but the epoch the report quotes (lowest validation loss) is at 11 %."""
    pairs = [(2.3, 0.20), (2.2, 0.11)]
    why = failure_reason(_run(val_accuracy=0.11, val_loss=2.2), _epochs(*pairs), DIGITS)
    assert why.startswith("chance level at the reported epoch") and "11.0 %" in why
    assert failure_reason(_run(val_accuracy=0.20, val_loss=2.3), _epochs(*pairs), DIGITS) == ""


def test_regression_thresholds():
    baseline = Baseline(False, 0, 100, None, 2.0)  # validation targets' variance 2
    assert failure_reason(_run(val_loss=1.0), _epochs((1.5, None), (1.0, None)), baseline) == ""
    assert failure_reason(_run(val_loss=2.1), _epochs((2.2, None), (2.1, None)), baseline).startswith("no better")
    assert failure_reason(_run(val_loss=1.0), _epochs((1.0, None), (25.0, None)), baseline).startswith("exploded")


def test_old_stores_recover_the_baseline():
    # no recorded baseline: validation size from the accuracies (k / 359), classes from the name
    old = stored_baseline({"dataset": "digits"}, True, [36 / 359, 120 / 359, 7 / 359])
    assert (old.classes, old.val_size, old.chance) == (10, 359, 0.1)
    assert stored_baseline({"dataset": "moons"}, True, [0.5]).classes == 2
    unknown = stored_baseline({"dataset": "my.csv"}, True, [0.93])  # unknown classes: only non-finite counts
    assert unknown.chance_bound is None and unknown.loss_bound is None
    assert stored_baseline({"dataset": "digits"}, True, [0.912345678]).val_size is None  # not k / n
    recorded = stored_baseline({"baseline": {"classes": 3, "val_size": 50, "chance": 0.4, "constant_loss": 1.1}},
                               True, [])
    assert recorded == Baseline(True, 3, 50, 0.4, 1.1)


# ------------------------------------------------- summaries and report
def _store(path, runs, dataset="digits"):
    """``runs``: activation → per seed (test accuracy, best val accuracy, last val loss), or None (NaN)."""
    acts = list(runs)
    seeds = max(len(v) for v in runs.values())
    config = {"dataset": dataset, "model": "mlp", "depth": 2, "width": 8, "acts": acts, "seeds": seeds, "epochs": 2,
              "lr": 0.1, "lr_grid": None, "task": "classification", "lr_resolved": 0.1,
              "baseline": {"classes": 10, "val_size": 359, "chance": 0.1, "constant_loss": math.log(10)}}
    with Store(path) as st:
        st.init_sweep(config, "fp", command="actlab compare", reproduce="actlab compare")
        rows = [{"run_id": f"{a}/seed={s}", "activation": a, "label": a, "seed": s, "lr": 0.1}
                for a in acts for s in range(len(runs[a]))]
        st.add_runs(rows)
        for row in rows:
            a, s = row["label"], int(row["run_id"].rsplit("=", 1)[1])
            value = runs[a][s]
            if value is None:
                st.record_epoch(row["run_id"], 1, 10, 3.0, math.nan, 0.1, 0.1)
                st.record_diverged(row["run_id"], 1, 10, "training loss became nan")
                continue
            test, val, loss = value
            st.record_epoch(row["run_id"], 1, 10, 2.0, 2.0, 0.1, 0.1)
            st.record_epoch(row["run_id"], 2, 20, 1.0, loss, val, 0.1)
            st.record_end(row["run_id"], best_epoch=2, test_loss=loss, test_accuracy=test, val_loss=loss,
                          val_accuracy=val, seconds_per_epoch=0.1)
    return path


def test_failed_runs_are_never_the_best_and_not_tested(tmp_path):
    # "square" has the highest test accuracy on paper, but its loss exploded in every seed
    run = _store(tmp_path / "r", {
        "square": [(0.99, 0.98, 1e16), (0.99, 0.98, 2e15), (0.98, 0.97, 1e14)],
        "tanh": [(0.90, 0.91, 0.4), (0.91, 0.90, 0.3), (0.89, 0.90, 0.35)],
        "relu": [(0.92, 0.92, 0.3), (0.10, 0.10, 2.3), (0.93, 0.92, 0.3)],  # seed 1 at chance level
        "exponential": [None, None, None],
    })
    data = summarize(run)
    assert data.best.label == "relu"
    square = next(s for s in data.summaries if s.label == "square")
    relu = next(s for s in data.summaries if s.label == "relu")
    assert square.mean is None and square.metric_values == {} and len(square.failed) == 3
    assert sorted(relu.metric_values) == [0, 2] and len(relu.failed) == 1  # the chance-level seed is left out
    assert square.test_note == "all 3 seeds failed to learn (exploded loss)"
    d = decide(data, cost={})
    assert "square" not in [s.label for s in d.group] and d.recommended.label in ("relu", "tanh")
    assert "Failed to learn (left out): square (all 3 seeds failed to learn (exploded loss)); exponential " \
           "(all 3 seeds failed to learn (diverged))." in d.headline
    html = write_report(run, cost={}, thumbnails=False)["html"].read_text()
    assert "all 3 seeds failed to learn (diverged)" in html and "not enough seeds for a test" not in html
    assert "1 of 3 seeds failed to learn" in html  # relu's row
    assert "chance level: best validation accuracy 10.0 % ≤ 14.8 %" in html  # the run is listed with its reason
    assert "Failed to learn:" in html and "3 binomial standard errors over 359 validation examples" in html


def test_recommend_never_counts_a_failed_run_as_evidence_for_it(tmp_path):
    from actlab.report.recommend import recommend

    run = _store(tmp_path / "r", {
        "square": [(0.99, 0.98, 1e16), (0.99, 0.98, 2e15), (0.98, 0.97, 1e14)],  # "best" on paper, exploded
        "tanh": [(0.90, 0.91, 0.4), (0.91, 0.90, 0.3), (0.89, 0.90, 0.35)],
        "relu": [(0.92, 0.92, 0.3), (0.10, 0.10, 2.3), (0.93, 0.92, 0.3)],
    })
    result = recommend(run_dirs=[run], candidates=["square", "tanh", "relu"])
    by_name = {r["activation"]: r for r in result["recommendations"]}
    square = [e for e in by_name["square"]["evidence"] if e.get("kind") == "measurement"]
    assert square and all(e["score"] < 0 and e["mean"] is None and e["failed_to_learn"] == 3 for e in square)
    assert any("all 3 seeds failed to learn (exploded loss)" in reason for reason in by_name["square"]["reasons"])
    relu = [e for e in by_name["relu"]["evidence"] if e.get("kind") == "measurement"]
    assert any("1 of 3 seeds failed to learn" in reason for reason in by_name["relu"]["reasons"])
    assert all(e["seeds"] == 2 for e in relu)  # the chance-level seed is not a measurement
    assert [r["activation"] for r in result["recommendations"]][-1] == "square"


def test_the_only_activation_that_learned_is_not_called_significantly_better(tmp_path):
    # nothing was tested against relu: the headline must not claim a significant difference
    run = _store(tmp_path / "r", {"relu": [(0.9, 0.9, 0.3), (0.7, 0.7, 0.9)], "tanh": [(0.1, 0.1, 2.3)] * 2,
                                  "exponential": [None, None]})
    d = decide(summarize(run), cost={})
    assert d.recommended.label == "relu"
    assert "the only activation that learned" in d.headline and "significantly" not in d.headline


def test_every_activation_failed(tmp_path):
    run = _store(tmp_path / "r", {"square": [(0.2, 0.12, 1e16)] * 2, "relu": [(0.1, 0.1, 2.3)] * 2})
    data = summarize(run)
    assert data.best is None and data.all_failed
    d = decide(data, cost={})
    assert d.headline.startswith("Every activation failed to learn: all 4 runs (")
    assert d.recommended is None


def test_pending_runs_are_not_failures(tmp_path):
    with Store(tmp_path / "r") as st:
        st.init_sweep({"dataset": "digits", "acts": ["relu"], "task": "classification"}, "fp", command="c",
                      reproduce="c")
        st.add_runs([{"run_id": "relu/seed=0", "activation": "relu", "label": "relu", "seed": 0, "lr": 0.1}])
    data = summarize(tmp_path / "r")
    assert not data.all_failed and not data.failures
    assert decide(data, cost={}).headline.startswith("No run has finished yet")


# --------------------------------------------------------- real sweeps
SWEEP = ["--dataset", "digits", "--seeds", "3", "--epochs", "3", "--width", "32", "--quiet"]


@pytest.mark.slow
def test_real_sweep_with_a_diverging_activation(tmp_path, capsys):
    # at --lr 0.1 (Adam) tanh learns (~90 %) and exponential fails in every seed (NaN, exploded loss, chance)
    out = tmp_path / "lr0.1"
    assert main(["compare", *SWEEP, "--acts", "tanh,exponential", "--lr", "0.1", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    rows = {r["activation"]: r for r in summary["ranking"]}
    assert summary["best"] == "tanh" and rows["tanh"]["failed_to_learn"] == 0
    assert rows["exponential"]["failed_to_learn"] == 3 and rows["exponential"]["test_accuracy_mean"] is None
    assert rows["exponential"]["vs_best"].startswith("all 3 seeds failed to learn (")
    assert {f["activation"] for f in summary["failed_to_learn"]} == {"exponential"}
    data = summarize(out)
    assert data.baseline.val_size == 359 and data.baseline.classes == 10
    html = (out / "report.html").read_text()
    assert "Best" not in html.split("exponential", 1)[0][-200:]
    assert "all 3 seeds failed to learn" in html and "not enough seeds for a test" not in html
    assert decide(data, cost={}).headline.count("exponential") == 1  # only in the "left out" sentence


@pytest.mark.slow
def test_real_sweep_where_everything_fails(tmp_path, capsys):
    # the case: at --lr 10 square and relu "finished" at chance level with a test loss up to 1e16
    out = tmp_path / "lr10"
    assert main(["compare", *SWEEP, "--acts", "square,relu,exponential", "--lr", "10", "--out", str(out),
                 "--json"]) == 3  # every activation failed to learn: its own exit code
    summary = json.loads(capsys.readouterr().out)
    assert summary["best"] is None and summary["all_failed"] and summary["exit_code"] == 3
    assert all(r["failed_to_learn"] == 3 and r["test_accuracy_mean"] is None for r in summary["ranking"])
    html = (out / "report.html").read_text()
    assert "Every activation failed to learn: all 9 runs (" in html
    assert "Best: square" not in html and "not enough seeds for a test" not in html
    assert "Every activation failed to learn: no recommendation." in html
