"""Every record's module exports with torch.export and to ONNX (run in onnxruntime, float32, 1e-5 on inputs at and
beside the kinks and in the tails), or its record declares why not, and every declaration still holds; formula
activations export; ``actlab show`` lists the status.

The ONNX round trip costs seconds per record (torch's exporter rebuilds its op registry on each call), so the
whole catalog's ONNX test is marked slow, apart from one record per kind of module: torch's native op, actlab's
autograd Function, a learnable parameter, a random slope in eval mode, a vector and a grouped activation, and a
declared failure."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest
import torch

import actlab
from actlab.catalog import BUILTIN
from actlab.cli import main
from actlab.formula import FUNCTIONS
from actlab.nn.export import (
    TOLERANCE,
    check_export,
    export_program,
    mismatch,
    round_trip,
    run_onnx,
    sample_input,
    to_onnx,
)

NAMES = [spec.name for spec in BUILTIN]
FAST_ONNX = {"relu", "quick_gelu", "prelu", "rrelu", "softmax", "maxout", "log_sigmoid"}
# every function of the formula language, in formulas whose inputs stay in the domain
FORMULAS = (
    "exp(-x**2) + log(1 + x**2) + log1p(abs(x)) + expm1(-abs(x)) + sqrt(1 + x**2)",
    "sign(x)*sin(x) + cos(x) + tan(x/64) + tanh(x) + sinh(x/8) + cosh(x/8) + arctan(x)",
    "erf(x) + erfc(x) + sigmoid(x) + softplus(x) + relu(x)",
    "where(x > 0.5, maximum(x, 1), minimum(x, -1)) + clip(x, -2, 3) + where(x <= 0, x**3, x/2)",
)


@pytest.mark.parametrize("name", NAMES)
def test_torch_export_round_trip(name: str) -> None:
    assert check_export(name, exporters=("torch.export",)) == {"torch.export": None}


@pytest.mark.parametrize("name", [name if name in FAST_ONNX else pytest.param(name, marks=pytest.mark.slow)
                                  for name in NAMES])
def test_onnx_round_trip_or_declared(name: str) -> None:
    measured = check_export(name)
    assert bool(measured["onnx"]) == bool(actlab.get(name).export_limits.get("onnx"))


def test_fast_subset_covers_each_kind_of_module() -> None:
    specs = [actlab.get(name) for name in FAST_ONNX]
    assert {spec.kind for spec in specs} == {"elementwise", "vector", "grouped"}
    assert {actlab.nn.create(spec).impl for spec in specs} == {"native", "reference"}
    assert any(spec.learnable_params for spec in specs) and any(spec.sample for spec in specs)
    assert any(spec.export_limits for spec in specs)


def test_a_stale_declaration_fails() -> None:
    relu = dataclasses.replace(actlab.get("relu"), export_limits={"onnx": "thought not to export"})
    with pytest.raises(AssertionError, match="relu: onnx round-trips, but the record declares"):
        check_export(relu)
    stale = dataclasses.replace(actlab.get("gelu"), export_limits={"torch.export": "thought not to trace"})
    with pytest.raises(AssertionError, match="remove the stale export_limits entry"):
        check_export(stale, exporters=("torch.export",))


def test_an_undeclared_failure_fails_naming_the_missing_op() -> None:
    undeclared = dataclasses.replace(actlab.get("bent_identity"), export_limits={})
    with pytest.raises(AssertionError, match=r"bent_identity: onnx fails \(.*hypot.*declare why in the record"):
        check_export(undeclared)


def test_unknown_exporter_is_refused() -> None:
    with pytest.raises(ValueError, match="export_limits keys"):
        dataclasses.replace(actlab.get("relu"), export_limits={"tflite": "no"})
    with pytest.raises(ValueError, match="exporters must be among"):
        round_trip("relu", exporters=("tflite",))


@pytest.mark.parametrize("formula", FORMULAS, ids=["exp-log", "trig", "gates", "piecewise"])
def test_formula_activations_export(formula: str) -> None:
    assert check_export(formula) == {"torch.export": None, "onnx": None}


def test_formulas_cover_every_function_of_the_language() -> None:
    used = " ".join(FORMULAS)
    assert [name for name in FUNCTIONS if f"{name}(" not in used] == []


def test_sample_input_covers_kinks_and_tails() -> None:
    x = sample_input("hardshrink")  # kinks at ±lambd = ±0.5
    row = set(x[0].tolist())
    for value in (-0.5, 0.5, 0.5 - 1e-3, 0.5 + 1e-3, 0.0, -100.0, 100.0):
        assert any(abs(v - value) < 1e-6 for v in row), value
    assert x.dtype == torch.float32 and x.shape[0] == 3 and not torch.equal(x[0], x[1])
    assert sample_input("maxout").shape[1] % 2 == 0
    assert sample_input("log(x)").min() > 0  # inside the formula's domain


def test_mismatch_is_relative_and_strict_about_nan_and_inf() -> None:
    one = torch.tensor([1.0, float("inf"), float("nan"), 1000.0])
    assert mismatch(one.clone(), one) is None
    assert mismatch(torch.tensor([1.0, float("inf"), float("nan"), 1000.0 * (1 + 0.5 * TOLERANCE)]), one) is None
    assert "relative error" in mismatch(torch.tensor([1.0 + 3 * TOLERANCE, float("inf"), float("nan"), 1000.0]), one)
    assert mismatch(torch.tensor([1.0, 1e30, float("nan"), 1000.0]), one) is not None  # finite for inf
    assert mismatch(torch.tensor([1.0, float("-inf"), float("nan"), 1000.0]), one) is not None
    assert mismatch(torch.tensor([1.0, float("inf"), 0.0, 1000.0]), one) is not None  # a number for nan
    assert "shape" in mismatch(one[:2], one)


def test_exported_onnx_has_a_dynamic_batch_and_matches_torch() -> None:
    module = actlab.nn.create("elu", alpha=0.5).eval()
    example = sample_input("elu", 2)
    model = to_onnx(module, example)
    for batch in (1, 5):
        x = torch.randn(batch, example.shape[1]) * 4
        with torch.no_grad():
            torch.testing.assert_close(run_onnx(model, x), module(x), rtol=TOLERANCE, atol=TOLERANCE)
    program = export_program(module, example)
    x = -torch.ones(4, example.shape[1])
    torch.testing.assert_close(program.module()(x), torch.full_like(x, 0.5 * (torch.e ** -1 - 1)))


def test_show_lists_export_status(capsys) -> None:
    assert main(["show", "log_sigmoid"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "torch.export ✓ · ONNX ✗ (torch's ONNX exporter writes Log(Sigmoid(x))" in out
    assert main(["show", "relu", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)["export"]
    assert status == {"torch.export": {"exports": True, "reason": ""}, "onnx": {"exports": True, "reason": ""}}


def test_show_does_not_export_or_import_onnx() -> None:
    code = ("import sys; from actlab.cli import main; code = main(['show', 'bent_identity']); "
            "print('LOADED', sorted(m for m in ('onnx', 'onnxruntime', 'onnxscript', 'torch.onnx') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "ONNX ✗" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "LOADED []"
