"""The decision as commands print it: one summary from the store, the cost rule, the same headline every render."""
from __future__ import annotations

import numpy as np

from actlab.report import ALL_FAILED_EXIT, decision_summary, summary_lines, write_report
from actlab.report.cost import COST_THRESHOLD, Cost, cost_ratio, dearer
from actlab.report.decision import decide
from actlab.report.summary import summarize
from actlab.report.tuning import random_start_warning
from actlab.store import Store
from actlab.store.measured import write_costs
from conftest import noisy

BASE = {"params": {}, "batch": 32, "width": 8, "layers": 2, "calls": 10, "threads": 1, "load": 1.0}


def _costs(run, per_call: dict[str, float], noise: float = 0.02, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for label, value in per_call.items():
        rounds = value * np.exp(rng.normal(0, noise, 9))
        rows.append({**BASE, "label": label, "activation": label, "median": float(np.median(rounds)),
                     "spread": float(np.subtract(*np.percentile(rounds, [75, 25])) / 2), "best": float(rounds.min()),
                     "rounds": rounds.tolist()})
    with Store(run) as st:
        write_costs(st, rows)


def test_cost_ratio_matches_an_independent_paired_log_t_interval():
    from scipy import stats

    a = (1.3, 1.5, 1.2, 1.4, 1.35)
    b = (1.0, 1.1, 1.0, 1.05, 1.0)
    ratio, low, high = cost_ratio(Cost(1.35, 0.1, a), Cost(1.0, 0.05, b))
    logs = np.log(a) - np.log(b)
    interval = stats.t.interval(0.95, len(logs) - 1, loc=logs.mean(), scale=stats.sem(logs))
    assert np.allclose([ratio, low, high], np.exp([logs.mean(), *interval]))
    assert dearer(Cost(2.0, 0, (2.0,) * 5), Cost(1.0, 0, (1.0,) * 5))
    assert not dearer(Cost(1.1, 0, (1.1,) * 5), Cost(1.0, 0, (1.0,) * 5))  # repeated, but below the threshold


def test_a_cost_difference_below_the_threshold_leaves_the_decision_to_the_next_rule(tmp_path, store):
    run = store(tmp_path / "r", {"gelu": noisy(0.95, seeds=4), "relu": noisy(0.95, seeds=4, seed=7),
                                 "elu": noisy(0.95, seeds=4, seed=9)})
    below = 1 + COST_THRESHOLD / 2  # repeated in every round (steady timings) but smaller than the threshold
    _costs(run, {"gelu": 1e-4, "relu": 1e-4 * below, "elu": 1e-4 * below}, noise=0.002)
    d = decide(summarize(run))
    assert len(d.group) == 3 and d.decided_by not in ("", "lowest measured cost")
    assert d.decided_by.startswith(("simplest", "higher mean"))
    assert all(d.within_noise[label] for label in ("relu", "elu"))
    html = write_report(run, thumbnails=False)["html"].read_text()
    assert f"by the tie-break ({d.decided_by})" in html
    summary = decision_summary(run)
    assert summary["decided_by"] == d.decided_by and f"Decided by: {d.decided_by}." in summary_lines(summary)
    _costs(run, {"gelu": 1e-4, "relu": 1e-4 * 3, "elu": 1e-4 * 3}, noise=0.002)  # three times dearer: cost decides
    d = decide(summarize(run))
    assert d.recommended.label == "gelu" and d.decided_by == "lowest measured cost"


def test_a_demo_like_store_rendered_five_times_says_the_same(tmp_path, store):
    acts = ["relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish", "tanh", "sigmoid"]
    run = store(tmp_path / "demo", {a: noisy(0.975 - (0.01 if a == "sigmoid" else 0), seeds=3, seed=i)
                                    for i, a in enumerate(acts)})
    _costs(run, {a: 1e-4 * (1 + 0.4 * i) for i, a in enumerate(acts)}, noise=0.5, seed=1)  # noisy timings
    summaries = [decision_summary(run) for _ in range(5)]
    reports = [write_report(run, thumbnails=False)["markdown"].read_text() for _ in range(5)]
    assert len({s["headline"] for s in summaries}) == 1 and summaries[0]["headline"].startswith("Use ")
    assert len(set(reports)) == 1 and summaries[0]["headline"] in reports[0]


def test_every_activation_failed_gives_the_reports_words_and_its_own_exit_code(tmp_path, store):
    run = store(tmp_path / "r", {"relu": [None, None], "tanh": [None, None]})
    summary = decision_summary(run)
    assert summary["all_failed"] and summary["exit_code"] == ALL_FAILED_EXIT != 0
    assert summary["headline"].startswith("Every activation failed to learn")
    assert summary["headline"] in write_report(run, thumbnails=False)["html"].read_text()
    lines = summary_lines(summary)
    assert lines[0] == summary["headline"] and lines[-1] == f"Report: {run / 'report.html'}"
    assert any("failed to learn" in line and "relu" in line for line in lines)  # the table's rows


def test_summary_has_the_top_rows_and_the_ranking(tmp_path, store):
    run = store(tmp_path / "r", {a: noisy(0.9 + 0.01 * i, seeds=3, seed=i) for i, a in
                                 enumerate(["relu", "tanh", "elu", "gelu", "silu", "mish", "selu"])})
    summary = decision_summary(run, top=3)
    assert len(summary["table"]["rows"]) == 3 and summary["table"]["more"] == 4
    assert [r["activation"] for r in summary["ranking"]][:3] == [row[1] for row in summary["table"]["rows"]]
    assert summary["recommended"] is not None and summary["exit_code"] == 0


def test_tuning_with_no_more_trials_than_the_random_start_warns():
    config = {"tune": {"trials": 3, "random_start": 10}}
    assert "random" in random_start_warning(config) and "--trials 3" in random_start_warning(config)
    assert random_start_warning({"tune": {"trials": 11, "random_start": 10}}) == ""
    assert random_start_warning({}) == ""


def test_the_sampler_uses_the_random_start_the_report_warns_about():
    from actlab.sweep.studies import RANDOM_START, new_sampler

    assert new_sampler(0, 0)._n_startup_trials == RANDOM_START


def test_the_config_table_leaves_out_options_that_did_not_apply():
    from actlab.report.tables import _config_rows
    from actlab.sweep.run import _not_applying

    adam = {"optimizer": "adam", "momentum": 0.9, "nesterov": False, "adam_beta1": 0.9, "lr": 1e-3}
    sgd = {**adam, "optimizer": "sgd"}
    assert "momentum" in _not_applying(adam) and "adam_beta1" in _not_applying(sgd)
    keys = [row[0] for row in _config_rows({**adam, "not_applying": _not_applying(adam)})]
    assert "momentum" not in keys and "adam_beta1" in keys and "not_applying" not in keys
    keys = [row[0] for row in _config_rows({**sgd, "not_applying": _not_applying(sgd)})]
    assert "momentum" in keys and "adam_beta1" not in keys
