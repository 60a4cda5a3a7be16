"""Formula activations: parsing limits, values vs NumPy float64, derivatives, kinks, domain, safety, registry."""
from __future__ import annotations

import ast
import builtins
import contextlib
import math
import time  # the 1 s limits below are on this process's CPU time: the machine is shared (see test_formula_bounds)
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import erf as np_erf
from scipy.special import expit

import actlab
from actlab import compile_policy, registry
from actlab import fused as fused_mod
from actlab.errors import ActlabError
from actlab.formula import (
    FormulaError,
    from_formula,
    load_saved_formulas,
    parse,
    register_formula,
    torchfn,
)
from actlab.formula.store import config_path
from actlab.nn import create


@pytest.fixture(autouse=True)
def _environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ACTLAB_COMPILE", "0")  # compile only in the slow test
    monkeypatch.setenv("ACTLAB_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture
def cleanup():
    names: list[str] = []
    yield names
    for name in names:
        if registry.lookup(name) is not None:
            registry.unregister(name)


X = np.concatenate([np.linspace(-6, 6, 97), [-0.3, 0.7, 2.5, -20.0, 20.0]])
X = X[np.abs(X) > 1e-3]  # away from the kink at 0

# formula, params, float64 NumPy reference
EXAMPLES = [
    ("sign(x)*x**2", {}, lambda x: np.sign(x) * x**2),
    ("x*sigmoid(1.702*x)", {}, lambda x: x * expit(1.702 * x)),
    ("cos(x)", {}, np.cos),
    ("x + log(1 + x**2)", {}, lambda x: x + np.log1p(x**2)),
    ("where(x > 0, x, a*(exp(x) - 1))", {"a": 1.0}, lambda x: np.where(x > 0, x, np.expm1(x))),
    ("where(x > 0, x, a*(exp(x) - 1))", {"a": 0.5}, lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    ("0.5*x*(1 + tanh(0.7978845608*(x + 0.044715*x**3)))", {},
     lambda x: 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))),
    ("x*sigmoid(x)", {}, lambda x: x * expit(x)),
    ("x*tanh(softplus(x))", {}, lambda x: x * np.tanh(np.logaddexp(0, x))),
    ("x*(1 + erf(x/sqrt(2)))/2", {}, lambda x: x * (1 + np_erf(x / np.sqrt(2))) / 2),
    ("clip(x, -1, 2)", {}, lambda x: np.clip(x, -1, 2)),
    ("maximum(x, 0.1*x)", {}, lambda x: np.maximum(x, 0.1 * x)),
    ("minimum(x, b)", {"b": 1.5}, lambda x: np.minimum(x, 1.5)),
    ("relu(x)**2", {}, lambda x: np.maximum(x, 0) ** 2),
    ("abs(x)", {}, np.abs),
    ("x", {}, lambda x: x),
    ("arctan(x) + sinh(x/8) - cosh(x/8) + erfc(x)", {}, lambda x: np.arctan(x) + np.sinh(x / 8) - np.cosh(x / 8) + 1 - np_erf(x)),
    ("log1p(x**2) + expm1(-abs(x)) + pi*e", {}, lambda x: np.log1p(x**2) + np.expm1(-np.abs(x)) + np.pi * np.e),
    ("2**(x/4) - x**-2 + x**0.5*0", {}, None),  # checked against torch below (x**0.5 is NaN for x < 0)
]


def _spec(text, params):
    return from_formula(text, params)


