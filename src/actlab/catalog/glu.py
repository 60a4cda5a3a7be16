"""The gated linear units: out = act(gate) ⊗ value on a pre-activation split into two halves.

The layer before a gated unit outputs ``2h`` features; the unit splits the last dimension into a **value**
half (the first ``h``) and a **gate** half (the last ``h``), as ``torch.nn.functional.glu`` and
``keras.activations.glu`` do, and returns ``h`` features ``value · act(gate)``.  The five records differ only in
the gate's activation: sigmoid (GLU, Dauphin et al. 2017), ReLU (ReGLU), GELU (GEGLU), Swish/SiLU (SwiGLU) and
the identity (bilinear) — Shazeer 2020.  ``derivative`` is the diagonal of the Jacobian in the input's shape
(∂y_i/∂value_i = act(gate_i), ∂y_i/∂gate_i = value_i · act′(gate_i)); ``vjp`` / ``jvp`` are the exact products.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from actlab.catalog._common import GLOROT, HE
from actlab.spec import ActivationSpec

FAMILY = "gated linear unit"
INV_SQRT_2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

DAUPHIN = "Dauphin, Fan, Auli & Grangier, Language Modeling with Gated Convolutional Networks, ICML 2017"
SHAZEER = "Shazeer, GLU Variants Improve Transformer, arXiv:2002.05202, 2020"
HALVES_NOTE = ("The layer before outputs 2h features: the first h are the value, the last h the gate (the order of "
               "torch.nn.functional.glu and keras.activations.glu); the output has h features.")
FFN_NOTE = ("In a transformer FFN, Shazeer (2020) cuts the hidden width from 4d to 8/3·d so the gated block has the "
            "parameters of the plain one (actlab compare --match params does this).")


def halves(x: Tensor) -> tuple[Tensor, Tensor]:
    """(value, gate): the first and last half of the last dimension (which must be even)."""
    if x.shape[-1] % 2:
        raise ValueError(f"a gated unit splits the last dimension in two halves; it has odd size {x.shape[-1]}")
    value, gate = x.chunk(2, dim=-1)
    return value, gate


def _gelu(x: Tensor) -> Tensor:
    return 0.5 * x * torch.erfc(-x * INV_SQRT_2)


def _gelu_derivative(x: Tensor) -> Tensor:
    return 0.5 * torch.erfc(-x * INV_SQRT_2) + x * torch.exp(-0.5 * x * x) * INV_SQRT_2PI


def _silu_derivative(x: Tensor) -> Tensor:
    s = torch.sigmoid(x)
    return s + x * s * (1 - s)


# gate activation → (act, act′); act′(0) for ReLU is 0, as torch's relu backward
GATES = {
    "glu": (torch.sigmoid, lambda g: torch.sigmoid(g) * (1 - torch.sigmoid(g))),
    "reglu": (torch.relu, lambda g: (g > 0).to(g.dtype)),
    "geglu": (_gelu, _gelu_derivative),
    "swiglu": (lambda g: g * torch.sigmoid(g), _silu_derivative),
    "bilinear": (lambda g: g, torch.ones_like),
}


def _forward(name: str):
    act = GATES[name][0]

    def forward(x: Tensor) -> Tensor:
        value, gate = halves(x)
        return value * act(gate)

    forward.__name__ = name
    return forward


def _diagonal(name: str):
    act, slope = GATES[name]

    def diagonal(x: Tensor) -> Tensor:
        value, gate = halves(x)
        return torch.cat([act(gate), value * slope(gate)], dim=-1)

    return diagonal


def _vjp(name: str):
    act, slope = GATES[name]

    def vjp(x: Tensor, grad: Tensor) -> Tensor:
        value, gate = halves(x)
        return torch.cat([grad * act(gate), grad * value * slope(gate)], dim=-1)

    return vjp


def _jvp(name: str):
    act, slope = GATES[name]

    def jvp(x: Tensor, tangent: Tensor) -> Tensor:
        value, gate = halves(x)
        t_value, t_gate = halves(tangent)
        return t_value * act(gate) + value * slope(gate) * t_gate

    return jvp


def _native_glu(x: Tensor) -> Tensor:
    return F.glu(x, dim=-1)


def _native_reglu(x: Tensor) -> Tensor:
    value, gate = x.chunk(2, dim=-1)
    return value * F.relu(gate)


def _native_geglu(x: Tensor) -> Tensor:
    value, gate = x.chunk(2, dim=-1)
    return value * F.gelu(gate)


def _native_swiglu(x: Tensor) -> Tensor:
    value, gate = x.chunk(2, dim=-1)
    return value * F.silu(gate)


def _native_bilinear(x: Tensor) -> Tensor:
    value, gate = x.chunk(2, dim=-1)
    return value * gate


def _glu_module() -> torch.nn.Module:
    return torch.nn.GLU(dim=-1)


def _record(name: str, aliases: tuple[str, ...], summary: str, gate: str, gate_latex: str, slope: str,
            slope_latex: str, native, notes: tuple[str, ...], references: tuple[str, ...], init=HE,
            torch_module=None, kinks: tuple[float, ...] = (), kink_convention: str = "") -> ActivationSpec:
    return ActivationSpec(
        name=name,
        aliases=aliases,
        summary=summary,
        family=FAMILY,
        kind="gated",
        forward=_forward(name),
        derivative=_diagonal(name),
        vjp=_vjp(name),
        jvp=_jvp(name),
        native=native,
        torch_module=torch_module,
        formula=f"value * {gate}, [value, gate] = x",
        derivative_formula=f"d/d value = {gate}; d/d gate = value * {slope}",
        latex=rf"v \otimes {gate_latex},\quad [v, g] = x",
        derivative_latex=rf"\partial_v = {gate_latex},\quad \partial_g = v\,{slope_latex}",
        init=init,
        kinks=kinks,
        kink_convention=kink_convention,
        notes=(HALVES_NOTE, *notes),
        references=references,
    )


SPECS = [
    _record("glu", ("GLU",), "Gated linear unit value·σ(gate): half the inputs gate the other half (Dauphin et al. 2017).",
            "sigmoid(gate)", r"\sigma(g)", "sigmoid(gate)*(1 - sigmoid(gate))", r"\sigma(g)(1 - \sigma(g))",
            _native_glu, ("The gate is in (0, 1): a soft switch on each value unit; the gradient path through the "
                          "value is linear (no vanishing through the value half).",),
            (DAUPHIN, SHAZEER), init=GLOROT, torch_module=_glu_module),
    _record("reglu", ("ReGLU",), "ReLU-gated linear unit value·relu(gate) (Shazeer 2020).",
            "relu(gate)", r"\max(0, g)", "step(gate)", r"\mathbb{1}[g > 0]", _native_reglu,
            (FFN_NOTE,), (SHAZEER,), kinks=(0.0,),
            kink_convention="at gate = 0 the gate's derivative is 0 (torch's relu backward)"),
    _record("geglu", ("GEGLU",), "GELU-gated linear unit value·GELU(gate) (Shazeer 2020).",
            "gelu(gate)", r"g\,\Phi(g)", "Phi(gate) + gate*phi(gate)", r"(\Phi(g) + g\,\varphi(g))",
            _native_geglu, (FFN_NOTE, "The gate's GELU is the exact erf form (torch.nn.functional.gelu)."), (SHAZEER,)),
    _record("swiglu", ("SwiGLU",), "Swish-gated linear unit value·silu(gate): the FFN of LLaMA and PaLM (Shazeer 2020).",
            "silu(gate)", r"g\,\sigma(g)", "s + gate*s*(1 - s), s = sigmoid(gate)", r"(\sigma(g) + g\,\sigma(g)(1 - \sigma(g)))",
            _native_swiglu, (FFN_NOTE, "LLaMA's MLP is down(silu(gate_proj(x)) * up_proj(x)): the same unit with the "
                                       "two halves as two Linear layers (β = 1, as torch.nn.SiLU)."), (SHAZEER,)),
    _record("bilinear", ("Bilinear", "bilinear_glu"), "Bilinear unit value·gate: a GLU with no non-linearity on the gate (Shazeer 2020).",
            "gate", "g", "1", "1", _native_bilinear,
            (FFN_NOTE, "Quadratic in its input: the only non-linearity is the product of the two halves."),
            (SHAZEER, "Mnih & Hinton, Three new graphical models for statistical language modelling, ICML 2007"),
            init=GLOROT),
]
