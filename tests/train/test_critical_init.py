"""``--init critical``: each activation's hidden layers drawn on its edge of chaos."""
from __future__ import annotations

import pytest

from actlab.analysis.signal_critical import critical_init
from actlab.errors import ActlabError
from actlab.models import ModelConfig, canonical_scheme, initial_weights


def _variances(activation, init, **kw):
    weights = initial_weights(activation, (400,), 10, ModelConfig(kind="mlp", depth=2, width=800, init=init, **kw), 0)
    return [(float(w.var() * w.shape[1]), None if b is None else float(b.pow(2).mean())) for w, b in weights]


def test_critical_draws_the_critical_variances():
    (w1, b1), (w2, b2), (w_out, b_out) = _variances("tanh", "critical:0.05")
    expected = critical_init("tanh", 0.05)
    assert expected[0] == pytest.approx(1.76095, abs=1e-4)
    for w, b in ((w1, b1), (w2, b2)):
        assert w == pytest.approx(expected[0], rel=0.02) and b == pytest.approx(0.05, rel=0.15)
    assert b_out == 0.0 and w_out == pytest.approx(800 * 2 / 810, rel=0.1)  # the read-out: glorot_normal


def test_plain_critical_picks_each_activations_bias_variance():
    assert _variances("relu", "critical")[0][0] == pytest.approx(2.0, rel=0.02)
    weight, bias = critical_init("gelu")
    w, b = _variances("gelu", "critical")[1]
    assert w == pytest.approx(weight, rel=0.02) and b == pytest.approx(bias, rel=0.15)


def test_critical_per_activation_and_with_bias_init():
    assert _variances("relu", "glorot,relu=critical")[0][0] == pytest.approx(2.0, rel=0.02)
    assert _variances("tanh", "critical", bias_init=0.1)[0][1] == pytest.approx(0.01)


def test_bad_critical_inits_are_named():
    with pytest.raises(ActlabError, match="not a number"):
        canonical_scheme("critical:x")
    with pytest.raises(ActlabError, match="did you mean critical"):
        canonical_scheme("critcal")
    with pytest.raises(ActlabError, match="softplus has no edge of chaos"):
        _variances("softplus", "critical")
