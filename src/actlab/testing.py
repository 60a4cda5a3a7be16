"""A public conformance checker for activation specs, like scikit-learn's ``check_estimator``.

>>> from actlab.testing import check_spec
>>> check_spec("x*sigmoid(1.702*x)")   # raises AssertionError naming the failed check, else returns the checks run

``parametrize_with_checks(specs)`` gives a ``pytest.mark.parametrize`` decorator
with one test per (spec, check), ids like ``gelu-derivative_vs_autograd``; the
catalog's own suite uses it, and so can yours::

    from actlab.testing import parametrize_with_checks

    @parametrize_with_checks(["my_act", "x*tanh(softplus(x))"])
    def test_my_activations(spec, check):
        check(spec)

Each check compares the spec with an independent computation: the analytic
derivative with autograd of the forward and with float64 central differences,
the declared kink values with the one-sided derivatives, the module with
``torch.autograd.gradcheck``.  Checks that do not apply to a spec (an
elementwise check on softmax, training an untrainable step) are not generated.

``check_export(spec)`` (from :mod:`actlab.nn.export`) round-trips the spec's module through ``torch.export``
and ONNX (onnxruntime) and checks the record's ``export_limits`` declaration both ways.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch

from actlab.nn import create
from actlab.nn.export import check_export
from actlab.resolve import get
from actlab.spec import ActivationSpec

__all__ = ["CHECKS", "Check", "check_export", "check_spec", "parametrize_with_checks"]

_POINTS = (-10.0, -3.3, -1.0, -0.37, -1e-3, 0.0, 1e-3, 0.37, 1.0, 2.5, 10.0)


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[ActivationSpec], None]
    applies: Callable[[ActivationSpec], bool]

    def __call__(self, spec: ActivationSpec | str) -> None:
        self.run(get(spec))

    def __repr__(self) -> str:
        return self.name


def _elementwise(spec: ActivationSpec) -> bool:
    return spec.kind == "elementwise"


def _trainable(spec: ActivationSpec) -> bool:
    return spec.trainable


def _points(spec: ActivationSpec, avoid: float = 1e-2) -> torch.Tensor:
    """Test points inside the domain, away from the kinks."""
    low, high = spec.domain
    kinks = spec.kink_points()
    xs = [x for x in _POINTS if low < x < high and all(abs(x - k) > avoid for k in kinks)]
    if not xs:
        raise AssertionError(f"{spec.name}: no test point inside the domain {spec.domain}")
    return torch.tensor(xs, dtype=torch.float64)


def _finite_pairs(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.isfinite(a) & torch.isfinite(b)


def check_params(spec: ActivationSpec) -> None:
    """Every default lies in its parameter's allowed range and documents its source."""
    values = spec.resolve()
    for param in spec.params:
        assert param.check(values[param.name], spec.name) == values[param.name]
        if spec.source == "catalog":
            assert param.source, f"{spec.name}: parameter {param.name!r} does not say where its default comes from"


def check_describe(spec: ActivationSpec) -> None:
    """The description is strict JSON with the formula of f and f′."""
    text = json.dumps(spec.describe(), allow_nan=False)
    assert spec.formula and spec.derivative_formula, f"{spec.name}: formula or derivative formula missing"
    assert json.loads(text)["name"] == spec.name


def check_derivative_vs_autograd(spec: ActivationSpec) -> None:
    """f′ equals autograd of the forward (float64, away from kinks)."""
    params = spec.resolve()
    x = _points(spec).requires_grad_(True)
    y = spec.forward(x, **params)
    if y.requires_grad:
        (grad,) = torch.autograd.grad(y.sum(), x, allow_unused=True)
        grad = torch.zeros_like(x) if grad is None else grad
    else:  # a forward built from piecewise constants (binary step) has no autograd graph: f′ = 0
        grad = torch.zeros_like(x)
    analytic = spec.derivative(x.detach(), **params)
    ok = _finite_pairs(grad, analytic)
    assert torch.allclose(analytic[ok], grad[ok], rtol=1e-7, atol=1e-9), (
        f"{spec.name}: f′ {analytic.tolist()} vs autograd {grad.tolist()} at {x.detach().tolist()}"
    )


def check_derivative_vs_differences(spec: ActivationSpec) -> None:
    """f′ equals float64 central differences of f (h = 1e-6, away from kinks)."""
    params = spec.resolve()
    x = _points(spec)
    h = 1e-6
    numeric = (spec.forward(x + h, **params) - spec.forward(x - h, **params)) / (2 * h)
    analytic = spec.derivative(x, **params)
    ok = _finite_pairs(numeric, analytic)
    assert torch.allclose(analytic[ok], numeric[ok], rtol=1e-5, atol=1e-6), (
        f"{spec.name}: f′ {analytic.tolist()} vs central differences {numeric.tolist()}"
    )