@pytest.mark.parametrize("text,params,reference", [e for e in EXAMPLES if e[2] is not None], ids=lambda v: v if isinstance(v, str) else "")
def test_values_match_float64_reference(text, params, reference):
    spec = _spec(text, params)
    assert spec.source == "formula" and spec.expression == text and spec.kind == "elementwise"
    x = torch.tensor(X, dtype=torch.float64)
    y = spec.forward(x, **spec.resolve())
    np.testing.assert_allclose(y.numpy(), reference(X), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("text,params,reference", EXAMPLES, ids=lambda v: v if isinstance(v, str) else "")
def test_symbolic_derivative_matches_autograd(text, params, reference):
    spec = _spec(text, params)
    assert not any("torch.autograd" in note for note in spec.notes)  # SymPy's derivative was translated
    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    y = spec.forward(x, **spec.resolve())
    (expected,) = torch.autograd.grad(y.sum(), x)
    got = spec.derivative(x.detach(), **spec.resolve())
    finite = torch.isfinite(expected) & torch.isfinite(y.detach())
    for kink in spec.kink_points():  # the conventions at kinks differ (torch.maximum splits ties)
        finite &= (x.detach() - kink).abs() > 1e-6
    torch.testing.assert_close(got[finite], expected[finite], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("text,params", [(e[0], e[1]) for e in EXAMPLES[:10]], ids=str)
def test_gradcheck_through_the_module_function(text, params):
    spec = _spec(text, params)
    x = torch.tensor([-2.3, -0.7, 0.4, 1.9], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: create(spec)(t), (x,))


@pytest.mark.parametrize("text,params,reference", EXAMPLES[:10], ids=lambda v: v if isinstance(v, str) else "")
def test_derivative_formula_is_a_formula_with_the_same_values(text, params, reference):
    spec = _spec(text, params)
    again = from_formula(spec.derivative_formula, params if any(p in spec.derivative_formula for p in params) else {})
    x = torch.tensor(X, dtype=torch.float64)
    torch.testing.assert_close(again(x), spec.derivative(x, **spec.resolve()))
    assert spec.latex and spec.derivative_latex


def test_silu_derivative_against_numpy():
    spec = from_formula("x*sigmoid(x)")
    s = expit(X)
    got = spec.derivative(torch.tensor(X), **{}).numpy()
    np.testing.assert_allclose(got, s * (1 + X * (1 - s)), rtol=1e-12)


def test_stable_at_extremes_float32():
    x = torch.tensor([-1000.0, -90.0, 0.0, 90.0, 1000.0])
    for text in ["x*sigmoid(x)", "x*tanh(softplus(x))", "softplus(x)", "0.5*x*(1 + tanh(0.7978845608*(x + 0.044715*x**3)))"]:
        spec = from_formula(text)
        assert torch.isfinite(spec.forward(x)).all(), text
        assert torch.isfinite(spec.derivative(x)).all(), text


def test_dtype_device_and_tensor_params():
    spec = from_formula("where(x > 0, x, a*(exp(x) - 1))", {"a": 1.0})
    x32 = torch.linspace(-3, 3, 7)
    assert spec.forward(x32, a=1.0).dtype == torch.float32
    assert spec.derivative(x32.double(), a=1.0).dtype == torch.float64
    y = spec.forward(x32, a=torch.tensor(2.0, dtype=torch.float64))
    assert y.dtype == torch.float32
    torch.testing.assert_close(y, torch.where(x32 > 0, x32, 2 * torch.expm1(x32)))
    assert spec.derivative(torch.zeros(2, 3)).shape == (2, 3) if not spec.params else True
    constant = from_formula("2*x + 1")
    assert constant.derivative(torch.zeros(2, 3, dtype=torch.float64)).shape == (2, 3)
    assert constant.derivative(torch.zeros(2, 3, dtype=torch.float64)).dtype == torch.float64


def test_params_defaults_and_get():
    spec = actlab.get("where(x > 0, x, a*(exp(x) - 1))", a=1.0)
    (param,) = spec.params
    assert (param.name, param.default, param.source) == ("a", 1.0, "formula")
    assert math.isinf(param.low) and math.isinf(param.high)
    assert spec.with_params(a=0.5)(torch.tensor([-1.0])).item() == pytest.approx(0.5 * math.expm1(-1))
    with pytest.raises(FormulaError, match="'b' does not appear"):
        actlab.get("x*sigmoid(x)", b=1.0)
    assert actlab.get("x*sigmoid(x)") is actlab.get("x*sigmoid(x)")  # cached


# ------------------------------------------------------------------ kinks
@pytest.mark.parametrize(
    "text,params,kinks",
    [
        ("abs(x)", {}, (0.0,)),
        ("sign(x)", {}, (0.0,)),
        ("relu(x - 1)", {}, (1.0,)),
        ("maximum(x, 0.1*x)", {}, (0.0,)),
        ("minimum(x, 2)", {}, (2.0,)),
        ("clip(x, -1, 2)", {}, (-1.0, 2.0)),
        ("where(x > a, x, 0)", {"a": 0.3}, (0.3,)),
        ("where(x > 0, x, a*(exp(x) - 1))", {"a": 2.0}, (0.0,)),
        ("where(x > 0, x, a*(exp(x) - 1))", {"a": 1.0}, ()),  # ELU with alpha = 1 is C^1
        ("sign(x)*x**2", {}, ()),  # x|x| is differentiable at 0
        ("abs(x**2 - 4)", {}, (-2.0, 2.0)),
        ("x*sigmoid(x)", {}, ()),
    ],
    ids=str,
)
def test_kinks(text, params, kinks):
    spec = from_formula(text, params)
    assert spec.kink_points() == pytest.approx(kinks, abs=1e-9)
    if kinks:
        assert spec.kink_convention


def test_kinks_follow_parameters():
    spec = from_formula("where(x > a, x, 0)", {"a": 0.3})
    assert spec.kink_points(a=-1.5) == pytest.approx((-1.5,))
    assert "branch its condition selects" in spec.kink_convention
    assert "sign(0) = 0" in from_formula("abs(x)").kink_convention


def test_sign_is_not_trainable():
    assert from_formula("sign(x)").trainable is False
    assert from_formula("x*sigmoid(x)").trainable is True


# ----------------------------------------------------------------- domain
@pytest.mark.parametrize(
    "text,domain",
    [
        ("log(x)", (0.0, math.inf)),
        ("sqrt(x)", (0.0, math.inf)),
        ("x**0.5", (0.0, math.inf)),
        ("sqrt(1 - x**2)", (-1.0, 1.0)),
        ("1/x", (0.0, math.inf)),
        ("log1p(x)", (-1.0, math.inf)),
        ("exp(x**2)", (-math.inf, math.inf)),  # overflow is not a domain problem
        ("x*sigmoid(x)", (-math.inf, math.inf)),
        ("where(x > 0, log(x), 0)", (-math.inf, math.inf)),
    ],
)
def test_domain(text, domain):
    spec = from_formula(text)
    assert spec.domain == pytest.approx(domain, abs=1e-9)
    if domain != (-math.inf, math.inf):
        assert any("domain" in note for note in spec.notes)


def test_nan_everywhere_does_not_crash():
    spec = from_formula("log(-1 - x**2)")
    assert torch.isnan(spec.forward(torch.tensor([0.0, 1.0]))).all()
    spec.kink_points()
    spec.describe()


# ------------------------------------------------------------- rejections
REJECTED = [
    ("x.__class__", "__class__"),
    ("x.__class__.__bases__[0].__subclasses__()", "__subclasses__"),
    ("__import__('os')", "__import__"),
    ("__import__('os').system('echo hi')", ".system"),
    ("lambda: 1", "lambda"),
    ("(lambda t: t)(x)", "lambda"),
    ("x[0]", "x[0]"),
    ("x*sigmod(x)", "sigmod"),
    ("where(x > 0, x, a*(exp(x) - 1))", "'a'"),
    ("x**9**9**9", "**"),
    ("x**17", "**"),
    ("x + " * 150 + "x", "too long"),
    ("sin(" * 40 + "x" + ")" * 40, "nested too deeply"),
    ("-" * 60 + "x", "nested too deeply"),
    ("x*(1 + ", "syntax error"),
    ("x % 2", "'%'"),
    ("x ^ 2", "'^'"),
    ("x if x > 0 else 0", "where("),
    ("x > 0", "x > 0"),
    ("where(x, 1, 0)", "comparison"),
    ("where(0 < x < 1, 1, 0)", "chained"),
    ("exp", "exp"),
    ("exp(x, 2)", "exp"),
    ("exp(x=1)", "x="),
    ("exp(*x)", "*x"),
    ("1j*x", "1j"),
    ("'x'", "'x'"),
    ("x and 1", "and"),
    ("not x", "not"),
    ("~x", "~"),
    ("[x]", "[x]"),
    ("open('/tmp/f', 'w')", "open"),
    ("_hidden*x", "_hidden"),
    ("x + 1e999", "1e999"),
    ("x + log(0)", "log(0)"),
    ("x\u00e9", "\u00e9"),
    ("eval('1')", "eval"),
    ("x is 1", "is"),
    ("(x := 2)", ":="),
    ("", "empty"),
]


@pytest.mark.parametrize("text,token", REJECTED, ids=[r[0][:30] for r in REJECTED])
def test_rejections_name_the_token_quickly(text, token):
    start = time.process_time()
    with pytest.raises(FormulaError) as caught:
        from_formula(text)
    assert time.process_time() - start < 1.0
    message = str(caught.value)
    assert token in message, message
    assert isinstance(caught.value, ActlabError)
    if token not in ("too long", "empty"):
        assert "column" in message, message


def test_messages():
    with pytest.raises(FormulaError, match=r"did you mean sigmoid"):
        from_formula("x*sigmod(x)")
    with pytest.raises(FormulaError, match=r"unbound name 'a' at column 17; pass it with --param a=VALUE"):
        from_formula("where(x > 0, x, a*(exp(x) - 1))")
    with pytest.raises(FormulaError) as caught:
        from_formula("x**9**9**9")
    assert caught.value.column == 5 and caught.value.token == "**"  # 9**(9**9): its exponent 9**9 is too big
    with pytest.raises(FormulaError, match="column 7"):
        from_formula("x + (x.real)")
    for text in ("x/0", "log(0*x)", "x/(x - x)", "tanh(x) + 1/(2*x - x - x)", "where(x > 0, x, 0*log(0*x))"):
        with pytest.raises(FormulaError, match="divides by zero or takes log"):
            from_formula(text)
    assert from_formula("x*0").forward(torch.ones(2)).tolist() == [0.0, 0.0]  # zero is fine


def test_big_powers_and_simplify_stay_fast():
    for text in ["((1 + x)**16)**16", "(((x**16)**16)**16)**16", "sin(x)**16*cos(x)**16*tanh(x)**16*exp(x)**16",
                 "2**x**x", "x**x", "((1+x)**16 - (1-x)**16)**16"]:
        start = time.process_time()
        spec = from_formula(text)
        spec.forward(torch.linspace(-2, 2, 5))
        assert time.process_time() - start < 1.0, text


# --------------------------------------------------------- hypothesis fuzz
TOKENS = [
    "x", "x", "a", "1", "2.5", "0", "9", "1e308", "pi", "e", "+", "-", "*", "/", "**", "(", "(", ")", ")", ",",
    "exp(", "log(", "sqrt(", "sigmoid(", "tanh(", "abs(", "sign(", "relu(", "where(", "clip(", "maximum(",
    "x > 0,", " < ", "==", " ", "sigmod(", "__import__(", "'os'", ".__class__", "[0]", "lambda:", "open(",
    "eval(", "exec(", "compile(", "globals()", " if ", " else ", ";", "\n", "\u00e9", "9**9**9", "**9**9",
    "_sentinel_hit()", "builtins", ".system(", "@", "%", "//", "{", "}", ":", "=", "*x", "**a",
]

SENTINEL = {"touched": False}


def _sentinel_hit():  # pragma: no cover - must never run
    SENTINEL["touched"] = True


@contextlib.contextmanager
def _no_code_execution(text: str):
    """Within the block, eval/exec/compile of source that contains the formula text (or the
    sentinel) raise, and a sentinel builtin records any call.  ast.parse's syntax-tree-only
    compile is allowed; SymPy's own generated code (polys monomials, lazy imports) is not user text."""
    real = builtins.eval, builtins.exec, builtins.compile
    text = text.strip()

    def check(source):
        if isinstance(source, bytes):
            source = source.decode("utf-8", "replace")
        if isinstance(source, str) and ("_sentinel_hit" in source or (len(text) >= 3 and text in source)):
            SENTINEL["touched"] = True
            raise AssertionError(f"code execution attempted: {source[:80]!r}")

    def guarded_eval(source, *args, **kwargs):
        check(source)
        return real[0](source, *args, **kwargs)

    def guarded_exec(source, *args, **kwargs):
        check(source)
        return real[1](source, *args, **kwargs)

    def guarded_compile(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:
            check(source)
        return real[2](source, filename, mode, flags, *args, **kwargs)

    builtins.eval, builtins.exec, builtins.compile = guarded_eval, guarded_exec, guarded_compile
    builtins._sentinel_hit = _sentinel_hit
    try:
        yield
    finally:
        builtins.eval, builtins.exec, builtins.compile = real
        del builtins._sentinel_hit
    assert not SENTINEL["touched"]


def _check_formula(text: str) -> None:
    start = time.process_time()
    try:
        with _no_code_execution(text):
            names = parse(text).params
            spec = from_formula(text, {name: 0.7 for name in names})
    except FormulaError:
        assert time.process_time() - start < 1.0, text
        return
    x = torch.tensor([-2.0, -0.5, 0.0, 0.3, 1.7], dtype=torch.float64)
    with warnings.catch_warnings(), _no_code_execution(text):
        warnings.simplefilter("ignore")
        y = spec.forward(x, **spec.resolve())
        dy = spec.derivative(x, **spec.resolve())
    assert y.shape == x.shape and dy.shape == x.shape and y.dtype == torch.float64
    assert not any("torch.autograd" in note for note in spec.notes), text
    assert time.process_time() - start < 1.0, text


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=24).map("".join))
def test_fuzz_token_soup(text):
    _check_formula(text)


def _valid_formulas():
    leaves = st.sampled_from(["x", "x", "a", "1", "2", "0.5", "3", "pi"])
    unary = ["exp", "log", "log1p", "expm1", "sqrt", "abs", "sign", "sin", "cos", "tan", "tanh", "sinh", "cosh",
             "arctan", "erf", "erfc", "sigmoid", "softplus", "relu"]

    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(inner, st.sampled_from(["2", "3", "0.5", "-1", "x", "a"])).map(lambda t: f"({t[0]})**{t[1]}"),
            st.tuples(st.sampled_from(unary), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(["maximum", "minimum"]), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            st.tuples(inner, st.sampled_from(["<", ">", "<=", ">="]), inner, inner, inner).map(
                lambda t: f"where({t[0]} {t[1]} {t[2]}, {t[3]}, {t[4]})"),
            st.tuples(inner, inner).map(lambda t: f"clip({t[0]}, -1, {t[1]})"),
            inner.map(lambda t: f"-{t}"),
        )

    return st.recursive(leaves, extend, max_leaves=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(_valid_formulas())
def test_fuzz_valid_grammar(text):
    _check_formula(text)


# ----------------------------------------------------------------- modules
def test_module_in_sequential_trains():
    torch.manual_seed(0)
    spec = from_formula("x*sigmoid(a*x)", {"a": 1.702})
    model = torch.nn.Sequential(torch.nn.Linear(2, 32), create(spec), torch.nn.Linear(32, 1))
    x = torch.randn(256, 2)
    target = (x[:, :1] * x[:, 1:]).sin()
    optimiser = torch.optim.Adam(model.parameters(), lr=0.02)
    first = None
    for _ in range(150):
        optimiser.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), target)
        loss.backward()
        optimiser.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.5 * first


