"""Every catalog activation against independent references (30-digit mpmath, PyTorch's own functions).

The generic checks (autograd, gradcheck, dtype, memory, training) run through
:mod:`actlab.testing` in ``test_conformance.py``.
"""
from __future__ import annotations

import math

import mpmath as mp
import pytest
import torch
import torch.nn.functional as F
from references import REFERENCES
from references import derivative as ref_derivative
from references import value as ref_value
from torch import nn

import actlab
from actlab.nn import apply, create, function_for

CATALOG = [s for s in actlab.all_specs() if s.source == "catalog"]
ELEMENTWISE = [s for s in CATALOG if s.kind == "elementwise"]
BASE_POINTS = [0.0, 1e-3, -1e-3, 1.0, -1.0, 10.0, -10.0, 1e4, -1e4, 0.37, -2.5]


def ids(specs):
    return [s.name for s in specs]


def points_for(spec):
    return sorted(set(BASE_POINTS) | set(spec.kink_points()))


def close(actual: float, expected, rtol: float = 1e-10, atol: float = 1e-12) -> bool:
    expected = float(expected)
    if math.isinf(expected):
        return actual == expected
    return abs(actual - expected) <= atol + rtol * abs(expected)


def test_catalog_has_every_required_activation():
    required = """identity binary_step sigmoid hard_sigmoid log_sigmoid tanh hard_tanh softsign relu relu6
    leaky_relu prelu rrelu elu celu selu gelu gelu_tanh quick_gelu silu hard_swish mish softplus softshrink
    hardshrink tanhshrink square signed_square cube sin cos gaussian sinc bent_identity arctan exponential
    softmax log_softmax maxout""".split()
    assert set(required) <= set(actlab.names())
    assert set(REFERENCES) == {s.name for s in ELEMENTWISE}, "every elementwise entry needs an independent reference"


@pytest.mark.parametrize("spec", ELEMENTWISE, ids=ids(ELEMENTWISE))
def test_forward_matches_reference(spec):
    params = spec.resolve()
    for x in points_for(spec):
        expected = ref_value(spec.name, x, **params)
        if abs(expected) > 1e308:
            continue  # not representable in float64
        actual = spec.forward(torch.tensor([x], dtype=torch.float64), **params).item()
        assert close(actual, expected), f"{spec.name}({x}) = {actual}, reference {expected}"


@pytest.mark.parametrize("spec", ELEMENTWISE, ids=ids(ELEMENTWISE))
def test_derivative_matches_reference_away_from_kinks(spec):
    params = spec.resolve()
    kinks = spec.kink_points()
    for x in points_for(spec):
        if any(abs(x - k) < 1e-6 for k in kinks):
            continue
        expected = ref_derivative(spec.name, x, **params)
        if abs(expected) > 1e308:
            continue
        actual = spec.derivative(torch.tensor([x], dtype=torch.float64), **params).item()
        assert close(actual, expected, rtol=1e-8, atol=1e-10), f"{spec.name}'({x}) = {actual}, reference {expected}"


@pytest.mark.parametrize("spec", [s for s in ELEMENTWISE if s.kink_points()], ids=ids([s for s in ELEMENTWISE if s.kink_points()]))
def test_derivative_at_kinks_is_a_one_sided_derivative(spec):
    """At a kink the declared value is one of the one-sided derivatives (or 0 at a jump)."""
    params = spec.resolve()
    assert spec.kink_convention, f"{spec.name} has kinks but declares no convention"
    for k in spec.kink_points():
        actual = spec.derivative(torch.tensor([k], dtype=torch.float64), **params).item()
        left = float(ref_derivative(spec.name, k, direction=-1, **params))
        right = float(ref_derivative(spec.name, k, direction=1, **params))
        jump = abs(float(ref_value(spec.name, k - 1e-12, **params) - ref_value(spec.name, k + 1e-12, **params))) > 1e-6
        assert close(actual, left, 1e-6, 1e-8) or close(actual, right, 1e-6, 1e-8) or (jump and actual == 0.0), (
            f"{spec.name}'({k}) = {actual}, one-sided derivatives {left}, {right}"
        )


