"""The transformer-era, Keras-parity and rational records against independent float64 references.

Values and derivatives at 200+ points (kinks and both sides of them included) against 30-digit mpmath
(``references_modern``); learnable-parameter derivatives against mpmath differentiation in the parameter and
``gradcheck``; sparsemax against an independent NumPy projection; the published constants; the siren init;
the learned-shape plot; the CLI.
"""
from __future__ import annotations

import json
import math

import mpmath as mp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from references_modern import MODERN_REFERENCES

import actlab
from actlab.cli import main
from actlab.nn import apply, create

ELEMENTWISE = sorted(MODERN_REFERENCES)
VECTOR = ["sparsemax", "softmin"]
NEW = [*ELEMENTWISE, *VECTOR]
# non-default parameters: the plumbing of every parameter is exercised, not only the defaults
OTHER_PARAMS = {
    "star_relu": {"s": 1.3, "b": 0.25},
    "xielu": {"alpha_p": -0.4, "alpha_n": 1.1, "beta": 0.3, "eps": -1e-3},
    "poly_relu": {"a0": 0.1, "a1": -0.5, "a2": 0.2, "a3": 0.05},
    "snake": {"alpha": 5.0},
    "siren": {"omega_0": 2.0},
    "squareplus": {"b": 0.5},
    "threshold": {"threshold": 0.1, "value": 20.0},
    "pau": {"a0": 0.2, "a1": 0.7, "a2": -0.3, "a3": 0.05, "a4": 0.4, "a5": -0.1, "b1": -0.6, "b2": 0.3, "b3": 1.5, "b4": 0.2},
}


def _cases():
    for name in ELEMENTWISE:
        yield pytest.param(name, {}, id=f"{name}-defaults")
        if name in OTHER_PARAMS:
            yield pytest.param(name, OTHER_PARAMS[name], id=f"{name}-other")


def _points(spec) -> list[float]:
    kinks = list(spec.kink_points())
    xs = set(np.linspace(-6.0, 6.0, 201).tolist()) | {-1e3, -50.0, 50.0, 1e3, 0.0, 1e-3, -1e-3}
    for k in kinks:
        xs |= {k, k - 1e-9, k + 1e-9, k - 1e-4, k + 1e-4}
    return sorted(xs)


def _close(actual: float, expected, rtol: float, atol: float) -> bool:
    return abs(actual - float(expected)) <= atol + rtol * abs(float(expected))


def _mp_params(params):
    return {k: mp.mpf(v) for k, v in params.items()}


@pytest.mark.parametrize("name, overrides", list(_cases()))
def test_values_and_derivatives_match_mpmath_at_200_points(name, overrides):
    spec = actlab.get(name, **overrides)
    params = spec.resolve()
    reference = MODERN_REFERENCES[name]
    mparams = _mp_params(params)
    xs = _points(spec)
    assert len(xs) >= 200
    x = torch.tensor(xs, dtype=torch.float64)
    values = spec.forward(x, **params).tolist()
    slopes = spec.derivative(x, **params).tolist()
    kinks = spec.kink_points()
    for xi, value, slope in zip(xs, values, slopes):
        expected = reference(mp.mpf(xi), **mparams)
        assert _close(value, expected, 1e-11, 1e-13), f"{name}({xi}) = {value}, mpmath {expected}"
        if all(abs(xi - k) > 1e-6 for k in kinks):
            expected_slope = mp.diff(lambda t: reference(t, **mparams), mp.mpf(xi))
            assert _close(slope, expected_slope, 1e-8, 1e-10), f"{name}'({xi}) = {slope}, mpmath {expected_slope}"
        else:  # at a kink: one of the one-sided derivatives (or 0 at a jump)
            left = mp.diff(lambda t: reference(t, **mparams), mp.mpf(xi), direction=-1)
            right = mp.diff(lambda t: reference(t, **mparams), mp.mpf(xi), direction=1)
            step = abs(reference(mp.mpf(xi) - mp.mpf("1e-20"), **mparams) - reference(mp.mpf(xi) + mp.mpf("1e-20"), **mparams))
            sides = [float(left), float(right)] + ([0.0] if step > 1e-12 else [])
            assert any(_close(slope, side, 1e-6, 1e-8) for side in sides if math.isfinite(side)), (name, xi, slope, sides)


