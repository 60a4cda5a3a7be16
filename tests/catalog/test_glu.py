"""The gated linear units against an independent float64 NumPy/SciPy reference: values, the Jacobian's diagonal,
vjp and jvp at 400 points (gates at the ReLU kink included), gradcheck of the module, the two-input property
table and the equivalents."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import special

import actlab
from actlab.analysis.two_input import NOT_APPLICABLE
from actlab.catalog.equivalents import equivalents_for

# (act, act′) of the gate in float64 NumPy; the ReLU gate's derivative at 0 is 0 (torch's convention)
REFERENCE = {
    "glu": (special.expit, lambda g: special.expit(g) * (1 - special.expit(g))),
    "reglu": (lambda g: np.maximum(g, 0.0), lambda g: (g > 0).astype(float)),
    "geglu": (lambda g: g * special.ndtr(g), lambda g: special.ndtr(g) + g * np.exp(-g * g / 2) / math.sqrt(2 * math.pi)),
    "swiglu": (lambda g: g * special.expit(g), lambda g: special.expit(g) * (1 + g * (1 - special.expit(g)))),
    "bilinear": (lambda g: g, lambda g: np.ones_like(g)),
}
NAMES = tuple(REFERENCE)


def _points() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    value = np.concatenate([rng.normal(0, 3, 190), np.linspace(-8, 8, 10)])
    gate = np.concatenate([rng.normal(0, 3, 190), [0.0, -0.0, 1e-9, -1e-9, 0.0, 1.0, -1.0, 5.0, -5.0, 0.0]])
    return value, gate


@pytest.mark.parametrize("name", NAMES)
def test_values_diagonal_vjp_jvp_match_the_float64_reference(name: str) -> None:
    act, slope = REFERENCE[name]
    spec = actlab.get(name)
    value, gate = _points()
    x = torch.tensor(np.concatenate([value, gate]), dtype=torch.float64)  # 400 inputs, one vector
    np.testing.assert_allclose(spec(x).numpy(), value * act(gate), rtol=1e-12, atol=1e-12)
    diagonal = spec.grad(x).numpy()
    np.testing.assert_allclose(diagonal, np.concatenate([act(gate), value * slope(gate)]), rtol=1e-10, atol=1e-12)
    rng = np.random.default_rng(1)
    cotangent = rng.normal(size=200)
    tangent = rng.normal(size=400)
    vjp = spec.vjp(x, torch.tensor(cotangent))
    np.testing.assert_allclose(vjp.numpy(), np.concatenate([cotangent * act(gate), cotangent * value * slope(gate)]),
                               rtol=1e-10, atol=1e-12)
    jvp = spec.jvp(x, torch.tensor(tangent))
    np.testing.assert_allclose(jvp.numpy(), tangent[:200] * act(gate) + value * slope(gate) * tangent[200:],
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_module_gradcheck_and_native_op(name: str) -> None:
    """The reference module's backward (the spec's vjp) and the native op's autograd, both float64."""
    x = torch.linspace(-2.3, 2.9, 24, dtype=torch.float64).reshape(3, 8).requires_grad_(True)
    for impl in ("reference", "native"):
        module = actlab.nn.create(name, impl=impl).double()
        assert torch.autograd.gradcheck(module, (x,), eps=1e-6, atol=1e-7)
        assert module(x).shape == (3, 4)


def test_glu_is_torch_glu_and_odd_sizes_are_refused() -> None:
    x = torch.randn(5, 6, dtype=torch.float64)
    torch.testing.assert_close(actlab.get("glu")(x), torch.nn.functional.glu(x, dim=-1))
    with pytest.raises(ValueError, match="odd size 5"):
        actlab.get("swiglu")(torch.randn(5))


def test_two_input_property_table() -> None:
    reglu = actlab.properties("reglu", measure_cost=False)
    assert reglu.sparsity == pytest.approx(0.5, abs=1e-6)
    assert reglu.gaussian_mean == 0.0
    assert reglu.gaussian_second_moment == pytest.approx(0.5, abs=1e-6)  # E relu(G)² for G ~ N(0, 1)
    assert reglu.gaussian_mean_derivative == pytest.approx(1 / math.sqrt(2 * math.pi), abs=1e-6)  # E relu(G)
    assert reglu.kinks == (0.0,) and reglu.dead_region is True
    assert (reglu.range_min, reglu.range_max) == (-math.inf, math.inf)
    assert all(getattr(reglu, field) is None for field in NOT_APPLICABLE)
    assert any("two-input unit" in note for note in reglu.notes)
    bilinear = actlab.properties("bilinear", measure_cost=False)  # E (V·G)² = 1: the variance is preserved
    assert bilinear.self_normalizing is True and bilinear.smooth is True
    glu = actlab.properties("glu", measure_cost=False)
    second = float(np.mean(special.expit(np.random.default_rng(0).normal(size=400_000)) ** 2))
    assert glu.gaussian_second_moment == pytest.approx(second, abs=2e-3)
    assert glu.self_normalizing is False and glu.identity_near_origin is False


def test_equivalents_name_torch_keras_and_transformers() -> None:
    assert any(row["name"].startswith("torch.nn.GLU") for row in equivalents_for("glu"))
    assert any(row["framework"] == "keras" for row in equivalents_for("glu"))
    assert any("LlamaMLP" in row["name"] for row in equivalents_for("swiglu"))
    assert any(row["framework"] == "transformers" for row in equivalents_for("geglu"))


def test_gated_units_are_refused_where_they_cannot_split() -> None:
    from actlab.models import resolve_activation

    with pytest.raises(actlab.ActlabError, match="gated unit"):
        resolve_activation("swiglu", None, "cnn")
