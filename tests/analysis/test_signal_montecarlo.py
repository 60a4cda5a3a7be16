"""The mean-field maps against random nets: NumPy float64, width 1000, seeded, the first 10 layers.

Each case propagates a batch of inputs (every unit N(0, 1): q⁰ = 1, (μ⁰, ν⁰) = (0, 1)) through
independent random nets with weights N(0, σ_w²/N) and biases N(0, σ_b²), and compares, layer by
layer, the pre-activations' second moment with the length map's q^l and the activations' mean and
variance with the random-net map.  The tolerance is the sampling error measured across the nets
(5 standard errors over 8 nets) plus 2 % for the finite width's O(1/N) bias.  The activations are written here
in NumPy (not taken from the specs).
"""
from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
from scipy.special import erf

from actlab.analysis import selfnorm
from actlab.analysis.signal import correlation_map, length_trajectory
from actlab.analysis.signal_random import random_net_trajectory

WIDTH, BATCH, NETS, LAYERS = 1000, 8, 8, 10
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805
PHI = {
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "gelu": lambda x: 0.5 * x * (1.0 + erf(x / math.sqrt(2.0))),
    "silu": lambda x: x / (1.0 + np.exp(-x)),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
}
# (σ_w², σ_b²) per activation: an ordered, a near-critical and a chaotic/large init; GELU at τ = 3 (the case
# where the ω = 0 map is wrong: random nets grow)
CASES = [
    ("tanh", 1.0, 0.0), ("tanh", 1.76, 0.05), ("tanh", 3.0, 0.1),
    ("relu", 1.5, 0.0), ("relu", 2.0, 0.0), ("relu", 2.0, 0.1),
    ("gelu", 2.0, 0.0), ("gelu", 3.0, 0.0), ("gelu", 1.97, 0.2),
    ("silu", 1.0, 0.0), ("silu", 2.5, 0.05), ("silu", 4.0, 0.0),
    ("selu", 1.0, 0.0), ("selu", 0.5, 0.0), ("selu", 1.5, 0.1),
]


def _simulate(name: str, weight_variance: float, bias_variance: float, seed: int):
    """Per net and layer: (mean pre-activation², activation mean, activation variance)."""
    rng = np.random.default_rng(seed)
    phi = PHI[name]
    out = np.empty((NETS, LAYERS, 3))
    for net in range(NETS):
        x = rng.standard_normal((BATCH, WIDTH))
        for layer in range(LAYERS):
            weights = rng.standard_normal((WIDTH, WIDTH)) * math.sqrt(weight_variance / WIDTH)
            bias = rng.standard_normal(WIDTH) * math.sqrt(bias_variance)
            h = x @ weights + bias
            x = phi(h)
            out[net, layer] = (np.mean(h * h), x.mean(), x.var())
    return out


def _check(measured: np.ndarray, predicted: np.ndarray, label: str) -> None:
    mean = measured.mean(axis=0)
    error = measured.std(axis=0, ddof=1) / math.sqrt(len(measured))
    tolerance = 5 * error + 0.02 * np.abs(predicted) + 1e-4
    bad = np.abs(mean - predicted) > tolerance
    assert not bad.any(), (f"{label}: layers {np.flatnonzero(bad) + 1}: measured {mean[bad]} ± {error[bad]}, "
                           f"map {predicted[bad]}")


@pytest.mark.slow
@pytest.mark.parametrize(("name", "weight_variance", "bias_variance"), CASES,
                         ids=[f"{n}-w{w:g}-b{b:g}" for n, w, b in CASES])
def test_maps_agree_with_random_nets(name: str, weight_variance: float, bias_variance: float) -> None:
    measured = _simulate(name, weight_variance, bias_variance, seed=zlib.crc32(f"{name} {weight_variance}".encode()))
    first = weight_variance * 1.0 + bias_variance  # q¹ from the inputs' second moment 1
    q = np.array([first, *length_trajectory(name, first, weight_variance, bias_variance, LAYERS - 1)])
    _check(measured[:, :, 0], q, f"{name} q^l")
    points = random_net_trajectory(name, 0.0, 1.0, weight_variance, bias_variance, LAYERS)
    _check(measured[:, :, 1], np.array([p.mean for p in points]), f"{name} mean")
    _check(measured[:, :, 2], np.array([p.variance for p in points]), f"{name} variance")


def test_gelu_tau_3_random_nets_follow_the_random_net_map_not_the_omega_zero_map() -> None:
    measured = _simulate("gelu", 3.0, 0.0, seed=3)[:, :, 2]
    points = random_net_trajectory("gelu", 0.0, 1.0, 3.0, 0.0, LAYERS)
    _check(measured, np.array([p.variance for p in points]), "gelu variance")
    mean, variance = 0.0, 1.0
    for _ in range(LAYERS):  # the ω = 0 map of the SELU paper from the same start
        mean, variance = selfnorm.layer_map("gelu", mean, variance, 0.0, 3.0)
    assert measured[:, -1].mean() > 10 * variance  # random nets grow; the ω = 0 map settles near 0.21


@pytest.mark.slow
@pytest.mark.parametrize(("name", "weight_variance", "bias_variance"),
                         [("tanh", 1.5, 0.05), ("relu", 2.0, 0.0), ("gelu", 2.0, 0.1), ("silu", 2.5, 0.05),
                          ("selu", 1.0, 0.0)])
def test_correlation_map_agrees_with_random_nets(name: str, weight_variance: float, bias_variance: float) -> None:
    rng = np.random.default_rng(11)
    phi, c0, layers, nets = PHI[name], 0.3, 6, 16
    measured = np.empty((nets, layers))
    for net in range(nets):
        a = rng.standard_normal(WIDTH)
        e = rng.standard_normal(WIDTH)
        e -= a * (e @ a) / (a @ a)  # orthogonal to a, so the pair's correlation is exactly c0
        a, e = a / np.sqrt(np.mean(a * a)), e / np.sqrt(np.mean(e * e))
        x = np.stack([a, c0 * a + math.sqrt(1 - c0 * c0) * e])
        for layer in range(layers):
            h = x @ (rng.standard_normal((WIDTH, WIDTH)) * math.sqrt(weight_variance / WIDTH))
            h += rng.standard_normal(WIDTH) * math.sqrt(bias_variance)
            measured[net, layer] = np.mean(h[0] * h[1]) / math.sqrt(np.mean(h[0] ** 2) * np.mean(h[1] ** 2))
            x = phi(h)
    q = weight_variance + bias_variance  # the first layer: the inputs' lengths 1 and correlation c0
    c = (weight_variance * c0 + bias_variance) / q
    predicted = [c]
    for _ in range(layers - 1):
        c = correlation_map(name, c, q, weight_variance, bias_variance)
        q = length_trajectory(name, q, weight_variance, bias_variance, 1)[0]
        predicted.append(c)
    _check(measured, np.array(predicted), f"{name} c^l")