def check_kinks(spec: ActivationSpec) -> None:
    """At each declared kink the derivative is one of the one-sided derivatives (or 0 at a jump), and the
    convention is stated."""
    kinks = spec.kink_points()
    if not kinks:
        return
    assert spec.kink_convention, f"{spec.name} has kinks but declares no convention"
    params = spec.resolve()
    h = 1e-7
    for k in kinks:
        at = torch.tensor([k - 2 * h, k - h, k, k + h, k + 2 * h], dtype=torch.float64)
        f = spec.forward(at, **params)
        left = ((3 * f[2] - 4 * f[1] + f[0]) / (2 * h)).item()
        right = ((-3 * f[2] + 4 * f[3] - f[4]) / (2 * h)).item()
        actual = spec.derivative(at[2:3], **params).item()
        jump = abs((f[1] - f[3]).item()) > 1e-4
        near = [math.isclose(actual, side, rel_tol=1e-4, abs_tol=1e-5) for side in (left, right)]
        assert any(near) or (jump and actual == 0.0), (
            f"{spec.name}'({k}) = {actual}, one-sided derivatives {left:.6g}, {right:.6g}"
        )


def check_gradcheck(spec: ActivationSpec) -> None:
    """``torch.autograd.gradcheck`` of the module in float64, away from kinks."""
    module = create(spec).double().eval()
    x = _points(spec).clone().requires_grad_(True)
    assert torch.autograd.gradcheck(module, (x,), eps=1e-6, atol=1e-6, rtol=1e-4)


def check_finite_at_extremes(spec: ActivationSpec) -> None:
    """float32 gives finite f and f′ wherever float64's value fits in float32 (no naive overflow)."""
    params = spec.resolve()
    low, high = spec.domain
    xs = [x for x in (-1e4, -100.0, -88.0, -20.0, 20.0, 88.0, 100.0, 1e4) if low < x < high]
    if not xs:
        return
    limit = torch.finfo(torch.float32).max / 2
    for fn, label in ((spec.forward, "f"), (spec.derivative, "f′")):
        wide = fn(torch.tensor(xs, dtype=torch.float64), **params)
        narrow = fn(torch.tensor(xs, dtype=torch.float32), **params)
        for x, w, n in zip(xs, wide.tolist(), narrow.tolist()):
            if math.isfinite(w) and abs(w) < limit and x not in spec.kink_points():
                assert math.isfinite(n), f"{spec.name}: {label}({x}) = {n} in float32, {w} in float64"


def check_dtype(spec: ActivationSpec) -> None:
    """The module keeps float32, float64 and bfloat16, in forward and backward."""
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        module = create(spec).to(dtype)
        x = torch.linspace(0.1, 2.0, 4 * spec.width_divisor, dtype=dtype).reshape(2, -1).requires_grad_(True)
        y = module(x)
        y.sum().backward()
        assert y.dtype == dtype and x.grad is not None and x.grad.dtype == dtype, f"{spec.name}: {dtype}"


