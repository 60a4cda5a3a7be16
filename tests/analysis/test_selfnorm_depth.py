"""The depth experiment: SELU keeps its variance near 1 layer after layer; ReLU's and tanh's fall; SELU with He grows.

Tolerance measured (depth 32, width 128, lecun init, gaussian inputs, 256 samples, at initialisation):
max over layers of |variance − 1| for SELU was 0.255, 0.273, 0.277, 0.279, 0.234 for seeds 0-4, and
max |mean| 0.049-0.082; the test allows 0.4 and 0.15.  (Depth 64 × width 256: 0.15-0.32 and ≤ 0.06.)
"""
from __future__ import annotations

import json

import pytest

from actlab.cli import main
from actlab.diagnostics.depth import depth_experiment

SELU_VARIANCE_TOLERANCE = 0.4
SELU_MEAN_TOLERANCE = 0.15


@pytest.fixture(scope="module")
def result():
    return depth_experiment(["selu", "relu", "tanh"], depth=32, width=128, init="lecun", steps=2, seed=0)


@pytest.mark.slow
def test_selu_keeps_mean_0_and_variance_1(result):
    curve = result.curve("selu")
    assert len(curve.variance) == 32
    assert max(abs(v - 1) for v in curve.variance) < SELU_VARIANCE_TOLERANCE
    assert max(abs(m) for m in curve.mean) < SELU_MEAN_TOLERANCE


@pytest.mark.slow
def test_relu_and_tanh_variances_fall(result):
    relu, tanh = result.curve("relu").variance, result.curve("tanh").variance
    assert relu[-1] < 1e-6 * relu[0]  # halved per layer under lecun weights
    assert tanh[-1] < 0.2 * tanh[0]
    assert all(b < a for a, b in zip(tanh[::4], tanh[4::4]))  # steadily


@pytest.mark.slow
def test_selu_with_he_init_leaves_the_fixed_point(result):
    wrong = result.curve("selu, he init")
    assert wrong.init == "he"
    assert wrong.variance[-1] > 10 and wrong.variance[-1] > wrong.variance[0]


@pytest.mark.slow
def test_trained_curves_recorded(result):
    assert {c.phase for c in result.curves} == {"init", "trained"}
    assert set(result.final_loss) == {"selu", "selu, he init", "relu", "tanh"}


@pytest.mark.slow
def test_cli_depth_experiment_json_and_figure(tmp_path, capsys):
    figure = tmp_path / "depth.png"
    code = main(["selfnorm", "--depth-experiment", "--acts", "selu,tanh", "--depth", "8", "--width", "32",
                 "--steps", "1", "--dropout", "0.1", "--json", "-o", str(figure)])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data["depth"] == 8 and figure.stat().st_size > 10_000
    kinds = {(c["label"], c["phase"]): c["dropout"] for c in data["curves"]}
    assert kinds[("selu", "init")] == "alpha" and kinds[("tanh", "init")] == "plain"
    code = main(["selfnorm", "--depth-experiment", "--acts", "selu", "--dataset", "cifar"])
    _, err = capsys.readouterr()
    assert code == 2 and "unknown dataset" in err


def test_depth_experiment_takes_the_core_init_schemes(capsys):
    # standard: U[-1/√n, 1/√n], variance 1/(3n) per weight — a third of lecun's: tanh's variance shrinks fast
    standard = depth_experiment(["tanh"], depth=6, width=64, init="standard", steps=1, seed=0)
    lecun = depth_experiment(["tanh"], depth=6, width=64, init="lecun_uniform", steps=1, seed=0)
    small, kept = standard.curve("tanh").variance, lecun.curve("tanh").variance
    assert standard.curve("tanh").init == "standard" and all(s < k for s, k in zip(small[1:], kept[1:]))
    assert small[-1] < 0.05 * small[0]
    assert set(standard.final_loss) == {"tanh"} and standard.final_loss["tanh"] > 0
    code = main(["selfnorm", "--depth-experiment", "--acts", "tanh", "--init", "standrad", "--depth", "2"])
    _, err = capsys.readouterr()
    assert code == 2 and "did you mean standard" in err and "Traceback" not in err


def test_depth_experiment_trains_through_the_driver(monkeypatch):
    import actlab.train.driver as driver

    calls = []
    real = driver.drive

    def spy(engine, config, **kwargs):
        calls.append((config.steps, config.optimizer, config.depth, len(kwargs.get("probes", ()))))
        return real(engine, config, **kwargs)

    monkeypatch.setattr(driver, "drive", spy)
    result = depth_experiment(["relu"], depth=3, width=8, steps=4, seed=1)
    assert calls == [(4, "adam", 3, 1)]
    init, trained = result.curve("relu", "init"), result.curve("relu", "trained")
    assert init.variance != trained.variance  # 4 Adam steps moved the weights
