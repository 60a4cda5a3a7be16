"""The public conformance checker (actlab.testing) over the whole catalog, and what it catches."""
from __future__ import annotations

import dataclasses

import pytest
import torch

import actlab
from actlab.testing import CHECKS, check_spec, parametrize_with_checks

CATALOG = [s for s in actlab.all_specs() if s.source == "catalog"]


@parametrize_with_checks(CATALOG)
def test_catalog_conformance(spec, check):
    check(spec)


def test_formulas_pass_the_same_checks():
    assert "gradcheck" in check_spec("x*tanh(softplus(x))")
    assert "kinks" in check_spec("where(x > 0, x, 0.1*x)")


def test_a_wrong_derivative_is_caught():
    gelu = actlab.get("gelu")
    broken = dataclasses.replace(gelu, name="broken_gelu", derivative=lambda x: gelu.derivative(x) * 1.01)
    with pytest.raises(AssertionError, match="derivative_vs_autograd"):
        check_spec(broken)


def test_a_wrong_kink_value_is_caught():
    relu = actlab.get("relu")
    broken = dataclasses.replace(relu, name="broken_relu",
                                 derivative=lambda x: torch.where(x == 0, torch.full_like(x, 0.5), relu.derivative(x)))
    with pytest.raises(AssertionError, match="kinks"):
        check_spec(broken)


def test_an_overflowing_forward_is_caught():
    softplus = actlab.get("softplus")
    naive = dataclasses.replace(softplus, name="naive_softplus",
                                forward=lambda x, beta, threshold: torch.log(1 + torch.exp(beta * x)) / beta)
    with pytest.raises(AssertionError, match="finite_at_extremes"):
        check_spec(naive)


def test_ids_name_spec_and_check():
    mark = parametrize_with_checks(["relu"])
    ids = mark.kwargs["ids"]
    assert "relu-gradcheck" in ids and len(ids) == len([c for c in CHECKS if c.applies(actlab.get("relu"))])
