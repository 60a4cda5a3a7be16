"""Each screen rule with a function that fails it and one that passes; the normalisation against closed forms."""
from __future__ import annotations

import math

import pytest

from actlab.errors import ActlabError
from actlab.search import screen


def verdict(rule: str, formula: str, context: dict | None = None) -> screen.Verdict:
    return screen.RULES[rule](screen.probe(formula, {}), {} if context is None else context)


@pytest.mark.parametrize(("rule", "good", "bad"), [
    ("finite", "tanh(x)", "exp(x**2)"),  # exp(50²) overflows float32
    ("not_constant", "x", "sign(x)"),  # sign' = 0 everywhere
    ("no_dead_region", "relu(x)", "relu(x - 1)"),  # ReLU: flat on exactly half; shifted: on 84 %
    ("bounded_gain", "relu(x)", "x**3"),  # cube: unit variance repels (slope 3, 3^20 > 1e4)
])
def test_rule_passes_and_fails(rule: str, good: str, bad: str) -> None:
    assert verdict(rule, good).passed
    failed = verdict(rule, bad)
    assert not failed.passed and failed.detail


def test_dead_fraction_matches_the_normal_cdf() -> None:
    # relu(x - 1) is flat for x < 1: Φ(1) = 0.8413 of N(0, 1)
    value = verdict("no_dead_region", "relu(x - 1)").value
    assert value == pytest.approx(0.5 * math.erfc(-1 / math.sqrt(2)), abs=2e-3)


def test_bounded_gain_catches_a_vanishing_gradient() -> None:
    # sigmoid at τ = 1/E σ(z)²: χ = τ E σ'(z)² ≈ 0.15, so χ^20 ≈ 1e-17 < 1e-4
    failed = verdict("bounded_gain", "sigmoid(x)")
    assert not failed.passed and "vanishes" in failed.detail
    # relu at He init (τ = 2): χ = 2 · 1/2 = 1 exactly
    assert verdict("bounded_gain", "relu(x)").value == pytest.approx(1.0, rel=1e-6)


def test_distinct_refuses_a_numerically_equal_function() -> None:
    context: dict = {}
    assert verdict("distinct", "2*x", context).passed
    assert verdict("distinct", "maximum(x, 0)", context).passed
    assert not verdict("distinct", "x + x", context).passed
    assert not verdict("distinct", "relu(x)", context).passed
    assert verdict("distinct", "3*x", context).passed  # a scaled copy is another function


def test_normalised_has_zero_mean_and_unit_variance() -> None:
    text = screen.normalised("relu(x)", {})
    mean = 1 / math.sqrt(2 * math.pi)
    std = math.sqrt(0.5 - 1 / (2 * math.pi))
    probe = screen.probe(text, {})
    import numpy as np

    x = np.array([-1.0, 0.0, 2.0])
    assert probe.f(x) == pytest.approx((np.maximum(x, 0) - mean) / std, rel=1e-7)
    assert screen.normalised("0*x + 1", {}) is None  # Var f = 0


def test_rule_names() -> None:
    assert screen.rule_names(None) == list(screen.RULES)
    assert screen.rule_names("none") == []
    assert screen.rule_names("-distinct") == [r for r in screen.RULES if r != "distinct"]
    with pytest.raises(ActlabError, match="did you mean finite"):
        screen.rule_names("finit")


def test_run_screen_stops_at_the_first_failure() -> None:
    found = screen.run_screen("sign(x)", {}, list(screen.RULES), {})
    assert list(found) == ["finite", "not_constant"] and not found["not_constant"].passed