# where actlab and PyTorch agree on the derivative at the kinks (the declared convention)
TORCH_NATIVE = {
    "relu": F.relu,
    "relu6": F.relu6,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.01),
    "elu": F.elu,
    "selu": F.selu,
    "hard_sigmoid": F.hardsigmoid,
    "hard_tanh": F.hardtanh,
    "hard_swish": F.hardswish,
    "softshrink": F.softshrink,
    "hardshrink": F.hardshrink,
    "softplus": F.softplus,
    "celu": F.celu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "mish": F.mish,
    "log_sigmoid": F.logsigmoid,
    "tanhshrink": F.tanhshrink,
    "softsign": F.softsign,
}


@pytest.mark.parametrize("name", sorted(TORCH_NATIVE))
def test_agrees_with_pytorch_including_kinks(name):
    spec = actlab.get(name)
    x = torch.tensor(sorted(set(points_for(spec)) - {1e4, -1e4}) + [-3.0, 3.0, 6.0], dtype=torch.float64, requires_grad=True)
    TORCH_NATIVE[name](x).sum().backward()
    assert torch.allclose(spec(x.detach()), TORCH_NATIVE[name](x.detach()), rtol=1e-12, atol=1e-12)
    # PyTorch's hardsigmoid backward multiplies by a float32 1/6 even in float64
    rtol = 1e-7 if name == "hard_sigmoid" else 1e-10
    assert torch.allclose(spec.grad(x.detach()), x.grad, rtol=rtol, atol=1e-12), (x, spec.grad(x.detach()), x.grad)


@pytest.mark.parametrize("spec", ELEMENTWISE, ids=ids(ELEMENTWISE))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_no_nan_or_inf_where_true_value_is_finite(spec, dtype):
    params = spec.resolve()
    limit = torch.finfo(dtype).max
    xs = [1e4, -1e4, 1e3, -1e3, 100.0, -100.0, 50.0, -50.0, 20.0, -20.0, 88.0, -88.0]
    y = spec.forward(torch.tensor(xs, dtype=dtype), **params)
    dy = spec.derivative(torch.tensor(xs, dtype=dtype), **params)
    for i, x in enumerate(xs):
        if abs(ref_value(spec.name, x, **params)) < limit / 2:
            assert torch.isfinite(y[i]), f"{spec.name}({x}) = {y[i]} in {dtype}"
        if not any(abs(x - k) < 1e-9 for k in spec.kink_points()) and abs(ref_derivative(spec.name, x, **params)) < limit / 2:
            assert torch.isfinite(dy[i]), f"{spec.name}'({x}) = {dy[i]} in {dtype}"


def test_named_extreme_values():
    assert actlab.get("sigmoid")(torch.tensor([-1e4])).item() == 0.0
    assert actlab.get("softplus")(torch.tensor([1e4])).item() == 1e4
    assert actlab.get("mish")(torch.tensor([1e4, -1e4])).tolist() == [1e4, -0.0]
    assert actlab.get("selu")(torch.tensor([-1e4], dtype=torch.float64)).item() == pytest.approx(-1.0507009873554805 * 1.6732632423543772)


def test_selu_uses_the_published_constants():
    from actlab.catalog.rectifiers import SELU_ALPHA, SELU_SCALE

    assert SELU_ALPHA == pytest.approx(1.6732632423543772848170429916717, rel=1e-15)
    assert SELU_SCALE == pytest.approx(1.0507009873554804934193349852946, rel=1e-15)
    x = torch.linspace(-5, 5, 101, dtype=torch.float64)
    assert torch.allclose(actlab.get("selu")(x), F.selu(x), rtol=1e-14, atol=1e-14)


# ------------------------------------------------------------------- vector kinds
VECTOR = [s for s in CATALOG if s.kind != "elementwise"]


