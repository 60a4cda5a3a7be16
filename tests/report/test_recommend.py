"""actlab recommend: from the property table and the literature, and from measured results."""
from __future__ import annotations

import json

import pytest

from actlab.cli import main
from actlab.report.recommend import RULES, recommend
from conftest import noisy


def test_every_rule_cites_what_the_catalog_cites():
    import actlab

    for rule in RULES:
        if rule.reference is None:  # the activation's own paper
            continue
        record, needle = rule.reference
        assert any(needle in ref for ref in actlab.get(record).references), rule.key


def test_each_smooth_activation_is_justified_by_its_own_paper():
    result = recommend(depth=8)
    cited = {r["activation"]: " ".join(e.get("reference", "") for e in r["evidence"])
             for r in result["recommendations"]}
    assert "Hendrycks & Gimpel" in cited["gelu"] and "Ramachandran" not in cited["gelu"]
    assert "Misra" in cited["mish"] and "Ramachandran" not in cited["mish"]
    assert "Elfwing" in cited["silu"] and "Ramachandran" in cited["silu"]


def test_without_measurements_a_shallow_net_ties_the_modern_defaults_and_relu_leads_as_the_demo_decided():
    result = recommend(depth=2)
    ranked = [r["activation"] for r in result["recommendations"]]
    assert ranked[0] == "relu" and "relu" not in result["not_recommended"]  # simplest and piecewise linear
    assert all(r["tied"] for r in result["recommendations"]) and "demo" in result["method"]
    assert all(item["reasons"] for item in result["ranked_lower"])  # ranked lower always says why
    deep = recommend(depth=8)
    lower = {item["activation"]: item["reasons"] for item in deep["ranked_lower"]}
    assert "relu" in lower and any("dead region" in reason for reason in lower["relu"])


def test_try_next_reproduces_the_source_sweep_with_the_power_estimates_seeds(tmp_path, store):
    import shlex
    import sqlite3

    from actlab.report.decision import decide
    from actlab.report.summary import summarize

    run = store(tmp_path / "src", {"relu": noisy(0.95, seeds=3, seed=1), "gelu": noisy(0.951, seeds=3, seed=2)},
                dataset="digits")
    reproduce = f"actlab compare --dataset digits --depth 2 --acts relu,gelu --seeds 3 --lr 0.01 --out {run}"
    with sqlite3.connect(run / "results.sqlite") as conn:
        conn.execute("UPDATE sweep SET reproduce = ?", (reproduce,))
    result = recommend(run_dirs=[run])
    words = shlex.split(result["try_next"])
    flags = dict(zip(words[2::2], words[3::2]))
    assert words[:2] == ["actlab", "compare"] and flags["--dataset"] == "digits" and flags["--lr"] == "0.01"
    decision = decide(summarize(run))
    needed = [e.seeds_needed for e in decision.effects.values() if e.seeds_needed is not None]
    assert int(flags["--seeds"]) == max(3, *needed) and flags["--out"] == f"{run}-next"
    assert set(flags["--acts"].split(",")) == {"relu", "gelu"} and result["try_next"] in result["next"]


def test_sigmoid_clearly_worse_in_a_deep_net_ranks_last_and_cites_its_derivative_bound(tmp_path, store):
    run = store(tmp_path / "deep", {"relu": noisy(0.95, seed=1), "gelu": noisy(0.951, seed=2),
                                    "tanh": noisy(0.93, seed=3), "sigmoid": noisy(0.60, seed=4)}, depth=8)
    result = recommend(depth=8, run_dirs=[run])
    ranked = [r["activation"] for r in result["recommendations"]]
    assert ranked[-1] == "sigmoid" and set(ranked) == {"relu", "gelu", "tanh", "sigmoid"}
    sigmoid = result["recommendations"][-1]
    assert any("f' ≤ 0.25" in reason for reason in sigmoid["reasons"])
    bound = [e for e in sigmoid["evidence"] if e.get("rule") == "vanishing_gradient"]
    assert bound and bound[0]["values"]["derivative_max"] == pytest.approx(0.25)
    assert "Glorot" in bound[0]["reference"]
    measured = [e for e in sigmoid["evidence"] if e["kind"] == "measurement"]
    assert measured and measured[0]["difference"] > 0.3 and measured[0]["ci95"][0] > 0
    assert any("significantly worse" in reason for reason in sigmoid["reasons"])
    assert str(run) in result["inputs"]["measurements"]


def test_without_a_run_directory_answers_from_properties_and_says_so(capsys):
    assert main(["recommend", "--depth", "8", "--json"]) == 0
    result = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert {"recommendations", "inputs"} <= set(result)
    assert result["inputs"]["measurements"].startswith("none")
    assert 3 <= len(result["recommendations"]) <= 9
    for rec in result["recommendations"]:
        assert set(rec) == {"activation", "score", "reasons", "evidence", "tied", "critical_init"}
        if rec["activation"] == "relu":  # the edge of chaos of --init critical: He init
            assert rec["critical_init"] == {"weight_variance": pytest.approx(2.0), "bias_variance": 0.0}
        assert rec["reasons"]
        assert all(e["kind"] == "property" and e["reference"] for e in rec["evidence"])
    assert "sigmoid" not in [r["activation"] for r in result["recommendations"]]
    assert "actlab compare" in result["next"]
    assert main(["recommend"]) == 0
    text = capsys.readouterr().out
    assert "Measurements: none" in text and "Try next" in text


def test_normalization_and_budget_change_the_advice():
    plain = recommend(depth=8, candidates=["selu", "relu"])
    normed = recommend(depth=8, normalization="batch", candidates=["selu", "relu"])
    assert plain["recommendations"][0]["activation"] == "selu"
    selu = next(r for r in normed["recommendations"] if r["activation"] == "selu")
    assert any("lecun_normal" in reason and "AlphaDropout" in reason for reason in selu["reasons"])
    fast = recommend(budget="fast", candidates=["relu", "mish"])
    mish = next(r for r in fast["recommendations"] if r["activation"] == "mish")
    assert any(e["kind"] == "cost" for e in mish["evidence"]) or mish is fast["recommendations"][-1]


def test_bad_inputs_are_one_line_errors(capsys):
    assert main(["recommend", "--task", "ranking"]) == 2
    assert main(["recommend", "--from", "/nonexistent"]) == 2
