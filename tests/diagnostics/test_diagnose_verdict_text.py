"""diagnose: a verdict names the measurement it rests on and says when training reversed it; the dead/saturated
figure labels percent as percent and shows saturation per layer."""
from __future__ import annotations

from actlab.analysis.layer_measures import VANISHING_RATIO, verdict
from actlab.diagnostics.figures import DEAD_AXIS, dead_saturated_plot


def _layer(speed, dead=0.0, saturated=0.0):
    return {"speed": speed, "weight_grad_norm": 1.0, "dead_fraction": dead, "saturated_fraction": saturated,
            "units": 30, "mean": 0.0}


def _run(init_speeds, final_speeds):
    return {"init": [_layer(s) for s in init_speeds], "final": [_layer(s) for s in final_speeds], "losses": [1.0]}


def test_a_vanishing_verdict_from_initialisation_that_training_reversed_says_so():
    runs = [_run([0.01, 0.02, 0.05, 0.2], [0.038, 0.03, 0.03, 0.027]) for _ in range(2)]
    result = verdict(runs)
    assert result["verdict"] == "vanishing" and result["numbers"]["vanishing_rests_on"] == "init"
    text = " ".join(result["reasons"])
    assert "at initialisation" in text and "training reversed it" in text
    assert "hidden layer 1 0.038 > hidden layer 4 0.027" in text


def test_a_vanishing_verdict_at_both_points_names_both():
    result = verdict([_run([0.01, 0.2], [0.01, 0.3])])
    assert result["numbers"]["vanishing_rests_on"] == "both"
    assert sum("slower than the last" in r for r in result["reasons"]) == 2
    assert not any("reversed" in r for r in result["reasons"])
    assert f"below {VANISHING_RATIO:g}" in result["reasons"][0]


def test_dead_and_saturated_axes_are_percent_and_saturation_is_per_layer():
    def point(step, saturated):
        return {"step": step, "epoch": step, "layers": [
            {"dead_fraction": 0.004, "saturated_fraction": value, "units": 30} for value in saturated]}

    runs = [{"points": [point(0, [0.41, 0.05, 0.02, 0.01]), point(1, [0.40, 0.04, 0.02, 0.01])]}]
    fig = dead_saturated_plot({"activations": {"sigmoid": {"runs": runs, "layers": [1, 2, 3, 4]}}})
    dead, saturated = fig.axes[:2]
    assert dead.get_ylabel() == DEAD_AXIS and "%" in dead.yaxis.get_major_formatter()(0.5, 0)
    assert abs(dead.lines[0].get_ydata()[0] - 0.4) < 1e-12  # 0.004 of the units = 0.4 %
    first = [line for line in saturated.lines if line.get_label() == "sigmoid, hidden layer 1"]
    assert len(saturated.lines) == 4 and abs(first[0].get_ydata()[0] - 41.0) < 1e-9  # not the pooled 12 %