@pytest.mark.parametrize("spec", VECTOR, ids=ids(VECTOR))
def test_vector_kinds_gradcheck_and_products(spec):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 8, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(create(spec), (x,), eps=1e-6, atol=1e-7)
    params = spec.resolve()
    ref = lambda t: spec.forward(t, **params)  # noqa: E731 - differentiated by torch's own autograd
    v = torch.randn(3, 8, generator=g, dtype=torch.float64)
    _, jvp_ref = torch.autograd.functional.jvp(ref, x.detach(), v)
    assert torch.allclose(spec.jvp(x.detach(), v, **params), jvp_ref, atol=1e-12)
    out = ref(x.detach())
    u = torch.randn(out.shape, generator=g, dtype=torch.float64)
    _, vjp_ref = torch.autograd.functional.vjp(ref, x.detach(), u)
    assert torch.allclose(spec.vjp(x.detach(), u, **params), vjp_ref, atol=1e-12)


def test_softmax_matches_torch_along_dim():
    x = torch.randn(4, 5, dtype=torch.float64)
    assert torch.allclose(actlab.get("softmax", dim=0)(x), torch.softmax(x, dim=0))
    assert torch.allclose(actlab.get("log_softmax")(x), torch.log_softmax(x, dim=-1))
    diag = actlab.get("softmax").grad(x)
    s = torch.softmax(x, -1)
    assert torch.allclose(diag, s * (1 - s))


def test_maxout_layer_and_activation():
    x = torch.tensor([[1.0, 3.0, -2.0, -5.0, 0.5, 0.25]])
    assert actlab.get("maxout", k=2)(x).tolist() == [[3.0, -2.0, 0.5]]
    assert actlab.get("maxout", k=3)(x).tolist() == [[3.0, 0.5]]
    layer = actlab.Maxout(4, 3, k=2)
    assert layer(torch.randn(5, 4)).shape == (5, 3)
    with pytest.raises(actlab.ParameterError):
        actlab.Maxout(4, 3, k=1)


# ------------------------------------------------------------------- modules
def _tiny_problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(64, 2, generator=g) * 2 - 1
    y = (x[:, :1] * x[:, 1:2] + 0.5 * x[:, :1]).detach()
    return x, y


def _train(model, steps=60, lr=0.02):
    x, y = _tiny_problem()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_binary_step_is_declared_untrainable():
    spec = actlab.get("binary_step")
    assert spec.trainable is False
    assert torch.count_nonzero(spec.grad(torch.linspace(-3, 3, 13))) == 0


def test_prelu_slope_is_learned_shared_and_per_channel():
    torch.manual_seed(0)
    for num in (1, 16):
        act = actlab.nn.create("prelu", num_parameters=num)
        assert act.learnable["alpha"].shape == (num,)
        model = nn.Sequential(nn.Linear(2, 16), act, nn.Linear(16, 1))
        before = act.learnable["alpha"].detach().clone()
        _train(model, steps=20)
        assert not torch.equal(before, act.learnable["alpha"].detach())


def test_prelu_parameter_gradient_matches_torch():
    x = torch.randn(6, 3, dtype=torch.float64)
    ours = actlab.nn.create("prelu", num_parameters=3).double()
    theirs = nn.PReLU(3, init=0.25).double()
    ours(x).square().sum().backward()
    theirs(x).square().sum().backward()
    assert torch.allclose(ours.learnable["alpha"].grad, theirs.weight.grad)
    alpha = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    xg = torch.randn(10, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: apply(actlab.get("prelu"), b, alpha=a), (alpha, xg))


def test_rrelu_differs_between_train_and_eval():
    torch.manual_seed(0)
    module = actlab.nn.create("rrelu")
    x = -torch.ones(1000)
    module.train()
    y_train = module(x)
    module.eval()
    y_eval = module(x)
    assert y_train.std() > 0.01  # random slopes in [1/8, 1/3]
    assert torch.all(y_train <= -1 / 8 + 1e-6) and torch.all(y_train >= -1 / 3 - 1e-6)
    assert torch.allclose(y_eval, torch.full_like(x, -(1 / 8 + 1 / 3) / 2))
    # the gradient in training uses the sampled slope of each element
    x = torch.full((100,), -1.0, requires_grad=True)
    module.train()
    out = module(x)
    out.sum().backward()
    assert torch.allclose(x.grad, out.detach() / x.detach())


