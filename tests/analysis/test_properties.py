"""The computed property table: closed forms (independent mpmath references), catalog conformance, CLI."""
from __future__ import annotations

import json
import math

import mpmath
import pytest

import actlab
from actlab.analysis import FIELDS, Properties, properties
from actlab.analysis.gaussian import expectation, moments
from actlab.cli import main

mpmath.mp.dps = 30
ALL = actlab.all_specs()


def props(name: str, **params) -> Properties:
    return properties(name, measure_cost=False, **params)


def normal_expectation(g, breakpoints=(0,)) -> float:
    """E g(Z), Z ~ N(0, 1), by mpmath quadrature split at ``breakpoints`` (an independent reference)."""
    pdf = lambda t: mpmath.exp(-t * t / 2) / mpmath.sqrt(2 * mpmath.pi)  # noqa: E731
    points = [-mpmath.inf, *sorted(breakpoints), mpmath.inf]
    return float(mpmath.quad(lambda t: g(t) * pdf(t), points))


# ---------------------------------------------------------------- closed forms
def test_relu_moments_closed_form():
    p = props("relu")
    assert p.gaussian_mean == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-9)
    assert p.gaussian_second_moment == pytest.approx(0.5, rel=1e-9)
    assert p.gaussian_variance == pytest.approx(0.5 - 1 / (2 * math.pi), rel=1e-9)
    assert p.gaussian_mean_derivative == pytest.approx(0.5, rel=1e-9)
    assert p.sparsity == pytest.approx(0.5, abs=1e-12)


def test_tanh_sigmoid_means():
    assert props("tanh").gaussian_mean == pytest.approx(0.0, abs=1e-12)
    assert props("sigmoid").gaussian_mean == pytest.approx(0.5, abs=1e-12)
    reference = normal_expectation(lambda t: mpmath.tanh(t) ** 2)
    assert props("tanh").gaussian_second_moment == pytest.approx(reference, rel=1e-8)


def test_gelu_mean_is_one_over_two_root_pi():
    p = props("gelu")
    assert p.gaussian_mean == pytest.approx(1 / (2 * math.sqrt(math.pi)), rel=1e-9)
    reference = normal_expectation(lambda t: (t * mpmath.ncdf(t)) ** 2)
    assert p.gaussian_second_moment == pytest.approx(reference, rel=1e-8)


def test_selu_is_self_normalizing_at_its_published_fixed_point():
    p = props("selu")
    assert abs(p.gaussian_mean) < 1e-4 and abs(p.gaussian_variance - 1) < 1e-4
    assert p.self_normalizing is True
    lam, alpha = mpmath.mpf("1.0507009873554804934193349852946"), mpmath.mpf("1.6732632423543772848170429916717")
    selu = lambda t: lam * (t if t > 0 else alpha * (mpmath.exp(t) - 1))  # noqa: E731
    assert p.gaussian_mean == pytest.approx(normal_expectation(selu), abs=1e-9)
    assert p.gaussian_second_moment == pytest.approx(normal_expectation(lambda t: selu(t) ** 2), rel=1e-8)
    assert props("elu").self_normalizing is False


