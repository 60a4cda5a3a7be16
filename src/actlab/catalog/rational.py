"""Learnable rational activations: the safe Padé activation unit (PAU)."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from actlab.catalog._common import HE, Param
from actlab.spec import ActivationSpec

# The published initial coefficients of PAU (Molina, Schramowski & Kersting 2020): the safe rational function of
# degrees (5, 4) fitted to leaky ReLU (slope 0.01), "pade_optimized_leakyrelu" in the authors' code
# (github.com/ml-research/pau, pau/cuda/python_imp/Pade.py), numerator a0..a5 then denominator b1..b4
PAU_NUMERATOR = (3.35583603e-02, 5.05000375e-01, 1.65343934e00, 2.01001052e00, 9.31901999e-01, 1.52424124e-01)
PAU_DENOMINATOR = (3.30847488e-06, 3.98021568e00, 5.12471206e-07, 3.01830109e-01)
A_NAMES = tuple(f"a{j}" for j in range(len(PAU_NUMERATOR)))
B_NAMES = tuple(f"b{k}" for k in range(1, len(PAU_DENOMINATOR) + 1))
SOURCE = "Molina et al. 2020, the authors' leaky-ReLU fit (pade_optimized_leakyrelu in github.com/ml-research/pau)"


def _sign(v: float | Tensor) -> float | Tensor:
    return torch.sign(v) if isinstance(v, Tensor) else math.copysign(1.0, v) if v else 0.0


def _parts(x: Tensor, a: tuple, b: tuple) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """P(x), P'(x), Q(x) = 1 + Σ|b_k||x|^k and Q'(x) (the right-hand derivative at 0)."""
    p = torch.zeros_like(x) + a[-1]
    dp = torch.zeros_like(x)
    for coefficient in reversed(a[:-1]):  # Horner, derivative alongside
        dp = dp * x + p
        p = p * x + coefficient
    ax = x.abs()
    q = torch.zeros_like(x) + abs(b[-1]) if not isinstance(b[-1], Tensor) else torch.zeros_like(x) + b[-1].abs()
    dq = torch.zeros_like(x)
    for coefficient in reversed(b[:-1]):
        magnitude = coefficient.abs() if isinstance(coefficient, Tensor) else abs(coefficient)
        dq = dq * ax + q
        q = q * ax + magnitude
    # q now holds Σ_k |b_k||x|^(k−1); multiply by |x| and add 1
    dq = (dq * ax + q) * torch.where(x < 0, -torch.ones_like(x), torch.ones_like(x))
    q = 1 + q * ax
    return p, dp, q, dq


def pau(x: Tensor, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4) -> Tensor:
    p, _, q, _ = _parts(x, (a0, a1, a2, a3, a4, a5), (b1, b2, b3, b4))
    return p / q


def pau_derivative(x: Tensor, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4) -> Tensor:
    p, dp, q, dq = _parts(x, (a0, a1, a2, a3, a4, a5), (b1, b2, b3, b4))
    return (dp - (p / q) * dq) / q  # (P'Q − PQ')/Q², without forming Q² (overflow in float32)


def _d_numerator(power: int):
    def d_a(x: Tensor, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4) -> Tensor:
        _, _, q, _ = _parts(x, (a0, a1, a2, a3, a4, a5), (b1, b2, b3, b4))
        return x**power / q

    d_a.__name__ = f"pau_d_a{power}"
    return d_a


def _d_denominator(power: int):
    def d_b(x: Tensor, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4) -> Tensor:
        b = (b1, b2, b3, b4)
        p, _, q, _ = _parts(x, (a0, a1, a2, a3, a4, a5), b)
        return -(p / q) * _sign(b[power - 1]) * x.abs() ** power / q

    d_b.__name__ = f"pau_d_b{power}"
    return d_b


def pau_kinks(a0, a1, a2, a3, a4, a5, b1, b2, b3, b4) -> tuple[float, ...]:
    return (0.0,) if a0 != 0 and b1 != 0 else ()


SPECS = [
    ActivationSpec(
        name="pau",
        aliases=("PAU", "pade", "safe_pau"),
        summary="Safe Padé activation unit P(x)/(1 + Σ|b_k||x|^k), degrees 5/4, learnable, started as a leaky-ReLU fit.",
        family="rational",
        forward=pau,
        derivative=pau_derivative,
        param_derivatives={**{name: _d_numerator(j) for j, name in enumerate(A_NAMES)},
                           **{name: _d_denominator(k) for k, name in enumerate(B_NAMES, start=1)}},
        params=(
            *(Param(name, value, source=SOURCE, doc=f"numerator coefficient of x^{j} (learned)", learnable=True)
              for j, (name, value) in enumerate(zip(A_NAMES, PAU_NUMERATOR))),
            *(Param(name, value, source=SOURCE, doc=f"denominator coefficient of |x|^{k} (learned; enters as |b{k}|)",
                    learnable=True)
              for k, (name, value) in enumerate(zip(B_NAMES, PAU_DENOMINATOR), start=1)),
        ),
        formula="(a0 + a1*x + a2*x**2 + a3*x**3 + a4*x**4 + a5*x**5) / (1 + |b1|*|x| + |b2|*x**2 + |b3|*|x|**3 + |b4|*x**4)",
        derivative_formula="(P'(x) - P(x)*Q'(x)/Q(x)) / Q(x), Q'(x) = sign(x)*sum_k k*|b_k|*|x|**(k-1)",
        latex=r"\frac{\sum_{j=0}^{5} a_j x^j}{1 + \sum_{k=1}^{4} |b_k|\,|x|^k}",
        derivative_latex=r"\frac{P'(x)}{Q(x)} - \frac{P(x)\,Q'(x)}{Q(x)^2},\ Q'(x) = \operatorname{sign}(x)\sum_k k|b_k||x|^{k-1}",
        kinks=pau_kinks,
        kink_convention="f'(0) = a1 − a0·|b1| (the right-hand derivative; |x| has a corner at 0 unless a0·b1 = 0: "
                        "with the default coefficients f' jumps there by 2·a0·|b1| ≈ 2e-7)",
        init=HE,
        notes=(
            "Learns its own shape: ten scalars per layer (module(num_parameters=C) gives one set per channel); "
            "after training, actlab.analysis.plot_learned(model) draws the learned curves.",
            "'Safe': the denominator is at least 1 (absolute values of the b_k and of x), so no poles however training moves the coefficients.",
            "The default coefficients approximate leaky ReLU on [−3, 3]; beyond that f grows like (a5/|b4|)·x ≈ 0.5x, not x.",
            "Do not apply weight decay to the coefficients (it pulls the shape toward 0).",
        ),
        references=("Molina, Schramowski & Kersting, Padé Activation Units: End-to-end Learning of Flexible Activation Functions in Deep Networks, ICLR 2020",),
    ),
]