def test_one_function_class_per_spec_is_cached():
    spec = actlab.get("gelu")
    assert function_for(spec) is function_for(spec)
    assert function_for(spec).__name__ == "gelu_function"


@pytest.mark.slow
def test_modules_work_under_torch_compile():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), actlab.nn.create("gelu"), nn.Linear(8, 8), actlab.nn.create("prelu"), nn.Linear(8, 1))
    x = torch.randn(16, 4)
    eager = model(x)
    eager.sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    compiled = torch.compile(model)
    out = compiled(x)
    out.sum().backward()
    assert torch.allclose(out, eager, atol=1e-6)
    for p, g in zip(model.parameters(), grads):
        assert torch.allclose(p.grad, g, atol=1e-6)


# ------------------------------------------------------------------- registry
def test_get_is_case_insensitive_and_knows_aliases():
    assert actlab.get("ReLU") is actlab.get("relu")
    assert actlab.get("swish").name == "silu"
    assert actlab.get("  GELU ").name == "gelu"
    spec = actlab.get("elu")
    assert actlab.get(spec) is spec
    assert actlab.get(torch.tanh) is torch.tanh


def test_get_binds_and_validates_params():
    assert actlab.get("elu", alpha=0.5).resolve() == {"alpha": 0.5}
    assert actlab.get("elu").resolve() == {"alpha": 1.0}  # the catalog entry is untouched
    with pytest.raises(actlab.ParameterError, match="alpha"):
        actlab.get("elu", alpha=-1)
    with pytest.raises(actlab.ParameterError, match="lower"):
        actlab.get("rrelu", lower=0.5, upper=0.2)
    with pytest.raises(actlab.ParameterError, match="did you mean alpha"):
        actlab.get("elu", alpah=1.0)
    with pytest.raises(actlab.ParameterError, match="takes no parameters"):
        actlab.get("relu", alpha=1.0)


def test_unknown_name_suggests_close_matches():
    with pytest.raises(actlab.UnknownNameError) as info:
        actlab.get("gleu")
    assert "gelu" in info.value.suggestions and "did you mean" in str(info.value)


def test_register_rejects_duplicates_and_names_are_sorted():
    spec = actlab.get("relu")
    with pytest.raises(actlab.ActlabError, match="already registered"):
        actlab.register(spec)
    names = actlab.names()
    assert names == sorted(names) and len(names) >= 39


def test_every_entry_is_documented():
    for spec in CATALOG:
        assert spec.summary and spec.formula and spec.derivative_formula, spec.name
        assert spec.references and spec.notes, spec.name
        assert spec.init.scheme in ("he", "glorot", "lecun", "siren") and spec.init.reason, spec.name
        for p in spec.params:
            assert p.source, f"{spec.name}.{p.name} needs the source of its default"


def test_seed_guidance_is_in_the_notes():
    text = lambda name: " ".join(actlab.get(name).notes).lower()  # noqa: E731
    assert "binary classification" in text("sigmoid")
    assert "multi-class" in text("softmax")
    assert "default hidden activation" in text("relu")
    assert "die" in text("leaky_relu") and "die" in text("prelu") and "die" in text("maxout")
    assert "lecun_normal" in text("selu") and "alphadropout" in text("selu")
    assert "transformer" in text("gelu")
    assert "vanish" in text("sigmoid") and "vanish" in text("tanh")


def test_leaky_relu_default_records_both_frameworks():
    source = actlab.get("leaky_relu").param("alpha").source
    assert "0.01" in source and "0.2" in source


def test_mpmath_precision_is_set():
    assert mp.mp.dps >= 30
