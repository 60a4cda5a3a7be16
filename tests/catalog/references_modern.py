"""Independent 30-digit mpmath references for the transformer-era and Keras-parity records.

Written from the papers' formulas (not from the catalog code); the learnable records take the effective
coefficients through the same parameterisation the papers use (xIELU: softplus of the raw values).
"""
from __future__ import annotations

import mpmath as mp

mp.mp.dps = 30


def _relu(x):
    return max(mp.mpf(0), x)


def _softplus(v):
    return mp.log(1 + mp.exp(v))


def _xielu(x, alpha_p, alpha_n, beta, eps):
    ap = _softplus(alpha_p)
    an = beta + _softplus(alpha_n)
    if x > 0:
        return ap * x**2 + beta * x
    return an * (mp.expm1(min(x, eps)) - x) + beta * x


def _pau(x, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4):
    numerator = sum(c * x**j for j, c in enumerate((a0, a1, a2, a3, a4, a5)))
    denominator = 1 + sum(abs(c) * abs(x) ** k for k, c in enumerate((b1, b2, b3, b4), start=1))
    return numerator / denominator


def _sparse_plus(x):
    if x <= -1:
        return mp.mpf(0)
    return x if x >= 1 else (x + 1) ** 2 / 4


MODERN_REFERENCES = {
    "relu2": lambda x: _relu(x) ** 2,
    "star_relu": lambda x, s, b: s * _relu(x) ** 2 + b,
    "xielu": _xielu,
    "poly_relu": lambda x, a0, a1, a2, a3: a0 + a1 * _relu(x) + a2 * _relu(x) ** 2 + a3 * _relu(x) ** 3,
    "snake": lambda x, alpha: x + mp.sin(alpha * x) ** 2 / alpha,
    "siren": lambda x, omega_0: mp.sin(omega_0 * x),
    "smish": lambda x: x * mp.tanh(mp.log(1 + 1 / (1 + mp.exp(-x)))),
    "squareplus": lambda x, b: (x + mp.sqrt(x**2 + b)) / 2,
    "sparse_plus": _sparse_plus,
    "sparse_sigmoid": lambda x: min(max((x + 1) / 2, mp.mpf(0)), mp.mpf(1)),
    "threshold": lambda x, threshold, value: x if x > threshold else value,
    "pau": _pau,
}
