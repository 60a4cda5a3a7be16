"""The report's decision on synthetic stores: winner, tie, tie-break, diverged runs, warnings and notes."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from actlab.cli import main
from actlab.report import summarize, write_report
from actlab.report.decision import decide
from actlab.report.stats import bounded_interval, equivalent, seeds_needed
from conftest import noisy

NO_COST = {}


def _decide(path, **kwargs):
    return decide(summarize(path), cost=kwargs.pop("cost", NO_COST), **kwargs)


def test_one_clear_winner(tmp_path, store):
    run = store(tmp_path / "r", {"relu": noisy(0.95, seed=1), "tanh": noisy(0.90, seed=2), "sigmoid": noisy(0.85, seed=3)})
    d = _decide(run)
    assert [s.label for s in d.group] == ["relu"] and d.recommended.label == "relu"
    assert d.headline.startswith("Use relu: it is significantly better than every other activation")
    assert "Holm" in d.headline and "α = 0.05" in d.headline
    assert d.effects["tanh"].difference == pytest.approx(0.05, abs=0.005)
    low, high = d.effects["tanh"].ci
    assert 0 < low < 0.05 < high


def test_a_tie_says_so_in_words(tmp_path, store):
    base = noisy(0.95, seed=1, spread=0.004)
    run = store(tmp_path / "r", {"relu": base, "gelu": [v + 0.0002 for v in noisy(0.95, seed=2, spread=0.004)],
                                 "mish": noisy(0.95, seed=3, spread=0.004)})
    d = _decide(run)
    assert len(d.group) == 3 and not d.worse
    assert d.headline.startswith("Nothing separates the 3 activations: none is significantly worse than the best")
    assert "Recommended:" in d.headline and "tie-break" in d.headline


def test_equivalence_within_the_margin(tmp_path, store):
    a = noisy(0.95, seeds=8, spread=0.001, seed=1)
    run = store(tmp_path / "r", {"relu": a, "gelu": [v - 0.0003 + 0.0001 * (i % 2) for i, v in enumerate(a)]})
    d = _decide(run)
    # significantly worse (tiny spread) but by 0.025 points: equivalent in practice, so in the group
    assert d.effects["gelu"].equivalent is True and d.effects["gelu"].ci[0] > 0
    assert [s.label for s in d.group] == ["relu", "gelu"]
    assert "significantly worse but by less than ±0.2 points of accuracy (equivalent in practice, TOST)" in d.headline
    d_tight = _decide(run, margin=0.01)  # 0.01 points: far too tight to show equivalence
    assert d_tight.effects["gelu"].equivalent is False and [s.label for s in d_tight.group] == ["relu"]


def test_tie_decided_by_the_tie_break(tmp_path, store):
    # gelu has the best mean but one of its three runs diverged; relu is indistinguishable and never diverged
    run = store(tmp_path / "r", {"gelu": [0.952, None, 0.950], "relu": [0.950, 0.951, 0.951]})
    d = _decide(run)
    assert d.best.label == "gelu" and {s.label for s in d.group} == {"gelu", "relu"}
    assert d.recommended.label == "relu" and d.decided_by == "fewest diverged runs"
    assert "Recommended: relu by the tie-break (fewest diverged runs)" in d.headline
    # no divergence: the measured cost decides (within 10 % counts as equal), then simplicity
    run2 = store(tmp_path / "r2", {"gelu": [0.952, 0.950, 0.951], "relu": [0.950, 0.951, 0.949]})
    d2 = _decide(run2, cost={"gelu": 2.0, "relu": 1.0})
    assert d2.recommended.label == "relu" and d2.decided_by == "lowest measured cost"
    d3 = _decide(run2, cost={"gelu": 1.0, "relu": 1.05})
    assert d3.decided_by == "simplest (fewest parameters)" or d3.decided_by == "higher mean among the equally cheap and simple"


def test_diverged_activation_is_out_of_the_group(tmp_path, store):
    run = store(tmp_path / "r", {"relu": noisy(0.95, seeds=3), "bad": [None, None, None]} | {})
    d = _decide(run)
    assert [s.label for s in d.unfinished] == ["bad"] and all(s.label != "bad" for s in d.group)
    html = write_report(run, cost=NO_COST, thumbnails=False)["html"].read_text()
    assert "all 3 seeds failed to learn (diverged)" in html and "loss became nan" in html
    assert "not enough seeds for a test" not in html.split("bad</td>", 1)[1].split("</tr>", 1)[0]


@pytest.mark.parametrize("seeds", range(2, 11))
def test_intervals_stay_in_range(seeds):
    rng = np.random.default_rng(seeds)
    for _ in range(20):
        acc = np.clip(1 - np.abs(rng.normal(0, 0.02, seeds)), 0, 1)
        low, high = bounded_interval(acc, "accuracy")
        assert 0.0 <= low <= high <= 1.0
        loss = np.abs(rng.normal(0.05, 0.08, seeds)) + 1e-6
        low, high = bounded_interval(loss, "loss")
        assert 0.0 < low <= high


def test_two_seed_store_intervals_and_warning(tmp_path, store):
    run = store(tmp_path / "r", {"relu": [1.0, 0.99], "tanh": [0.98, 0.97]})
    data = summarize(run)
    for s in data.summaries:
        assert 0.0 <= s.ci[0] <= s.ci[1] <= 1.0
    paths = write_report(run, cost=NO_COST, thumbnails=False)
    assert "Only 2 seed(s)" in paths["html"].read_text() and "Only 2 seed(s)" in paths["markdown"].read_text()
    reg = store(tmp_path / "g", {"relu": [0.01, 0.2], "tanh": [0.3, 0.31]}, task="regression")
    for s in summarize(reg).summaries:
        assert s.ci[0] > 0


def test_power_note_and_tost_helpers():
    assert seeds_needed([0.01, 0.012, 0.009]) == 3  # d ≈ 6.8: 2 seeds give 55 % power, 3 give 99.9 %
    assert seeds_needed([0.001, -0.002, 0.0015, 0.0]) > 10
    assert equivalent([0.0001, -0.0001, 0.0002], 0.002) is True
    assert equivalent([0.01, 0.012, 0.011], 0.002) is False


def test_edge_of_grid_warning(tmp_path, store):
    penalty = {(a, 1e-3): 0.02 for a in ("relu", "tanh")}
    run = store(tmp_path / "r", {"relu": noisy(0.95, seeds=3), "tanh": noisy(0.9, seeds=3)}, lrs=(1e-3, 1e-2),
                lr_penalty=penalty)
    d = _decide(run)
    assert set(d.lr_edges) == {"relu", "tanh"} and "largest (0.01)" in d.lr_edges["relu"]
    assert any("edge of the grid" in w for w in d.warnings)
    html = write_report(run, cost=NO_COST, thumbnails=False)["html"].read_text()
    assert "may lie above the grid" in html


def test_overfitting_note(tmp_path, store):
    run = store(tmp_path / "r", {"relu": noisy(0.95, seeds=3), "tanh": noisy(0.9, seeds=3)}, overfit=("tanh",),
                epochs=8)
    d = _decide(run)
    assert list(d.overfitting) == ["tanh"]
    assert "validation loss rises after epoch 5" in d.overfitting["tanh"] and "overfitting" in d.overfitting["tanh"]


def test_report_cli_margin_and_same_data_in_both_outputs(tmp_path, store, capsys):
    run = store(tmp_path / "r", {"relu": noisy(0.95, seeds=4), "gelu": noisy(0.95, seeds=4, seed=7)})
    assert main(["report", str(run), "--margin", "1.5"]) == 0
    html, md = (run / "report.html").read_text(), (run / "report.md").read_text()
    assert "±1.5 points of accuracy" in html and "±1.5 points of accuracy" in md
    d = _decide(run, margin=1.5)
    assert d.headline.split(":")[0] in md and "Best:" not in html
    assert "activation time per epoch (measured)" in html  # the cost table, measured, not the even split
    assert not re.search(r"\{[A-Za-z_]+\}", html + md)  # no unformatted placeholder


def test_margin_is_a_compare_option():
    from actlab.sweep.options import DEFAULTS, IDENTITY_EXCLUDED, reproduce_command

    assert "margin" in DEFAULTS and "margin" in IDENTITY_EXCLUDED
    assert "--margin 0.5" in reproduce_command({**DEFAULTS, "margin": 0.5})


def test_thumbnails_on_a_toy_set(tmp_path, store):
    from actlab.store import Store
    from actlab.sweep.measure import measure_store

    run = store(tmp_path / "r", {"relu": noisy(0.95, seeds=2), "tanh": noisy(0.9, seeds=2)}, dataset="moons")
    with Store(run) as st:  # as the sweep does after training
        measure_store(st, st.sweep()["config"], [("relu", "relu", {}), ("tanh", "tanh", {})])
    paths = write_report(run, cost=NO_COST)
    assert (run / "figures" / "boundaries.png").stat().st_size > 5000
    assert "Decision boundary per activation" in paths["html"].read_text()


def test_summary_json_is_strict(tmp_path, store, capsys):
    run = store(tmp_path / "r", {"relu": noisy(0.95, seeds=3), "bad": [None, None, None]})
    assert main(["report", str(run), "--json"]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out[out.index("{"):], parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert [r["activation"] for r in summary["ranking"]] == ["relu", "bad"]


def test_nothing_testable_is_no_decision(tmp_path, store):
    # the best mean has one finished seed (the other diverged): no paired test against it is possible
    run = store(tmp_path / "r", {"gelu": [0.96, None], "relu": [0.95, 0.951], "tanh": [0.94, 0.941]})
    d = _decide(run)
    assert d.headline.startswith("No activation could be tested against the best mean (gelu")
    assert "the data do not decide" in d.headline and d.recommended.label == "relu"
