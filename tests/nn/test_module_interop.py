"""actlab modules are drop-in torch.nn citizens: pickle, torch.save (whole model), deepcopy, torch.export,
torch.jit.script (via the torch.nn twin, else a clear error), PReLU state_dict interchange; impl selection."""
from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch
from torch import nn

import actlab
from actlab.catalog import BUILTIN
from actlab.nn import create

ELEMENTWISE = [s.name for s in BUILTIN if s.kind == "elementwise"]
ALL = [s.name for s in BUILTIN]


def _model(name: str, impl: str = "auto") -> nn.Module:
    spec = actlab.get(name)
    k = spec.width_divisor
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4 * k), create(spec, impl=impl), nn.Linear(4, 2)).eval()


def _x() -> torch.Tensor:
    return torch.linspace(-2, 2, 15).reshape(5, 3)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("impl", ["auto", "reference"])
def test_pickle_save_deepcopy_round_trip(name: str, impl: str) -> None:
    model = _model(name, impl)
    expected = model(_x())
    again = pickle.loads(pickle.dumps(model))
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    for other in (again, loaded, copy.deepcopy(model)):
        assert torch.equal(other(_x()), expected)
        assert other[1].spec is model[1].spec  # the registry's record comes back, not a copy


@pytest.mark.parametrize("name", ALL)
def test_torch_export(name: str) -> None:
    model = _model(name)
    exported = torch.export.export(model, (_x(),))
    assert torch.allclose(exported.module()(_x()), model(_x()))


@pytest.mark.parametrize("name", ALL)
def test_jit_script_twin_or_clear_error(name: str) -> None:
    model = _model(name)
    if model[1].spec.torch_module is None:
        with pytest.raises(TypeError, match="torch.compile"):
            torch.jit.script(model)
        return
    scripted = torch.jit.script(model)
    assert torch.allclose(scripted(_x()), model(_x()), atol=1e-6)


def test_pickle_keeps_changed_parameters_and_formulas() -> None:
    act = actlab.nn.create(actlab.get("leaky_relu", alpha=0.3))
    back = pickle.loads(pickle.dumps(act))
    assert back.fixed["alpha"] == 0.3 and back.spec.defaults()["alpha"] == 0.3
    formula = actlab.nn.create("x*sigmoid(1.702*x)")
    again = pickle.loads(pickle.dumps(formula))
    assert torch.allclose(again(_x()), formula(_x()))


@pytest.mark.parametrize("num", [1, 3])
def test_prelu_state_dict_moves_both_ways(num: int) -> None:
    ours = actlab.nn.create("prelu", num_parameters=num)
    assert list(ours.state_dict()) == ["weight"]
    theirs = nn.PReLU(num, init=0.1)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(4, 3, 2)
    assert torch.allclose(ours(x), theirs(x))
    with torch.no_grad():
        ours.weight.fill_(0.7)
    theirs.load_state_dict(ours.state_dict())
    assert torch.allclose(ours(x), theirs(x))
    for impl in ("native", "reference"):
        module = actlab.nn.create("prelu", num_parameters=num, impl=impl)
        module.load_state_dict(theirs.state_dict())
        assert torch.allclose(module(x), theirs(x))


def test_impl_selection() -> None:
    assert actlab.nn.create("gelu").impl == "native"
    assert actlab.nn.create("gelu", impl="reference").impl == "reference"
    assert actlab.nn.create("quick_gelu").impl == "reference"
    with pytest.raises(ValueError, match="no native"):
        actlab.nn.create("quick_gelu", impl="native")
    with pytest.raises(ValueError, match="impl must be"):
        actlab.nn.create("gelu", impl="fast")


def test_native_signature_is_checked() -> None:
    import dataclasses

    spec = actlab.get("elu")
    with pytest.raises(ValueError, match="native op takes"):
        dataclasses.replace(spec, native=lambda x: x)


NON_NATIVE = [s.name for s in BUILTIN if s.kind == "elementwise" and s.native is None]


