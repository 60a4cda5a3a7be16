"""Clipping caps the update exactly; the exploding chain grows by w·f'(0) per layer."""
from __future__ import annotations

import pytest
import torch

import actlab
from actlab.diagnostics.exploding import clip_gradients, run_exploding
from actlab.diagnostics.presets import Setup
from actlab.diagnostics.run import DiagnoseData, loss_function, train_run
from actlab.models import ModelConfig, build


def one_step(clip_value=None, clip_norm=None, lr=0.1):
    spec = actlab.get("sigmoid")
    # float64: the update is read off exactly; nielsen init: N(0, 1) biases
    model = build(ModelConfig(depth=2, width=5, init="nielsen"), spec, (6,), 3, seed=0).double()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(40)  # large weights: large gradients
    x = torch.randn(16, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 5
    y = torch.arange(16) % 3
    parameters = list(model.parameters())
    before = [p.detach().clone() for p in parameters]
    loss_function("softmax", y, 3)(model(x)).backward()
    raw = [p.grad.clone() for p in parameters]
    changed = clip_gradients(parameters, clip_value, clip_norm)
    torch.optim.SGD(parameters, lr=lr).step()
    update = torch.cat([(p.detach() - b).reshape(-1) for p, b in zip(parameters, before)])
    return update, torch.cat([g.reshape(-1) for g in raw]), changed


def test_clip_by_value_caps_every_update_element_at_lr_times_v():
    update, raw, changed = one_step(clip_value=1e-3, lr=0.1)
    assert changed
    big = raw.abs() > 1e-3
    assert big.any() and (~big).any()
    assert torch.allclose(update[big].abs(), torch.full_like(update[big], 1e-4), rtol=1e-9, atol=0)
    assert torch.allclose(update[~big], -0.1 * raw[~big], rtol=1e-5, atol=1e-12)


def test_clip_by_norm_caps_the_update_norm_at_lr_times_v():
    update, raw, changed = one_step(clip_norm=1e-2, lr=0.1)
    assert changed and float(raw.norm()) > 1e-2
    # torch.nn.utils.clip_grad_norm_ scales by v / (‖g‖ + 1e-6): the update norm is lr·v up to that epsilon
    norm = float(raw.norm())
    assert float(update.norm()) == pytest.approx(0.1 * 1e-2 * norm / (norm + 1e-6), rel=1e-9)
    assert float(update.norm()) <= 0.1 * 1e-2
    # the direction is kept
    assert float(torch.nn.functional.cosine_similarity(update, -raw, dim=0)) == pytest.approx(1.0, abs=1e-6)
    unclipped, raw2, changed2 = one_step(clip_norm=1e9, lr=0.1)
    assert not changed2 and torch.allclose(unclipped, -0.1 * raw2, rtol=1e-5, atol=1e-12)


def test_training_loop_counts_clipped_steps():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 5, generator=g)
    y = torch.randint(0, 3, (40,), generator=g)
    data = DiagnoseData(x, y, x[:20], y[:20], 3, "synthetic")
    tiny = Setup(activations=("tanh",), depth=2, width=4, epochs=2, batch_size=10, lr=0.1, clip_value=1e-6)
    outcome = train_run(tiny, "tanh", 0, data)
    assert outcome.steps == 8 and outcome.clipped_steps == 8
    loose = Setup(activations=("tanh",), depth=2, width=4, epochs=2, batch_size=10, lr=0.1, clip_norm=1e6)
    assert train_run(loose, "tanh", 0, data).clipped_steps == 0


@pytest.mark.parametrize("activation,weight,expected", [("sigmoid", 100.0, 25.0), ("tanh", 100.0, 100.0),
                                                        ("sigmoid", 10.0, 2.5)])
def test_exploding_growth_factor_is_w_times_derivative_at_zero(activation, weight, expected):
    result = run_exploding(6, activation, weight=weight)
    assert result["expected_growth"] == pytest.approx(expected)
    assert result["growth_factor"] == pytest.approx([expected] * 5, rel=1e-9)
    assert abs(result["bias_gradients"][0]) > abs(result["bias_gradients"][-1])


def test_exploding_clipping_brings_the_update_back_to_size():
    result = run_exploding(5, "sigmoid", lr=0.1, clip_value=0.5, clip_norm=2.0)
    updates = result["updates"]
    assert updates["none"]["max_abs"] == pytest.approx(0.1 * abs(result["bias_gradients"][0]))
    assert updates["none"]["max_abs"] > 1000
    assert updates["value"]["max_abs"] == pytest.approx(0.1 * 0.5, rel=1e-12)
    assert updates["norm"]["norm"] == pytest.approx(0.1 * 2.0, rel=1e-9)  # ‖g‖ ≈ 7e4: the 1e-6 is invisible


def test_a_diverging_run_is_recorded_and_judged_exploding(tmp_path):
    from actlab.diagnostics.run import run_setup

    g = torch.Generator().manual_seed(1)
    x = torch.randn(60, 5, generator=g) * 10
    y = torch.randint(0, 3, (60,), generator=g)
    data = DiagnoseData(x, y, x[:30], y[:30], 3, "synthetic")
    setup = Setup(activations=("relu",), depth=2, width=8, epochs=3, batch_size=10, lr=1e8, seeds=1, init="nielsen")
    summary = run_setup(setup, tmp_path / "d", data=data)
    result = summary["activations"]["relu"]
    assert result["runs"][0]["status"] == "diverged" and "became" in result["runs"][0]["reason"]
    assert result["verdict"] == "exploding" and result["numbers"]["non_finite"]
