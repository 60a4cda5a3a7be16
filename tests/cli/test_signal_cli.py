"""``actlab signal``: the JSON interface, bad input (exit 2), the trainability experiment on a tiny grid."""
from __future__ import annotations

import json

import pytest

from actlab.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_json_has_one_object_per_activation(capsys):
    code, out, _ = run(capsys, "signal", "relu", "tanh", "--weight-variance", "1.5", "--bias-variance", "0.05",
                       "--json")
    assert code == 0
    rows = json.loads(out)
    assert [row["activation"] for row in rows] == ["relu", "tanh"]
    relu, tanh = rows
    assert relu["critical_weight_variance"] is None  # σ_b² > 0: ReLU has no edge of chaos
    assert relu["q_star"] == pytest.approx(0.05 / (1 - 0.75)) and relu["chi1"] == pytest.approx(0.75)
    assert tanh["critical_weight_variance"] == pytest.approx(1.7609546, abs=1e-6)
    assert tanh["phase"] == "ordered" and tanh["xi_c"] == pytest.approx(-1 / __import__("math").log(tanh["chi1"]))
    assert relu["critical_init"] == {"weight_variance": pytest.approx(2.0), "bias_variance": 0.0}


@pytest.mark.parametrize(("argv", "needle"), [
    (["signal", "tahn"], "did you mean tanh"),
    (["signal", "tanh", "--weight-variance", "-1"], "--weight-variance"),
    (["signal", "tanh", "--weight-variance", "0"], "> 0"),
    (["signal", "tanh", "--bias-variance", "nan"], "--bias-variance"),
    (["signal"], "name at least one activation"),
    (["signal", "softmax"], "element-wise"),
    (["signal", "--trainability", "tanh", "relu"], "one activation"),
    (["signal", "--trainability", "tanh", "--depths", "10:5:1"], "--depths"),
    (["signal", "--trainability", "tanh", "--depths", "2.5"], "whole numbers"),
    (["signal", "--trainability", "tanh", "--weight-variances", "1,x"], "'x' is not a number"),
    (["signal", "--trainability", "tanh", "--dataset", "cifar"], "mnist, digits"),
])
def test_bad_input_exits_2_with_the_problem_named(capsys, argv, needle):
    code, _, err = run(capsys, *argv)
    assert code == 2 and needle in err


def test_trainability_on_a_tiny_grid(capsys, tmp_path):
    figure, saved = tmp_path / "t.png", tmp_path / "t.json"
    code, out, _ = run(capsys, "signal", "--trainability", "tanh", "--dataset", "digits", "--depths", "1:2:1",
                       "--weight-variances", "1,3", "--steps", "30", "--examples", "300", "--width", "16",
                       "--batch-size", "32", "--lr", "0.05", "--json", "-o", str(figure), "--save", str(saved))
    assert code == 0
    result = json.loads(out)
    assert result["depths"] == [1, 2] and result["weight_variances"] == [1.0, 3.0]
    assert len(result["accuracy"]) == 2 and all(len(row) == 2 for row in result["accuracy"])
    assert all(0.0 <= a <= 1.0 for row in result["accuracy"] for a in row)
    assert max(max(row) for row in result["accuracy"]) > 0.3  # shallow nets learn digits (chance: 0.1)
    assert figure.stat().st_size > 0 and json.loads(saved.read_text())["depths"] == [1, 2]
    assert [row["weight_variance"] for row in result["boundary"]] == [1.0, 3.0]


def test_the_trainable_edge_is_interpolated_and_judged_against_6_xi_c():
    from actlab.analysis.signal import phi_of
    from actlab.analysis.signal_critical import signal_point
    from actlab.diagnostics.trainability import TrainabilityResult, trainable_depths

    # columns: σ_w² = 1 (edge between 20 and 30), 1.75 (near critical: trains through the grid), 4 (no net trains)
    accuracy = [[0.9, 0.95, 0.1], [0.7, 0.9, 0.1], [0.3, 0.9, 0.1]]
    result = TrainabilityResult("tanh", [10, 20, 30], [1.0, 1.75, 4.0], 0.05, accuracy, [[0.0] * 3] * 3)
    one, near, four = trainable_depths(result)
    assert one["depth"] == pytest.approx(20 + (0.7 - 0.5) / (0.7 - 0.3) * 10) and not one["beyond"]
    xi = abs(signal_point(phi_of("tanh"), 1.0, 0.05, critical=False).xi_c)
    assert one["bound"] == pytest.approx(6 * xi) and one["ratio"] == pytest.approx(25 / (6 * xi))
    assert one["verdict"] == ("within 2x" if 0.5 <= 25 / (6 * xi) <= 2 else "outside 2x")
    assert near["beyond"] and near["depth"] == 30 and near["bound"] > 1000  # ξ_c diverges at the critical point
    assert near["verdict"] == "untested"  # 30 layers say nothing about a bound of thousands
    assert four["depth"] is None and four["verdict"] == "outside 2x"  # 6 ξ_c ≈ 42: depth 10 should have trained
