"""Mean-field signal propagation: closed forms, published values, and an independent quadrature."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize

from actlab.analysis import selfnorm
from actlab.analysis.signal import (
    chi1,
    correlation_map,
    fixed_correlation,
    fixed_length,
    length_fixed_points,
    length_map,
    length_slope,
    second_moments,
)
from actlab.analysis.signal_critical import critical_init, critical_weight_variance, signal_point
from actlab.analysis.signal_random import random_net_fixed_points, random_net_map
from actlab.errors import ActlabError


def _gauss(g, q):
    """E g(√q z) by scipy's quad over z (an independent reference)."""
    density = lambda z: math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)  # noqa: E731
    value, _ = integrate.quad(lambda z: g(math.sqrt(q) * z) * density(z), -40, 40, epsabs=1e-15, epsrel=1e-13,
                              limit=400, points=[0.0])
    return value


def test_relu_critical_weight_variance_is_two_at_zero_bias():
    assert critical_weight_variance("relu", 0.0) == pytest.approx(2.0, abs=1e-12)
    # χ₁ = σ_w²/2 for any q, and σ_b² > 0 makes q grow without bound at σ_w² = 2: no edge of chaos
    assert chi1("relu", 0.37, 2.0) == pytest.approx(1.0, abs=1e-12)
    assert critical_weight_variance("relu", 0.05) is None
    assert signal_point("relu", 2.0, 0.05, critical=False).phase == "unbounded"


def test_tanh_critical_point_is_one_zero_with_q_star_zero():
    assert critical_weight_variance("tanh", 0.0, with_q=True) == (pytest.approx(1.0, abs=1e-12), 0.0)
    assert fixed_length("tanh", 1.0, 0.0) == 0.0  # q decays (polynomially) to 0
    point = signal_point("tanh", 1.0, 0.0)
    assert point.q_star == 0.0 and point.phase == "critical" and point.xi_c == math.inf
    assert point.critical_weight_variance == pytest.approx(1.0)
    assert signal_point("tanh", 0.8, 0.0, critical=False).phase == "ordered"
    assert signal_point("tanh", 1.2, 0.0, critical=False).phase == "chaotic"


def test_tanh_chi1_at_bias_variance_005_matches_independent_quadrature():
    b, w = 0.05, 1.5
    # independent: q* by Brent on quad, then χ₁ = σ_w² E[sech⁴(√q* z)]
    q_ref = optimize.brentq(lambda q: w * _gauss(lambda x: math.tanh(x) ** 2, q) + b - q, 1e-3, 10, xtol=1e-15,
                            rtol=1e-15)
    chi_ref = w * _gauss(lambda x: 1.0 / math.cosh(x) ** 4, q_ref)
    point = signal_point("tanh", w, b, critical=False)
    assert point.q_star == pytest.approx(q_ref, abs=1e-10)
    assert point.chi1 == pytest.approx(chi_ref, abs=1e-8)
    assert point.xi_c == pytest.approx(-1 / math.log(chi_ref), rel=1e-7)
    # the critical σ_w² at σ_b² = 0.05 (Schoenholz et al.: about 1.76), independently: χ₁ = 1 on the fixed point
    def chi_at(weight):
        q = optimize.brentq(lambda q: weight * _gauss(lambda x: math.tanh(x) ** 2, q) + b - q, 1e-3, 10,
                            xtol=1e-14)
        return weight * _gauss(lambda x: 1.0 / math.cosh(x) ** 4, q) - 1.0

    w_ref = optimize.brentq(chi_at, 1.2, 2.5, xtol=1e-12)
    assert critical_weight_variance("tanh", b) == pytest.approx(w_ref, abs=1e-8)
    assert w_ref == pytest.approx(1.76, abs=0.01)


def test_length_slope_is_chi1_plus_phi_phi_second_derivative():
    q, w = 0.7, 1.3
    # Schoenholz et al. eq. 5's argument with tanh'' = -2 tanh sech²
    reference = w * _gauss(lambda x: 1 / math.cosh(x) ** 4 - 2 * math.tanh(x) ** 2 / math.cosh(x) ** 2, q)
    assert length_slope("tanh", q, w) == pytest.approx(reference, abs=1e-10)
    point = signal_point("tanh", w, 0.1, critical=False)
    slope = length_slope("tanh", point.q_star, w)
    assert point.xi_q == pytest.approx(-1 / math.log(slope), rel=1e-9)