def check_saves_only_input(spec: ActivationSpec) -> None:
    """The reference module saves one tensor for backward: the input (memory like timm's "ME" activations)."""
    saved: list[torch.Tensor] = []

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        saved.append(tensor)
        return tensor

    x = torch.linspace(0.1, 2.0, 64, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        create(spec, impl="reference").eval()(x)
    assert len(saved) == 1 and saved[0].data_ptr() == x.data_ptr(), f"{spec.name}: saved {len(saved)} tensors"


def _native_points(spec: ActivationSpec, dtype: torch.dtype) -> torch.Tensor:
    """Test points plus every kink and both sides of it (the kink conventions are compared too)."""
    low, high = spec.domain
    xs = [x for x in _POINTS if low < x < high]
    for k in spec.kink_points():
        xs += [k - 1e-3, k, k + 1e-3]
    xs = sorted(set(xs))
    x = torch.tensor(xs[:len(xs) - len(xs) % spec.width_divisor], dtype=dtype)  # whole groups / halves
    if spec.kind != "elementwise":
        x = torch.stack([x, x.flip(0) * 0.5, x * 0.25])  # softmax along the last dim
    return x


def check_native_vs_reference(spec: ActivationSpec) -> None:
    """The native PyTorch op (``impl="native"``) equals the reference module (analytic derivative): values and
    gradients (input and learnable parameters), float32 and float64, at the kinks too."""
    # float64 tolerance 1e-7: torch's float64 hardsigmoid/hardswish backward use float32 constants (1/6 to 1e-8)
    for dtype, rtol, atol in ((torch.float64, 1e-7, 1e-12), (torch.float32, 2e-6, 1e-6)):
        x = _native_points(spec, dtype)
        outs, grads = [], []
        for impl in ("native", "reference"):
            module = create(spec, num_parameters=1, impl=impl).to(dtype).eval()
            xi = x.clone().requires_grad_(True)
            y = module(xi)
            weights = torch.linspace(-1.0, 2.0, y.numel(), dtype=dtype).reshape(y.shape)  # not all-ones: softmax's
            inputs = [xi, *module.learnable.values()]                                      # vjp of ones is 0
            grad = torch.autograd.grad((y * weights).sum(), inputs, allow_unused=True)
            outs.append(y.detach())
            grads.append([torch.zeros_like(t) if g is None else g for g, t in zip(grad, inputs)])
        assert torch.allclose(outs[0], outs[1], rtol=rtol, atol=atol, equal_nan=True), (
            f"{spec.name} ({dtype}): native f {outs[0].tolist()} vs reference {outs[1].tolist()} at {x.tolist()}"
        )
        with torch.no_grad():  # NaN propagates through both
            nan = torch.full_like(x, math.nan)
            for impl in ("native", "reference"):
                assert torch.isnan(create(spec, impl=impl).to(dtype).eval()(nan)).all(), f"{spec.name}: {impl} f(NaN)"
        for native, reference in zip(*grads):
            assert torch.allclose(native, reference, rtol=rtol, atol=atol, equal_nan=True), (
                f"{spec.name} ({dtype}): native gradient {native.tolist()} vs reference {reference.tolist()} "
                f"at {x.tolist()}"
            )


def check_trains(spec: ActivationSpec) -> None:
    """A small net with this activation fits a smooth 2-D target (the loss falls by 20 % in 100 Adam steps)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: more threads only contend
    try:
        _fit(spec)
    finally:
        torch.set_num_threads(threads)


def _fit(spec: ActivationSpec) -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(256, 2, generator=generator) * 4 - 2
    y = (torch.sin(x[:, :1]) + 0.5 * x[:, 1:] ** 2) / 2
    torch.manual_seed(0)
    k = spec.width_divisor
    model = torch.nn.Sequential(torch.nn.Linear(2, 16 * k), create(spec), torch.nn.Linear(16, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(100):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses), f"{spec.name}: non-finite loss"
    assert losses[-1] < 0.8 * losses[0], f"{spec.name}: loss {losses[0]:.4f} → {losses[-1]:.4f}"


CHECKS: tuple[Check, ...] = (
    Check("params", check_params, lambda s: True),
    Check("describe", check_describe, lambda s: True),
    Check("derivative_vs_autograd", check_derivative_vs_autograd, _elementwise),
    Check("derivative_vs_differences", check_derivative_vs_differences, _elementwise),
    Check("kinks", check_kinks, _elementwise),
    Check("gradcheck", check_gradcheck, lambda s: _elementwise(s) and s.trainable and s.sample is None),
    Check("finite_at_extremes", check_finite_at_extremes, _elementwise),
    Check("dtype", check_dtype, lambda s: True),
    Check("saves_only_input", check_saves_only_input, lambda s: not s.learnable_params),
    Check("native_vs_reference", check_native_vs_reference, lambda s: s.native is not None),
    Check("trains", check_trains, _trainable),
)


def _checks_for(spec: ActivationSpec) -> list[Check]:
    return [check for check in CHECKS if check.applies(spec)]


def check_spec(spec: ActivationSpec | str | Any) -> list[str]:
    """Run every applicable check on ``spec`` (a spec, name or formula); the names of the checks run.

    Raises ``AssertionError`` naming the first check that fails.
    """
    spec = get(spec)
    done = []
    for check in _checks_for(spec):
        try:
            check.run(spec)
        except AssertionError as error:
            raise AssertionError(f"check {check.name} failed for {spec.name}: {error}") from None
        done.append(check.name)
    return done


def parametrize_with_checks(specs: Iterable[ActivationSpec | str]) -> Any:
    """A ``pytest.mark.parametrize("spec, check", ...)`` over every applicable (spec, check) pair."""
    import pytest

    pairs, ids = [], []
    for item in specs:
        spec = get(item)
        for check in _checks_for(spec):
            pairs.append((spec, check))
            ids.append(f"{spec.name}-{check.name}")
    return pytest.mark.parametrize("spec, check", pairs, ids=ids)