def test_auto_without_native_op_is_fused_reference_is_not() -> None:
    from actlab.fused import Fused
    from actlab.nn import function_for

    assert NON_NATIVE  # quick_gelu, bent_identity, gaussian, ...
    for name in NON_NATIVE:
        spec = actlab.get(name)
        assert create(spec).fused and not create(spec, impl="reference").fused
        assert all(isinstance(part, Fused) for part in function_for(spec, fused=True).parts)
        assert not any(isinstance(part, Fused) for part in function_for(spec).parts)
    assert not actlab.nn.create("gelu").fused  # native: torch's own op


def test_fused_module_stays_eager_when_the_job_does_not_compile(monkeypatch) -> None:
    from actlab import compile_policy
    from actlab import fused as fused_mod
    from actlab.nn import function_for

    calls = []
    monkeypatch.setenv("ACTLAB_COMPILE", "1")
    monkeypatch.setattr(fused_mod.torch, "compile", lambda fn, **kw: calls.append(fn.__name__) or fn)
    spec = actlab.get("bent_identity")
    forward, _ = function_for(spec, fused=True).parts
    monkeypatch.setattr(forward, "_compiled", None)
    big = torch.randn(fused_mod.MIN_NUMEL, requires_grad=True)
    with compile_policy.compiling(False):
        create(spec)(big).sum().backward()
    create(spec)(torch.randn(10))  # too small to be worth compiling
    assert not calls
    create(spec)(big).sum().backward()
    assert calls == ["bent_identity_forward", "bent_identity_input_grad"]
    monkeypatch.setattr(forward, "_compiled", None)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["quick_gelu", "gaussian", "sinc", "signed_square"])
def test_fused_module_equals_reference_on_large_tensors(name: str, monkeypatch) -> None:
    """The compiled forward and backward (inductor) give the reference Function's values and gradients; autograd
    saves one tensor (the input)."""
    from actlab import fused as fused_mod

    monkeypatch.setenv("ACTLAB_COMPILE", "1")
    spec = actlab.get(name)
    x = (torch.randn(2 * fused_mod.MIN_NUMEL, dtype=torch.float32) * 3).requires_grad_(True)
    g = torch.randn_like(x)
    y = create(spec)(x)
    saved = [t for t in y.grad_fn.saved_tensors]
    assert len(saved) == 1 and saved[0] is x
    (gx,) = torch.autograd.grad(y, x, g)
    x_ref = x.detach().clone().requires_grad_(True)
    y_ref = create(spec, impl="reference")(x_ref)
    (gx_ref,) = torch.autograd.grad(y_ref, x_ref, g)
    # float32: the compiled kernel's vectorised sin/exp differ from eager's in the last bits, and sinc's
    # derivative (cos(πx)πx − sin(πx))/(πx²) cancels (seen: 1.9e-5 apart where the gradient is ~1)
    torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(gx, gx_ref, rtol=1e-4, atol=5e-5)
    from actlab.nn import function_for

    forward, backward = function_for(spec, fused=True).parts
    assert forward._compiled is not None and backward._compiled is not None and not forward._failed


@pytest.mark.slow
def test_fused_counts_recompiles_as_compile_time(monkeypatch):
    from actlab import compile_policy
    from actlab import fused as fused_mod

    monkeypatch.setenv("ACTLAB_COMPILE", "1")
    f = fused_mod.Fused(lambda x: x * torch.tanh(x) + 1.0, "test_recompile_count", "module")
    before = compile_policy.compile_seconds()
    f(torch.randn(fused_mod.MIN_NUMEL))
    first = compile_policy.compile_seconds()
    assert first > before
    f(torch.randn(fused_mod.MIN_NUMEL))  # same shape: no compilation
    assert compile_policy.compile_seconds() == first
    f(torch.randn(2, fused_mod.MIN_NUMEL))  # another shape: a recompile, counted
    assert compile_policy.compile_seconds() > first