LEARNABLE = [name for name in NEW if actlab.get(name).learnable_params]


@pytest.mark.parametrize("name", LEARNABLE)
def test_parameter_derivatives_match_mpmath(name):
    spec = actlab.get(name)
    params = spec.resolve()
    reference = MODERN_REFERENCES[name]
    xs = [-2.5, -0.7, 0.4, 1.3, 3.0]
    x = torch.tensor(xs, dtype=torch.float64)
    for p in spec.learnable_params:
        analytic = spec.param_derivatives[p.name](x, **params).tolist()
        for xi, value in zip(xs, analytic):
            def in_param(t, xi=xi, p=p):
                return reference(mp.mpf(xi), **{**_mp_params(params), p.name: t})

            expected = mp.diff(in_param, mp.mpf(params[p.name]))
            assert _close(value, expected, 1e-8, 1e-10), f"d {name}/d {p.name} at {xi}: {value}, mpmath {expected}"


@pytest.mark.parametrize("name", LEARNABLE)
def test_gradcheck_in_input_and_parameters(name):
    # non-default values: PAU's published b1 and b3 lie within gradcheck's step of |b|'s corner at 0
    spec = actlab.get(name, **OTHER_PARAMS.get(name, {}))
    names = [p.name for p in spec.learnable_params]
    values = spec.resolve()
    tensors = [torch.tensor(float(values[n]), dtype=torch.float64, requires_grad=True) for n in names]
    x = torch.tensor([-2.1, -0.6, 0.35, 1.7], dtype=torch.float64, requires_grad=True)

    def f(x, *learned):
        return apply(spec, x, **dict(zip(names, learned)))

    assert torch.autograd.gradcheck(f, (x, *tensors), eps=1e-6, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", LEARNABLE)
def test_learnable_parameters_are_nn_parameters_that_train(name):
    torch.manual_seed(0)
    act = create(name, num_parameters=4)
    spec = act.spec
    names = {p.attribute for p in spec.learnable_params}
    assert names <= {n for n, _ in act.named_parameters()} and names <= set(act.state_dict())
    model = torch.nn.Sequential(torch.nn.Linear(2, 4), act, torch.nn.Linear(4, 1))
    before = {n: v.detach().clone() for n, v in act.learnable.items()}
    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 2, generator=g) * 2 - 1
    y = x[:, :1] * x[:, 1:]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(5):
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
    for n, value in act.learnable.items():
        assert value.shape == (4,) and not torch.equal(before[n], value.detach()), f"{name}.{n} did not move"


def test_state_dict_names_match_the_reference_modules():
    assert set(create("star_relu").state_dict()) == {"scale", "bias"}  # timm's StarReLU
    assert set(create("xielu").state_dict()) == {"alpha_p", "alpha_n"}  # HF transformers' XIELUActivation


# ------------------------------------------------------------------ published constants
def test_star_relu_defaults_give_unit_gaussian_moments():
    from scipy import integrate, stats

    spec = actlab.get("star_relu")
    s, b = spec.resolve()["s"], spec.resolve()["b"]
    assert (s, b) == (0.8944, -0.4472)
    f = lambda t: s * max(t, 0.0) ** 2 + b  # noqa: E731
    mean = integrate.quad(lambda t: f(t) * stats.norm.pdf(t), -np.inf, np.inf)[0]
    second = integrate.quad(lambda t: f(t) ** 2 * stats.norm.pdf(t), -np.inf, np.inf)[0]
    assert abs(mean) < 1e-4 and abs(second - mean**2 - 1) < 1e-3
    assert math.isclose(s, 1 / math.sqrt(1.25), abs_tol=5e-5) and math.isclose(b, -0.5 / math.sqrt(1.25), abs_tol=5e-5)


def test_xielu_effective_initial_values_are_the_papers():
    params = actlab.get("xielu").resolve()
    softplus = lambda v: math.log1p(math.exp(v))  # noqa: E731
    assert math.isclose(softplus(params["alpha_p"]), 0.8, rel_tol=1e-12)
    assert math.isclose(params["beta"] + softplus(params["alpha_n"]), 0.8, rel_tol=1e-12)
    assert (params["beta"], params["eps"]) == (0.5, -1e-6)