def test_module_saves_only_the_input():
    spec = from_formula("0.5*x*(1 + tanh(0.7978845608*(x + 0.044715*x**3)))")
    saved = []
    x = torch.randn(1000, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        y = create(spec)(x)
    assert len(saved) == 1 and saved[0].numel() == 1000
    y.sum().backward()
    torch.testing.assert_close(x.grad, spec.derivative(x.detach()))


# ------------------------------------------------------------- compilation
def test_compile_failure_falls_back_once(monkeypatch):
    monkeypatch.setenv("ACTLAB_COMPILE", "1")
    monkeypatch.setattr(fused_mod, "MIN_NUMEL", 0)
    monkeypatch.setattr(compile_policy, "_WARNED", set())

    def broken_compile(fn, **kwargs):
        def run(*args, **kw):
            raise OSError("no C++ compiler found")
        return run

    monkeypatch.setattr(torchfn.torch, "compile", broken_compile)
    fused = torchfn.Fused(torchfn.forward_function(parse("x*sigmoid(x)")), "test_fallback")
    x = torch.randn(10)
    with pytest.warns(RuntimeWarning, match="torch.compile failed"):
        y = fused(x)
    torch.testing.assert_close(y, x * torch.sigmoid(x))
    other = torchfn.Fused(torchfn.forward_function(parse("x*tanh(x)")), "test_fallback_2")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the notice is given once per process
        torch.testing.assert_close(other(x), x * torch.tanh(x))
        fused(x)
    assert fused._failed


def test_compile_switch_and_small_inputs(monkeypatch):
    calls = []
    monkeypatch.setattr(torchfn.torch, "compile", lambda fn, **kw: calls.append(fn) or fn)
    fused = torchfn.Fused(torchfn.forward_function(parse("x*sigmoid(x)")), "test_switch")
    big = torch.randn(fused_mod.MIN_NUMEL)
    fused(big)  # ACTLAB_COMPILE=0 from the fixture
    fused(torch.randn(10))
    assert not calls
    monkeypatch.setenv("ACTLAB_COMPILE", "1")
    fused(torch.randn(10))  # too small to be worth compiling
    assert not calls
    fused(big)
    assert len(calls) == 1 and calls[0].__name__ == "test_switch"


def test_real_errors_are_not_hidden_by_the_fallback(monkeypatch):
    monkeypatch.setenv("ACTLAB_COMPILE", "1")
    monkeypatch.setattr(fused_mod, "MIN_NUMEL", 0)
    monkeypatch.setattr(torchfn.torch, "compile", lambda fn, **kw: fn)
    fused = torchfn.Fused(torchfn.forward_function(parse("x*a")), "test_errors")
    with pytest.raises(RuntimeError):
        fused(torch.randn(4), a=torch.randn(3))
    assert not fused._failed


@pytest.mark.slow
def test_compiled_equals_eager(monkeypatch):
    monkeypatch.setenv("ACTLAB_COMPILE", "1")
    spec = from_formula("where(x > 0, x, a*expm1(x)) + x*sigmoid(x)", {"a": 0.5})
    x = torch.randn(fused_mod.MIN_NUMEL * 2)
    g = torch.randn_like(x)
    torch.testing.assert_close(spec.forward(x, a=0.5), spec.forward.eager(x, a=0.5), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(spec.vjp(x, g, a=0.5), spec.vjp.eager(x, g, a=0.5), rtol=1e-6, atol=1e-6)
    assert not spec.forward._failed and spec.forward._compiled is not None


# ---------------------------------------------------------- registration
def test_register_formula_save_and_load(cleanup):
    cleanup.append("my_swish")
    spec = register_formula("my_swish", "x*sigmoid(b*x)", {"b": 1.5}, save=True)
    assert actlab.get("my_swish") is spec and actlab.get("MY_SWISH").resolve() == {"b": 1.5}
    path = config_path()
    assert path.exists() and "my_swish" in path.read_text()
    registry.unregister("my_swish")
    assert registry.lookup("my_swish") is None
    assert load_saved_formulas() == ["my_swish"]
    again = actlab.get("my_swish", b=2.0)
    assert again.expression == "x*sigmoid(b*x)" and again.resolve() == {"b": 2.0}
    # re-registering a formula name replaces it; a catalog name is refused
    register_formula("my_swish", "x*tanh(x)")
    with pytest.raises(ActlabError, match="catalog"):
        register_formula("relu", "x")


def test_broken_config_warns_and_names_the_file(cleanup):
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.warns(RuntimeWarning, match=str(path).replace("\\", "\\\\")):
        assert load_saved_formulas() == []
    path.write_text('{"formulas": {"bad_one": {"formula": "x.__class__"}, "good_one": {"formula": "x*x"}}}')
    cleanup.extend(["bad_one", "good_one"])
    with pytest.warns(RuntimeWarning, match="bad_one"):
        assert load_saved_formulas() == ["good_one"]


def test_missing_config_is_fine():
    assert load_saved_formulas() == []
