"""The mean/variance map, its Jacobian and fixed points: against Monte Carlo, a second integrator, finite differences."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate

import actlab
from actlab.analysis import selfnorm as sn
from actlab.catalog.rectifiers import SELU_ALPHA, SELU_SCALE

CASES = [  # (activation, params, mean, variance, omega, tau)
    ("selu", {}, 0.3, 1.4, 0.5, 1.2),
    ("tanh", {}, -0.2, 0.8, 1.0, 1.0),
    ("relu", {}, 0.1, 2.0, -0.3, 0.7),
    ("hard_sigmoid", {}, 0.0, 9.0, 0.0, 1.0),  # kinks at ±3 inside the bulk
    ("where(x > 0.5, x, a*(exp(x - 0.5) - 1))", {"a": 1.3}, 0.2, 1.0, 1.0, 1.0),  # a kink off the mean
]


def _torch_f(activation, params):
    spec = actlab.get(activation, **params)
    values = spec.resolve()

    def f(x):  # chunks below the formula engine's compile threshold (65 536): eager, no compile time
        return torch.cat([spec.forward(part, **values) for part in x.split(50_000)])
    return f


@pytest.mark.parametrize("activation,params,mean,variance,omega,tau", CASES, ids=[c[0][:12] for c in CASES])
def test_map_agrees_with_monte_carlo(activation, params, mean, variance, omega, tau):
    mu, nu = sn.layer_map(activation, mean, variance, omega, tau, params)
    n = 1_000_000
    generator = torch.Generator().manual_seed(7)
    z = mean * omega + math.sqrt(variance * tau) * torch.randn(n, generator=generator, dtype=torch.float64)
    y = _torch_f(activation, params)(z)
    mc_mean, mc_var = float(y.mean()), float(y.var())
    se_mean = float(y.std()) / math.sqrt(n)
    se_var = float(((y - y.mean()) ** 2).std()) / math.sqrt(n)
    assert abs(mu - mc_mean) < 5 * se_mean
    assert abs(nu - mc_var) < 5 * se_var


@pytest.mark.parametrize("activation,params,mean,variance,omega,tau", CASES, ids=[c[0][:12] for c in CASES])
def test_map_agrees_with_quadpack(activation, params, mean, variance, omega, tau):
    """A second integration method: SciPy's QUADPACK (qagi/qags) with the kinks as break points."""
    mu, nu = sn.layer_map(activation, mean, variance, omega, tau, params)
    spec = actlab.get(activation, **params)
    f = _torch_f(activation, params)
    m, s = mean * omega, math.sqrt(variance * tau)

    def moment(power):
        def integrand(t):
            x = torch.tensor([m + s * t], dtype=torch.float64)
            return float(f(x)[0]) ** power * math.exp(-t * t / 2) / math.sqrt(2 * math.pi)
        cuts = sorted({-12.0, 12.0, *[(k - m) / s for k in spec.kink_points() if abs((k - m) / s) < 12]})
        total = sum(integrate.quad(integrand, a, b, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
                    for a, b in zip(cuts, cuts[1:]))
        return total
    e1, e2 = moment(1), moment(2)
    assert mu == pytest.approx(e1, abs=1e-10)
    assert nu == pytest.approx(e2 - e1 * e1, abs=1e-10)


def test_selu_closed_form():
    """E selu(Z) and E selu(Z)² in closed form (Klambauer et al. eq. 4-5 at μω = 0, ντ = 1)."""
    lam, alpha = SELU_SCALE, SELU_ALPHA
    cdf = lambda t: 0.5 * math.erfc(-t / math.sqrt(2))  # noqa: E731
    e1 = lam * (1 / math.sqrt(2 * math.pi) + alpha * (math.exp(0.5) * cdf(-1) - 0.5))
    e2 = lam ** 2 * (0.5 + alpha ** 2 * (math.exp(2) * cdf(-2) - 2 * math.exp(0.5) * cdf(-1) + 0.5))
    mu, nu = sn.layer_map("selu")
    assert mu == pytest.approx(e1, abs=1e-14)
    assert nu == pytest.approx(e2 - e1 * e1, abs=1e-14)


@pytest.mark.parametrize("activation,params,mean,variance,omega,tau", CASES[:3], ids=[c[0] for c in CASES[:3]])
def test_jacobian_matches_finite_differences(activation, params, mean, variance, omega, tau):
    value = sn.map_with_jacobian(activation if not params else actlab.get(activation, **params),
                                 mean, variance, omega, tau)
    h = 1e-5
    for column, (dm, dv) in enumerate(((h, 0.0), (0.0, h))):
        plus = sn.layer_map(activation, mean + dm, variance + dv, omega, tau, params)
        minus = sn.layer_map(activation, mean - dm, variance - dv, omega, tau, params)
        for row in range(2):
            numeric = (plus[row] - minus[row]) / (2 * h)
            assert value.jacobian[row][column] == pytest.approx(numeric, abs=1e-7)


def test_selu_has_the_attracting_fixed_point_0_1_with_its_catalog_constants():
    fp = sn.fixed_point("selu")
    assert fp.found and fp.verdict == "attracting"
    assert abs(fp.mean) < 1e-12 and abs(fp.variance - 1) < 1e-12
    assert abs(fp.residuals["mean"]) < 1e-12 and abs(fp.residuals["variance"]) < 1e-12
    # Klambauer et al. 2017 (sec. 3): the Jacobian at (0, 1), ω = 0, τ = 1, has largest singular value 0.7877
    assert fp.max_singular_value == pytest.approx(0.7877, abs=5e-5)
    assert fp.jacobian[0][0] == 0.0 and fp.jacobian[1][0] == 0.0


def test_fixed_point_away_from_0_1_and_none_for_contracting_activations():
    fp = sn.fixed_point("selu", tau=2.0)  # He-like weights: SELU settles at a much larger variance
    assert fp.found and fp.variance > 10
    mu, nu = sn.layer_map("selu", fp.mean, fp.variance, 0.0, 2.0)
    assert abs(mu - fp.mean) < 1e-12 and abs(nu - fp.variance) < 1e-12
    for name in ("relu", "tanh"):  # variance collapses to 0: nothing with ν > 0 to report
        fp = sn.fixed_point(name)
        assert not fp.found and fp.verdict == "no fixed point" and fp.mean is None
        assert "variance" in fp.note


def test_basin_of_selu_covers_the_grid_and_leaves_out_nothing_it_claims():
    region = sn.basin("selu", (0.0, 1.0), points=5, max_iterations=80)
    assert region.converged.all()
    assert region.iterations.max() > 0
    # a contracting activation has no basin for (0, 1): it is not a fixed point
    region = sn.basin("tanh", (0.0, 1.0), points=4, max_iterations=30)
    assert not region.converged[np.abs(region.variances - 1.0) > 0.1].any()


def test_bad_input_is_an_actlab_error():
    with pytest.raises(actlab.ActlabError, match="element-wise"):
        sn.layer_map("softmax")
    with pytest.raises(actlab.ActlabError, match="tau"):
        sn.layer_map("selu", tau=0.0)
    with pytest.raises(actlab.ActlabError, match="variance"):
        sn.layer_map("selu", variance=-1.0)
    with pytest.raises(actlab.ActlabError, match="defined only"):
        sn.layer_map("log(x)")