def test_correlation_map_relu_matches_the_arc_cosine_kernel():
    q, c, w, b = 1.3, 0.4, 2.0, 0.0
    # Cho & Saul: E[relu(u1) relu(u2)] = q/(2π) (sin θ + (π − θ) cos θ), θ = arccos c
    theta = math.acos(c)
    expected = w * q / (2 * math.pi) * (math.sin(theta) + (math.pi - theta) * c) / length_map("relu", q, w, b)
    assert correlation_map("relu", c, q, w, b) == pytest.approx(expected, abs=1e-10)
    assert correlation_map("tanh", 1.0, 0.5, 1.7, 0.05) == pytest.approx(1.0, abs=1e-12)


def test_chaotic_tanh_has_c_star_below_one_and_zero_without_bias():
    assert fixed_correlation("tanh", fixed_length("tanh", 2.0, 0.0), 2.0, 0.0) == pytest.approx(0.0, abs=1e-9)
    point = signal_point("tanh", 3.0, 0.05, critical=False)
    assert point.phase == "chaotic" and 0.0 < point.c_star < 1.0 and point.chi_c < 1.0
    assert correlation_map("tanh", point.c_star, point.q_star, 3.0, 0.05) == pytest.approx(point.c_star, abs=1e-9)


def test_selu_fixed_point_zero_one_is_unchanged():
    fixed = selfnorm.fixed_point("selu")
    assert (fixed.mean, fixed.variance) == (pytest.approx(0.0, abs=1e-12), pytest.approx(1.0, abs=1e-12))
    points = random_net_fixed_points("selu", 1.0)
    attracting = [p for p in points if p["attracting"]]
    assert len(attracting) == 1
    assert attracting[0]["mean"] == pytest.approx(0.0, abs=1e-12)
    assert attracting[0]["variance"] == pytest.approx(1.0, abs=1e-12)


def test_gelu_random_net_fixed_point_differs_from_the_omega_zero_map():
    points = random_net_fixed_points("gelu", 3.0)
    nonzero = [p for p in points if p["q"] > 0]
    assert len(nonzero) == 1 and not nonzero[0]["attracting"]
    assert (nonzero[0]["mean"], nonzero[0]["variance"]) == (pytest.approx(0.0883, abs=5e-4),
                                                             pytest.approx(0.0746, abs=5e-4))
    omega = selfnorm.fixed_point("gelu", 0.0, 3.0)
    assert omega.mean == pytest.approx(0.196, abs=1e-3)  # the ω = 0 map's point, away from the random net's
    # one step of the random-net map: the incoming mean adds τμ² to the pre-activation variance
    step = random_net_map("gelu", 0.5, 0.2, 3.0, 0.1)
    assert step.q == pytest.approx(3.0 * (0.2 + 0.25) + 0.1)
    assert step.variance == pytest.approx(second_moments_variance("gelu", step.q), abs=1e-12)


def second_moments_variance(name, q):
    from scipy.special import erf

    gelu = lambda x: 0.5 * x * (1 + erf(x / math.sqrt(2)))  # noqa: E731
    mean = _gauss(gelu, q)
    return _gauss(lambda x: gelu(x) ** 2, q) - mean * mean


def test_length_fixed_points_and_critical_init():
    points = length_fixed_points("tanh", 1.5, 0.0)
    assert points[0] == (0.0, pytest.approx(1.5))  # q = 0 repels in the chaotic phase
    assert points[1][0] == pytest.approx(fixed_length("tanh", 1.5, 0.0), rel=1e-10) and points[1][1] < 1
    assert critical_init("tanh") == (pytest.approx(1.0), 0.0)
    assert critical_init("relu") == (pytest.approx(2.0), 0.0)
    weight, bias = critical_init("gelu")  # GELU's small-σ_b² critical points repel: a larger σ_b² is chosen
    assert bias > 0 and critical_weight_variance("gelu", 0.0) is None
    q = critical_weight_variance("gelu", bias, with_q=True)[1]
    assert chi1("gelu", q, weight) == pytest.approx(1.0, abs=1e-9)
    assert fixed_length("gelu", weight, bias, q0=q * 1.01) == pytest.approx(q, rel=1e-8)


def test_second_moments_limits_and_bad_input():
    e2, d2, _ = second_moments(__import__("actlab.analysis.signal", fromlist=["phi_of"]).phi_of("selu"), 0.0)
    assert e2 == 0.0 and d2 == pytest.approx(0.5 * (1.0507009873554805 ** 2) * (1 + 1.6732632423543772 ** 2))
    with pytest.raises(ActlabError, match="weight variance"):
        signal_point("tanh", -1.0, 0.0)
    with pytest.raises(ActlabError, match="gleu"):
        signal_point("gleu", 1.0, 0.0)
    with pytest.raises(ActlabError, match="element-wise"):
        signal_point("softmax", 1.0, 0.0)
    assert np.isfinite(length_map("silu", 2.0, 1.0))
