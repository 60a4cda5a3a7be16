"""Derivatives that agree with the forward pass everywhere (clip with low > high, powers at 0 and with a
constant exponent), reserved parameter names, nothing half-saved, huge exponents and float32 constants."""
from __future__ import annotations

import json
import math

import pytest
import torch

import actlab
from actlab import registry
from actlab.cli import main
from actlab.formula import chainrule, float32_problem, from_formula, parse
from actlab.formula.build import symbolic_stages
from actlab.formula.store import config_path
from actlab.formula.sympyfn import plan_function
from actlab.formula.torchfn import derivative_function, forward_function


@pytest.fixture(autouse=True)
def _environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ACTLAB_COMPILE", "0")
    monkeypatch.setenv("ACTLAB_CONFIG_DIR", str(tmp_path / "config"))


def derivatives(text: str, params: dict[str, float]):
    """Both derivative paths of a formula: SymPy's (run here, without the worker) and the chain rule's."""
    tree = parse(text)
    stages = list(symbolic_stages(tree, tree.params, text))
    return {"sympy": plan_function(stages[0]["plan"]), "chain rule": derivative_function(chainrule.derivative(tree))}


def autograd(text: str, xs: list[float], params: dict[str, float]) -> list[float]:
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(forward_function(parse(text))(x, **params).sum(), x)
    return grad.tolist()


CASES = [
    # clip(u, low, high) with low > high is high (torch.clamp); its derivative is high's
    ("clip(x, 2*x, -x)", {}, [1.0, 0.5, -1.0], [-1.0, -1.0, 1.0]),
    ("clip(17, exp(pi), exp(x))", {}, [-2.1, 4.0], [math.exp(-2.1), 0.0]),
    ("clip(x, 1, -1)", {}, [-3.0, 0.0, 3.0], [0.0, 0.0, 0.0]),
    ("clip(x, -1, 1)", {}, [-3.0, 0.5, 3.0], [0.0, 1.0, 0.0]),
    # powers: finite derivatives where SymPy's forms were 0/0 or 0·log(negative)
    ("x**a", {"a": 2.0}, [0.0, 1.0], [0.0, 2.0]),
    ("0**x", {}, [1.0, 2.0], [0.0, 0.0]),
    ("x**maximum(x, 17)", {}, [-2.0, -1.0], [17 * 2.0**16, 17.0]),
    ("x**(x + 2)", {}, [0.0, 1.5], [0.0, 1.5**3.5 * (math.log(1.5) + 3.5 / 1.5)]),
    ("sqrt(maximum(x, 0))", {}, [-1.0, 4.0], [0.0, 0.25]),
]


