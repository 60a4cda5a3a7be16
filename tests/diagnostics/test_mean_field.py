"""diagnose's mean-field line: a real net's pre-activation second moment at init against the length map."""
from __future__ import annotations

import pytest
import torch

from actlab.analysis.signal import predicted_lengths
from actlab.diagnostics.mean_field import compare_at_init, summary_lines
from actlab.diagnostics.presets import Setup


def test_predicted_lengths_follow_relus_closed_form():
    # ReLU: E relu(√q z)² = q/2, so q^l = σ_w² q^{l-1}/2 + σ_b², averaged over the inputs' q¹
    first = [0.5, 1.5]
    weights, biases = [2.0, 3.0, 1.0], [0.0, 0.1, 0.2]
    expected, lengths = [1.0], list(first)
    for w, b in zip(weights[1:], biases[1:]):
        lengths = [w * q / 2 + b for q in lengths]
        expected.append(sum(lengths) / 2)
    assert predicted_lengths("relu", first, weights, biases) == pytest.approx(expected, rel=1e-12)


def test_a_wide_net_matches_the_prediction(tmp_path):
    x = torch.randn(256, 1000, generator=torch.Generator().manual_seed(123))  # not seed 0: the nets' weights use it
    setup = Setup(activations=("tanh", "relu"), depth=4, width=1000, init="critical")
    result = compare_at_init(setup, x, 10, tmp_path)
    for name in ("tanh", "relu"):
        assert len(result[name]["ratio"]) == 4
        assert all(0.85 < r < 1.15 for r in result[name]["ratio"]), (name, result[name]["ratio"])
    assert (tmp_path / "mean_field.png").stat().st_size > 0
    assert any("tanh" in line and "measured / mean-field" in line for line in summary_lines(result))
