"""Independent high-precision references for the catalog, written apart from it.

Each reference is an mpmath function of one real ``x`` (and keyword parameters);
derivatives come from ``mpmath.diff`` (numerical differentiation at 30 digits), so
they share nothing with the catalog's analytic derivatives.
"""
from __future__ import annotations

import mpmath as mp
from references_modern import MODERN_REFERENCES

mp.mp.dps = 30

# published SELU constants (Klambauer et al. 2017), typed here independently of the catalog
SELU_LAMBDA = mp.mpf("1.0507009873554804934193349852946")
SELU_ALPHA = mp.mpf("1.6732632423543772848170429916717")


def _sigmoid(x):
    return 1 / (1 + mp.exp(-x))


def _softplus(x):
    return mp.log(1 + mp.exp(x))


def _clip(x, lo, hi):
    return min(max(x, lo), hi)


REFERENCES = {
    "identity": lambda x: x,
    "relu": lambda x: max(mp.mpf(0), x),
    "relu6": lambda x: _clip(x, 0, 6),
    "leaky_relu": lambda x, alpha: x if x > 0 else alpha * x,
    "prelu": lambda x, alpha: x if x > 0 else alpha * x,
    "rrelu": lambda x, lower, upper: x if x > 0 else (lower + upper) / 2 * x,
    "elu": lambda x, alpha: x if x > 0 else alpha * (mp.exp(x) - 1),
    "celu": lambda x, alpha: max(mp.mpf(0), x) + min(mp.mpf(0), alpha * (mp.exp(x / alpha) - 1)),
    "selu": lambda x: SELU_LAMBDA * (x if x > 0 else SELU_ALPHA * (mp.exp(x) - 1)),
    "softplus": lambda x, beta, threshold: x if beta * x > threshold else _softplus(beta * x) / beta,
    "binary_step": lambda x: mp.mpf(1) if x >= 0 else mp.mpf(0),
    "sigmoid": _sigmoid,
    "hard_sigmoid": lambda x: _clip(x / 6 + mp.mpf(1) / 2, 0, 1),
    "log_sigmoid": lambda x: -mp.log(1 + mp.exp(-x)),
    "tanh": mp.tanh,
    "hard_tanh": lambda x, min_val, max_val: _clip(x, min_val, max_val),
    "softsign": lambda x: x / (1 + abs(x)),
    "arctan": mp.atan,
    "gelu": lambda x: x / 2 * (1 + mp.erf(x / mp.sqrt(2))),
    "gelu_tanh": lambda x: x / 2 * (1 + mp.tanh(mp.sqrt(2 / mp.pi) * (x + mp.mpf("0.044715") * x**3))),
    "quick_gelu": lambda x: x * _sigmoid(mp.mpf("1.702") * x),
    "silu": lambda x, beta: x * _sigmoid(beta * x),
    "hard_swish": lambda x: x * _clip(x + 3, 0, 6) / 6,
    "mish": lambda x: x * mp.tanh(_softplus(x)),
    "softshrink": lambda x, lambd: x - lambd if x > lambd else (x + lambd if x < -lambd else mp.mpf(0)),
    "hardshrink": lambda x, lambd: x if abs(x) > lambd else mp.mpf(0),
    "tanhshrink": lambda x: x - mp.tanh(x),
    "bent_identity": lambda x: (mp.sqrt(x**2 + 1) - 1) / 2 + x,
    "square": lambda x: x**2,
    "signed_square": lambda x: mp.sign(x) * x**2,
    "cube": lambda x: x**3,
    "sin": mp.sin,
    "cos": mp.cos,
    "sinc": lambda x: mp.mpf(1) if x == 0 else mp.sin(x) / x,
    "gaussian": lambda x: mp.exp(-(x**2)),
    "exponential": mp.exp,
}
REFERENCES.update(MODERN_REFERENCES)


def value(name: str, x: float, **params) -> mp.mpf:
    return REFERENCES[name](mp.mpf(x), **{k: mp.mpf(v) for k, v in params.items()})


def derivative(name: str, x: float, direction: int = 0, **params) -> mp.mpf:
    """d/dx of the reference at x (one-sided when ``direction`` is ±1)."""
    fn = REFERENCES[name]
    mparams = {k: mp.mpf(v) for k, v in params.items()}
    return mp.diff(lambda t: fn(t, **mparams), mp.mpf(x), direction=direction)