def test_pau_starts_as_the_published_leaky_relu_fit():
    params = actlab.get("pau").resolve()
    assert [params[f"a{j}"] for j in range(6)] == [3.35583603e-02, 5.05000375e-01, 1.65343934e00, 2.01001052e00, 9.31901999e-01, 1.52424124e-01]
    assert [params[f"b{k}"] for k in range(1, 5)] == [3.30847488e-06, 3.98021568e00, 5.12471206e-07, 3.01830109e-01]
    x = torch.linspace(-3, 3, 601, dtype=torch.float64)
    error = (actlab.get("pau")(x) - F.leaky_relu(x, 0.01)).abs()
    assert error.max() < 0.04 and error.mean() < 0.005  # the fit, not an exact leaky ReLU


def test_squareplus_keeps_its_digits_for_very_negative_inputs():
    x = torch.tensor([-1e6, -1e3, -30.0], dtype=torch.float32)
    got = actlab.get("squareplus")(x).tolist()
    for xi, value in zip(x.tolist(), got):
        expected = float(MODERN_REFERENCES["squareplus"](mp.mpf(xi), b=mp.mpf(4)))
        assert math.isclose(value, expected, rel_tol=1e-6)  # the textbook form gives 0 for the first two


def test_threshold_equals_torch_including_the_threshold_point():
    spec = actlab.get("threshold", threshold=0.1, value=20.0)
    x = torch.tensor([-1.0, 0.0, 0.1, 0.1 + 1e-9, 2.0, math.nan], dtype=torch.float64, requires_grad=True)
    F.threshold(x, 0.1, 20.0).sum().backward()
    ours = spec(x.detach())
    assert torch.equal(ours[:-1], F.threshold(x.detach(), 0.1, 20.0)[:-1]) and torch.isnan(ours[-1])
    assert torch.equal(spec.grad(x.detach())[:-1], x.grad[:-1])


# ---------------------------------------------------------------------- vector records
def _sparsemax_numpy(z: np.ndarray) -> np.ndarray:
    """Projection onto the simplex by bisection on τ (Σ max(z − τ, 0) = 1): no sorting, unlike the catalog's."""
    low, high = z.max() - 1.0, z.max()
    for _ in range(200):
        tau = (low + high) / 2
        if np.maximum(z - tau, 0).sum() > 1:
            low = tau
        else:
            high = tau
    return np.maximum(z - (low + high) / 2, 0)


def test_sparsemax_is_the_euclidean_projection_onto_the_simplex():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(50, 7, generator=g, dtype=torch.float64) * 2
    for dim in (-1, 0):
        p = actlab.get("sparsemax", dim=dim)(x)
        assert torch.allclose(p.sum(dim=dim), torch.ones(p.shape[1 if dim == 0 else 0], dtype=torch.float64))
        rows = x if dim == -1 else x.T
        expected = np.stack([_sparsemax_numpy(r) for r in rows.numpy()])
        got = p.numpy() if dim == -1 else p.T.numpy()
        assert np.allclose(got, expected, atol=1e-12)
    assert (actlab.get("sparsemax")(x) == 0).any()  # exact zeros, unlike softmax
    # two inputs: sparsemax([x, 0])[0] = sparse_sigmoid(x)
    t = torch.linspace(-3, 3, 61, dtype=torch.float64)
    pair = actlab.get("sparsemax")(torch.stack([t, torch.zeros_like(t)], dim=-1))[:, 0]
    assert torch.allclose(pair, actlab.get("sparse_sigmoid")(t))


def test_softmin_equals_torch():
    x = torch.randn(4, 6, dtype=torch.float64)
    assert torch.allclose(actlab.get("softmin")(x), F.softmin(x, dim=-1), atol=1e-15)
    assert torch.allclose(actlab.get("softmin", dim=0)(x), F.softmin(x, dim=0), atol=1e-15)


