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