@pytest.mark.parametrize(
    "name, reference, breaks",
    [
        ("softplus", lambda t: mpmath.log1p(mpmath.exp(t)), (0,)),
        ("mish", lambda t: t * mpmath.tanh(mpmath.log1p(mpmath.exp(t))), (0,)),
        ("elu", lambda t: t if t > 0 else mpmath.expm1(t), (0,)),
        ("hardshrink", lambda t: t if abs(t) > 0.5 else 0, (-0.5, 0.5)),
        ("sinc", lambda t: mpmath.sinc(t), (0,)),
        ("exponential", lambda t: mpmath.exp(t), (0,)),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_gaussian_moments_against_mpmath(name, reference, breaks):
    p = props(name)
    assert p.gaussian_mean == pytest.approx(normal_expectation(reference, breaks), rel=1e-7, abs=1e-12)
    assert p.gaussian_second_moment == pytest.approx(normal_expectation(lambda t: reference(t) ** 2, breaks), rel=1e-7)


def test_sparsity_of_exact_zero_sets():
    assert props("relu6").sparsity == pytest.approx(0.5, abs=1e-12)
    assert props("binary_step").sparsity == pytest.approx(0.5, abs=1e-12)
    assert props("hardshrink").sparsity == pytest.approx(float(mpmath.erf(0.5 / mpmath.sqrt(2))), abs=1e-10)
    assert props("hard_swish").sparsity == pytest.approx(float(mpmath.ncdf(-3)), abs=1e-10)
    assert props("sigmoid").sparsity == 0.0
    assert props("gelu_tanh").sparsity == 0.0  # float64 underflow below −6.4 is not a zero interval


def test_dead_regions():
    assert props("relu").dead_region is True
    assert props("leaky_relu").dead_region is False
    assert props("hard_tanh").dead_region is True
    assert props("sigmoid").dead_region is False
    assert props("tanh").dead_region is False  # 1 − tanh² underflows to 0 beyond 19: not dead


def test_saturation():
    sig = props("sigmoid")
    # σ'(x) = 1 % of σ'(0) = 1/400  ⇔  x = ±2·acosh(10) (solved with mpmath)
    x = float(mpmath.findroot(lambda t: mpmath.exp(-t) / (1 + mpmath.exp(-t)) ** 2 - mpmath.mpf(1) / 400, 6))
    assert sig.saturation_high == pytest.approx(x, rel=1e-9)
    assert sig.saturation_low == pytest.approx(-x, rel=1e-9)
    relu = props("relu")
    assert relu.saturation_low == 0.0 and relu.saturation_high is None  # dead half-line counts as saturated
    assert props("relu6").saturation_high == 6.0
    assert props("identity").saturation_low is None


def test_continuity_and_kinks():
    assert props("hardshrink").continuous is False
    assert props("binary_step").continuous is False
    assert props("relu").kinks == (0.0,) and props("relu").differentiable is False
    assert props("hard_sigmoid").kinks == (-3.0, 3.0)
    assert props("celu").differentiable is True and props("celu").smooth is False  # C¹, not C²
    assert props("elu").smooth is False and props("elu", alpha=0.5).differentiable is False
    assert props("signed_square").differentiable is True and props("signed_square").smooth is False
    assert props("gelu").smooth is True and props("softplus").smooth is True


def test_ranges_and_derivatives():
    gelu = props("gelu")
    # min of xΦ(x): root of Φ(x) + xφ(x) = 0
    x0 = mpmath.findroot(lambda t: mpmath.ncdf(t) + t * mpmath.npdf(t), -0.75)
    assert gelu.range_min == pytest.approx(float(x0 * mpmath.ncdf(x0)), rel=1e-9)
    assert gelu.argmax_derivative == pytest.approx(math.sqrt(2), abs=1e-6)
    assert props("arctan").range_max == pytest.approx(math.pi / 2, rel=1e-11)
    assert props("relu").range_max == math.inf
    assert props("square").derivative_min == -math.inf and props("square").exploding_risk is True
    assert props("sigmoid").derivative_max == pytest.approx(0.25, rel=1e-12)
    assert props("sigmoid").vanishing_risk is True and props("tanh").vanishing_risk is False
    assert props("hard_swish").derivative_max == pytest.approx(1.5, rel=1e-9)
    assert props("tanh").identity_near_origin is True and props("relu").identity_near_origin is False


def test_params_change_the_table():
    assert props("leaky_relu", alpha=0.2).derivative_min == pytest.approx(0.2)
    assert props("hard_tanh", min_val=-2.0, max_val=3.0).range_max == 3.0


def test_vector_and_grouped_kinds_do_not_crash():
    for name, like in (("softmax", "sigmoid"), ("log_softmax", "log_sigmoid"), ("maxout", "relu")):
        p, q = props(name), props(like)
        assert p.notes and "scalar slice" in p.notes[0]
        assert p.gaussian_mean == pytest.approx(q.gaussian_mean, abs=1e-10)
        assert p.range_min == q.range_min and p.range_max == q.range_max


def test_gaussian_module_is_reusable():
    m = moments("relu", mean=1.0, std=2.0)
    reference = normal_expectation(lambda t: max(1 + 2 * t, 0), (-0.5,))
    assert m.mean == pytest.approx(reference, rel=1e-9)
    assert float(expectation(lambda x: x**4)) == pytest.approx(3.0, rel=1e-12)
    with pytest.raises(actlab.ActlabError):
        moments("softmax")


# -------------------------------------------------------- catalog conformance
@pytest.mark.parametrize("spec", ALL, ids=[s.name for s in ALL])
def test_catalog_expected_properties(spec):
    computed = properties(spec, measure_cost=False).to_dict()
    for key, stated in spec.expected.items():
        assert key in FIELDS, f"{spec.name}: expected states unknown property {key!r}"
        value = computed[key]
        if isinstance(stated, float) and isinstance(value, float):
            assert value == pytest.approx(stated, rel=1e-9, abs=1e-12), f"{spec.name}.{key}"
        else:
            assert value == stated, f"{spec.name}.{key}: catalog says {stated!r}, computed {value!r}"


def test_json_keys_exact():
    d = properties("relu", measure_cost=False).to_dict()
    assert list(d) == ["name", *FIELDS, "notes"]
    assert set(FIELDS) == {
        "range_min", "range_max", "monotonic", "continuous", "differentiable", "kinks", "smooth",
        "zero_at_origin", "identity_near_origin", "derivative_min", "derivative_max", "argmax_derivative",
        "bounded_derivative", "vanishing_risk", "exploding_risk", "saturation_low", "saturation_high",
        "dead_region", "sparsity", "gaussian_mean", "gaussian_second_moment", "gaussian_variance",
        "gaussian_mean_derivative", "self_normalizing", "relative_cost", "relative_cost_spread",
    }
    json.dumps(d)


def test_relative_cost_is_measured():
    p = properties("relu")
    assert p.relative_cost is not None and 0 < p.relative_cost < float("inf")  # measured (its value is load-dependent)
    assert p.relative_cost_spread is not None and p.relative_cost_spread >= 0


# ------------------------------------------------------------------- formulas
def test_formula_activation():
    pytest.importorskip("actlab.formula")
    p = props("x**2")
    assert p.gaussian_mean == pytest.approx(1.0, rel=1e-9)
    assert p.gaussian_second_moment == pytest.approx(3.0, rel=1e-9)
    assert p.monotonic is False and p.exploding_risk is True


@pytest.mark.parametrize("formula", ["log(x)", "sqrt(x)", "1/x"])
def test_domain_problem_formulas_do_not_crash(formula):
    pytest.importorskip("actlab.formula")
    try:
        p = props(formula)
    except actlab.ActlabError:
        return  # the formula module may reject it outright: also no crash
    assert isinstance(p.to_dict(), dict)
    if p.gaussian_mean is None:
        assert p.notes


# ------------------------------------------------------------------------ CLI
def test_cli_props_json(capsys):
    assert main(["props", "relu", "tanh", "--json", "--no-cost"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["relu", "tanh"]
    assert [k for k in rows[0] if k != "non_finite"] == ["name", *FIELDS, "notes"]
    assert rows[0]["range_max"] is None and rows[0]["non_finite"]["range_max"] == "inf"  # strict JSON convention


def test_cli_props_sort_and_params(capsys):
    assert main(["props", "relu", "sigmoid", "tanh", "--json", "--no-cost", "--sort", "derivative_max"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["sigmoid", "relu", "tanh"] or rows[0]["name"] == "sigmoid"
    assert main(["props", "leaky_relu", "--json", "--no-cost", "--param", "alpha=0.3"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["derivative_min"] == pytest.approx(0.3)


def test_cli_props_table_and_errors(capsys):
    assert main(["props", "--no-cost"]) == 0
    out = capsys.readouterr().out
    assert "relu" in out and "softsign" in out
    assert main(["props", "relu", "--sort", "sparsty"]) == 2
    assert "did you mean sparsity" in capsys.readouterr().err
    assert main(["props", "relu_typo"]) == 2


def test_show_includes_properties(capsys):
    assert main(["show", "relu", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["properties"]["sparsity"] == pytest.approx(0.5)


# ---------------------------------------------------------- hostile formulas
def test_tanh_as_a_formula_has_its_derivative_bounds():
    # the table evaluates the eager torch functions: the compiled kernel of 1 - sinh²/cosh² on the grid's 140 000
    # points gave f'_min = -inf, so the table called tanh's derivative unbounded (null in JSON)
    from actlab.formula import from_formula

    spec = from_formula("sinh(x)/cosh(x)", symbolic_seconds=5.0)
    p = props(spec)
    assert p.derivative_min == pytest.approx(0.0, abs=1e-12) and p.derivative_max == pytest.approx(1.0)
    assert p.bounded_derivative is True and p.exploding_risk is False
    assert p.saturation_low == pytest.approx(-p.saturation_high)


@pytest.mark.parametrize("formula", ["tan(x)", "sqrt(abs(x))", "where(x > 0, sqrt(x), 0)"])
def test_a_derivative_peak_between_grid_points_has_no_saturation(formula, capsys):
    # the largest |f'| lies between grid points (or is a spike at one): no grid point is "live"
    assert main(["props", formula, "--json", "--no-cost"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["name"] == formula and row["derivative_max"] is not None


def test_a_section_past_its_budget_is_answered_with_a_note():
    from actlab.analysis.compute import _compute

    spec = actlab.get("gelu")
    full = _compute(spec, spec.resolve())
    assert full.gaussian_mean is not None and not any("budget" in note for note in full.notes)
    starved = _compute(spec, spec.resolve(), seconds=1e-9)
    assert starved.gaussian_mean is None and starved.range_min is None
    assert any("could not evaluate f and f' on the grid within the budget" in note for note in starved.notes)


@pytest.mark.parametrize("formula", ["log(erfc(x))", "x-1e308", "x*sigmoid(1e308*x)", "sin(1e16*x)",
                                     "abs(sin(1e6*x))"])
def test_hostile_formulas_are_answered_within_the_budget(formula):
    # each ran for minutes; now every group of fields has its share of PROPERTY_SECONDS (CPU time)
    import time

    from actlab.analysis.fields import PROPERTY_SECONDS
    from actlab.formula import from_formula

    spec = from_formula(formula)
    start = time.thread_time()
    p = props(spec)
    used = time.thread_time() - start
    assert used < PROPERTY_SECONDS + 2.0, f"{formula}: {used:.2f} s of CPU time"
    assert isinstance(p.to_dict(), dict)
    unanswered = [f for f in FIELDS if getattr(p, f) is None and f not in ("relative_cost", "relative_cost_spread")]
    if unanswered:
        assert p.notes, f"{formula}: fields {unanswered} left null without a note"