@pytest.mark.parametrize("text,params,xs,expected", CASES, ids=[c[0] for c in CASES])
def test_derivative_agrees_with_the_forward_pass(text, params, xs, expected):
    x = torch.tensor(xs, dtype=torch.float64)
    for path, derivative in derivatives(text, params).items():
        assert derivative(x, **params).tolist() == pytest.approx(expected, rel=1e-12, abs=1e-12), path
    assert autograd(text, xs, params) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_cli_eval_clip_with_low_above_high(capsys):
    assert main(["eval", "clip(x, 2*x, -x)", "--x=1", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["y"] == [-1.0] and row["dy"] == [-1.0]


@pytest.mark.parametrize("argv,expected", [
    (["eval", "x**a", "--param", "a=2", "--x=0,1", "--json"], [0.0, 2.0]),
    (["eval", "0**x", "--x=1,2", "--json"], [0.0, 0.0]),
    (["eval", "x**maximum(x, 17)", "--x=-2,-1", "--json"], [17 * 2.0**16, 17.0]),
])
def test_cli_eval_powers_have_finite_derivatives(argv, expected, capsys):
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["dy"] == pytest.approx(expected)


def test_clip_kink_where_low_crosses_high():
    # clip(17, exp(pi), exp(x)) switches from exp(pi) to exp(x) at x = pi: f' jumps there
    spec = from_formula("clip(17, exp(pi), exp(x))")
    assert any(abs(k - math.pi) < 1e-6 for k in spec.kink_points())


# ------------------------------------------------------------- names and saving
@pytest.mark.parametrize("name", ["self", "grad_output", "identifier", "spec_or_name", "measure_cost", "impl"])
def test_reserved_parameter_names_are_refused(name, capsys):
    assert main(["eval", f"x*{name}", "--param", f"{name}=2", "--x", "1"]) == 2
    err = capsys.readouterr().err
    assert f"parameter name {name!r}" in err and "reserved" in err and "Traceback" not in err


def test_define_with_a_reserved_name_saves_nothing(capsys):
    assert main(["define", "myself", "x*self", "--param", "self=1.5", "--save"]) == 2
    assert "reserved" in capsys.readouterr().err
    assert not config_path().exists() and registry.lookup("myself") is None


def test_a_bad_saved_formula_is_skipped_with_a_warning(capsys):
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"formulas": {"myself": {"formula": "x*self", "params": {"self": 1.5}},
                                             "fine_one": {"formula": "x*a", "params": {"a": 2}}}}))
    from actlab.formula.build import load_saved_formulas

    with pytest.warns(RuntimeWarning, match="skipping saved formula 'myself'.*reserved"):
        loaded = load_saved_formulas(path)
    try:
        assert loaded == ["fine_one"]
        assert main(["props", "fine_one", "--json", "--no-cost"]) == 0
        assert json.loads(capsys.readouterr().out)[0]["derivative_max"] == pytest.approx(2.0)
    finally:
        registry.unregister("fine_one")


def test_register_checks_everything_before_saving(monkeypatch):
    from actlab.formula import build

    def broken(self, **params):
        raise TypeError("kink search broke")

    monkeypatch.setattr(build._KinkFinder, "__call__", broken)
    with pytest.raises(actlab.FormulaError, match="cannot be used: TypeError: kink search broke"):
        build.register_formula("half_checked", "x*tanh(x)", save=True)
    assert not config_path().exists() and registry.lookup("half_checked") is None


# ------------------------------------------------------------- huge numbers
def test_a_huge_parameter_exponent_is_inf_not_an_error(capsys):
    assert main(["eval", "x**a", "--param", "a=1e20", "--x", "2,0.5", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["y"][1] == 0.0 and row["non_finite"]["y/0"] == "inf"


def test_a_constant_exponent_found_by_sympy_obeys_the_limit(capsys):
    assert main(["show", "x**where(x > 0, 1e20, 1e20)"]) == 2
    assert "too large" in capsys.readouterr().err


def test_constants_beyond_float32_become_inf_in_float32():
    spec = from_formula("1e308*x")
    x = torch.tensor([1.0, -1.0], dtype=torch.float32)
    assert spec.forward(x).tolist() == [math.inf, -math.inf]
    assert spec.derivative(x).tolist() == [math.inf, math.inf]


@pytest.mark.parametrize("text,problem", [
    ("1e308*x", "the number 1e308 at column 1"), ("x*4e38", "the number 4e38"),
    ("x*exp(100)", "a constant part of it"), ("x*sigmoid(x)", None), ("1e308*1e-300*x", None),
    ("where(x > 1e300, x, 0)", None),
])
def test_float32_problem_names_the_constant(text, problem):
    found = float32_problem(actlab.get(text))
    assert (found is None) if problem is None else (problem in found and "float32" in found)
    assert float32_problem(actlab.get("relu")) is None


def test_compare_refuses_a_formula_beyond_float32_before_training(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["compare", "--dataset", "digits", "--acts", "1e308*x", "--seeds", "1", "--epochs", "1",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "'1e308*x'" in err and "float32" in err and "Traceback" not in err
    assert not out.exists()