# ------------------------------------------------------------------------- properties
def test_computed_properties_of_the_new_records():
    from actlab.analysis import properties

    for name in NEW:
        p = properties(name, measure_cost=False)
        assert p.range_min is not None and p.gaussian_mean is not None, name
    relu2 = properties("relu2", measure_cost=False)
    assert relu2.monotonic is True and relu2.differentiable is True and relu2.smooth is False
    assert relu2.gaussian_mean == pytest.approx(0.5, rel=1e-9) and relu2.gaussian_variance == pytest.approx(1.25, rel=1e-9)
    star = properties("star_relu", measure_cost=False)
    assert star.gaussian_mean == pytest.approx(0.0, abs=1e-4) and star.gaussian_variance == pytest.approx(1.0, abs=1e-3)
    sparse = properties("sparsemax", measure_cost=False)  # the scalar slice is sparse_sigmoid
    assert sparse.gaussian_variance == pytest.approx(properties("sparse_sigmoid", measure_cost=False).gaussian_variance, rel=1e-9)
    assert properties("smish", measure_cost=False).monotonic is False
    xielu = properties("xielu", measure_cost=False)  # corners 1e-6 apart, below the grid's resolution: probed
    assert xielu.kinks == (-1e-6, 0.0) and xielu.differentiable is False
    assert properties("threshold", threshold=0.1, value=20.0, measure_cost=False).continuous is False


# ------------------------------------------------------------------------------ siren
def test_siren_init_scheme_draws_the_papers_bounds():
    from actlab.models import ModelConfig, init_scheme, initial_weights

    spec = actlab.get("siren")
    assert init_scheme(spec) == "siren" and init_scheme(actlab.get("relu"), "siren") == "siren"
    weights = initial_weights("siren", (3,), 1, ModelConfig(kind="mlp", depth=2, width=400), seed=0)
    (w1, b1), (w2, b2), _ = weights
    assert w1.abs().max() <= 1 / 3 and w1.abs().max() > 0.95 / 3  # U(−1/n, 1/n), n = fan_in = 3
    bound = math.sqrt(6 / 400) / 30
    assert w2.abs().max() <= bound and w2.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    assert b2.abs().max() <= 1 / math.sqrt(400) and b2.abs().max() > 0  # nn.Linear's bias, as the reference code


# ---------------------------------------------------------------------- learned shapes
def test_learned_shapes_are_read_back_and_plotted():
    from actlab.analysis import learned_specs, plot_learned

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), create("pau"), torch.nn.Linear(8, 1))
    x = torch.rand(128, 2) * 4 - 2
    y = torch.sin(2 * x[:, :1]) * x[:, 1:]
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(30):
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
    (learned,) = learned_specs(model)
    assert learned.name == "pau @ 1"
    values = learned.resolve()
    assert values["a3"] == model[1].a3.item() and values["a3"] != actlab.get("pau").resolve()["a3"]
    probe = torch.linspace(-2, 2, 9)
    with torch.no_grad():
        assert torch.allclose(learned(probe.double()).float(), model[1](probe), atol=1e-5)
    figure = plot_learned(model)
    gids = {line.get_gid() for ax in figure.axes for line in ax.get_lines()}
    assert {"f:pau @ 1", "f:pau (defaults)", "df:pau @ 1"} <= gids
    with pytest.raises(actlab.ActlabError, match="no activation with learnable"):
        learned_specs(torch.nn.Sequential(torch.nn.Linear(2, 2), create("relu")))


# ----------------------------------------------------------------------------- the CLI
@pytest.mark.parametrize("name", NEW)
def test_eval_json_with_default_parameters(name, capsys):
    code = main(["eval", name, "--x=-1.5,0,0.25,2", "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    data = json.loads(out)
    spec = actlab.get(name)
    x = torch.tensor([-1.5, 0.0, 0.25, 2.0], dtype=torch.float64)
    assert data["y"] == spec(x).tolist() and data["dy"] == spec.grad(x).tolist()


def test_show_lists_framework_equivalents(capsys):
    from actlab.catalog.equivalents import equivalents_for

    assert main(["show", "relu2"]) == 0
    out = capsys.readouterr().out
    assert "equivalents:" in out and 'transformers: transformers.activations.ACT2FN["relu2"]' in out
    for name, framework, target in (("xielu", "transformers", "XIELUActivation"), ("threshold", "torch", "torch.nn.Threshold"),
                                    ("sparsemax", "keras", "sparsemax"), ("squareplus", "keras", "squareplus"),
                                    ("softmin", "torch", "Softmin"), ("star_relu", "timm", "StarReLU")):
        rows = equivalents_for(name)
        assert any(r["framework"] == framework and target in r["name"] for r in rows), (name, rows)
