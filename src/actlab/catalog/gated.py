"""Self-gated activations x·g(x): GELU (erf and tanh forms), quick GELU, SiLU/swish, hard swish, mish."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from actlab.catalog import _native
from actlab.catalog._common import HE, SQRT_2, SQRT_2_OVER_PI, positive
from actlab.spec import ActivationSpec

FAMILY = "gated"

GELU_TANH_COEFFICIENT = 0.044715  # Hendrycks & Gimpel 2016
QUICK_GELU_SCALE = 1.702  # Hendrycks & Gimpel 2016, used by OpenAI CLIP
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def gelu(x: Tensor) -> Tensor:
    return x * 0.5 * torch.erfc(-x / SQRT_2)


def gelu_derivative(x: Tensor) -> Tensor:
    cdf = 0.5 * torch.erfc(-x / SQRT_2)
    pdf = torch.exp(-0.5 * x * x) * INV_SQRT_2PI
    return cdf + x * pdf


def gelu_tanh(x: Tensor) -> Tensor:
    inner = SQRT_2_OVER_PI * (x + GELU_TANH_COEFFICIENT * x * x * x)
    return 0.5 * x * (1 + torch.tanh(inner))


def gelu_tanh_derivative(x: Tensor) -> Tensor:
    # beyond |x| = 20, 1 - tanh² is exactly 0 in float64; clamping keeps x³ finite
    xc = torch.clamp(x, -20.0, 20.0)
    inner = SQRT_2_OVER_PI * (xc + GELU_TANH_COEFFICIENT * xc * xc * xc)
    t = torch.tanh(inner)
    slope = SQRT_2_OVER_PI * (1 + 3 * GELU_TANH_COEFFICIENT * xc * xc)
    return 0.5 * (1 + torch.tanh(SQRT_2_OVER_PI * (x + GELU_TANH_COEFFICIENT * x * x * x))) + 0.5 * xc * (1 - t * t) * slope


def quick_gelu(x: Tensor) -> Tensor:
    return x * torch.sigmoid(QUICK_GELU_SCALE * x)


def quick_gelu_derivative(x: Tensor) -> Tensor:
    s = torch.sigmoid(QUICK_GELU_SCALE * x)
    return s + QUICK_GELU_SCALE * x * s * (1 - s)


def silu(x: Tensor, beta: float) -> Tensor:
    return x * torch.sigmoid(beta * x)


def silu_derivative(x: Tensor, beta: float) -> Tensor:
    s = torch.sigmoid(beta * x)
    return s + beta * x * s * (1 - s)


def hard_swish(x: Tensor) -> Tensor:
    return x * torch.clamp(x + 3, 0.0, 6.0) / 6


def hard_swish_derivative(x: Tensor) -> Tensor:
    middle = x / 3 + 0.5
    return torch.where(x <= -3, torch.zeros_like(x), torch.where(x < 3, middle, torch.ones_like(x)))


def mish(x: Tensor) -> Tensor:
    return x * torch.tanh(torch.nn.functional.softplus(x))


def mish_derivative(x: Tensor) -> Tensor:
    t = torch.tanh(torch.nn.functional.softplus(x))
    return t + x * (1 - t * t) * torch.sigmoid(x)


SPECS = [
    ActivationSpec(
        name="gelu",
        aliases=("GELU", "gelu_erf"),
        summary="Gaussian error linear unit x·Φ(x) (exact erf form): the Transformer default.",
        family=FAMILY,
        forward=gelu,
        derivative=gelu_derivative,
        native=_native.gelu,
        torch_module=_native.gelu_module,
        formula="x * (1 + erf(x / sqrt(2))) / 2",
        derivative_formula="Phi(x) + x*phi(x)",
        latex=r"x\,\Phi(x) = \frac{x}{2}\left(1 + \mathrm{erf}\frac{x}{\sqrt 2}\right)",
        derivative_latex=r"\Phi(x) + x\,\varphi(x)",
        init=HE,
        notes=(
            "The default in Transformers (BERT, GPT): a smooth, non-monotonic ReLU that weights inputs by how likely they are to be positive.",
            "Slightly non-monotonic: minimum ≈ −0.17 at x ≈ −0.75.",
        ),
        references=("Hendrycks & Gimpel, Gaussian Error Linear Units (GELUs), 2016",),
        expected={"monotonic": False, "zero_at_origin": True, "smooth": True},
    ),
    ActivationSpec(
        name="gelu_tanh",
        aliases=("gelu_new", "gelu_approximate"),
        summary="GELU's tanh approximation 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) (GPT-2's 'gelu_new').",
        family=FAMILY,
        forward=gelu_tanh,
        derivative=gelu_tanh_derivative,
        native=_native.gelu_tanh,
        torch_module=_native.gelu_tanh_module,
        formula="0.5*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3)))",
        derivative_formula="0.5*(1 + tanh(u)) + 0.5*x*(1 - tanh(u)**2)*sqrt(2/pi)*(1 + 3*0.044715*x**2), u = sqrt(2/pi)*(x + 0.044715*x**3)",
        latex=r"\tfrac{x}{2}\left(1 + \tanh\left(\sqrt{2/\pi}\,(x + 0.044715x^3)\right)\right)",
        derivative_latex=r"\tfrac12(1 + \tanh u) + \tfrac{x}{2}\,\mathrm{sech}^2 u\,\sqrt{2/\pi}\,(1 + 0.134145x^2)",
        init=HE,
        notes=("Matches torch.nn.functional.gelu(approximate='tanh'); within 5e-4 of exact GELU.",),
        references=("Hendrycks & Gimpel, Gaussian Error Linear Units (GELUs), 2016",),
        expected={"monotonic": False, "zero_at_origin": True, "smooth": True},
    ),
    ActivationSpec(
        name="quick_gelu",
        aliases=("QuickGELU",),
        summary="x·σ(1.702x): the sigmoid approximation of GELU (used by CLIP).",
        family=FAMILY,
        forward=quick_gelu,
        derivative=quick_gelu_derivative,
        formula="x * sigmoid(1.702*x)",
        derivative_formula="s + 1.702*x*s*(1 - s), s = sigmoid(1.702*x)",
        latex=r"x\,\sigma(1.702x)",
        derivative_latex=r"\sigma(1.702x) + 1.702x\,\sigma(1.702x)(1 - \sigma(1.702x))",
        init=HE,
        notes=("Cheaper than erf GELU; used in OpenAI's CLIP.",),
        references=("Hendrycks & Gimpel, Gaussian Error Linear Units (GELUs), 2016", "Radford et al., CLIP, 2021"),
        expected={"monotonic": False, "zero_at_origin": True},
    ),
    ActivationSpec(
        name="silu",
        aliases=("swish", "SiLU", "swish1"),
        summary="Sigmoid linear unit / swish x·σ(βx) (β = 1: SiLU).",
        family=FAMILY,
        forward=silu,
        derivative=silu_derivative,
        native=_native.silu,
        torch_module=_native.silu_module,
        params=(positive("beta", 1.0, "β = 1 is SiLU (Elfwing et al. 2017; torch.nn.SiLU); Ramachandran et al. 2017 allow a trainable β", "gate sharpness; β → ∞ approaches ReLU"),),
        formula="x * sigmoid(beta*x)",
        derivative_formula="s + beta*x*s*(1 - s), s = sigmoid(beta*x)",
        latex=r"x\,\sigma(\beta x)",
        derivative_latex=r"\sigma(\beta x) + \beta x\,\sigma(\beta x)(1 - \sigma(\beta x))",
        init=HE,
        notes=("Found by automated search to match or beat ReLU in deep nets (EfficientNet, many CNNs); smooth and non-monotonic.",),
        references=(
            "Elfwing, Uchibe & Doya, Sigmoid-Weighted Linear Units for Neural Network Function Approximation in RL, 2017",
            "Ramachandran, Zoph & Le, Searching for Activation Functions, 2017",
        ),
        expected={"monotonic": False, "zero_at_origin": True, "smooth": True},
    ),
    ActivationSpec(
        name="hard_swish",
        aliases=("hardswish", "Hardswish", "hard_silu"),
        summary="x·relu6(x + 3)/6: a piecewise-quadratic swish for mobile nets.",
        family=FAMILY,
        forward=hard_swish,
        derivative=hard_swish_derivative,
        native=_native.hard_swish,
        torch_module=_native.hard_swish_module,
        formula="x * min(max(x + 3, 0), 6) / 6",
        derivative_formula="0 if x <= -3 else (x/3 + 1/2 if x < 3 else 1)",
        latex=r"x\,\frac{\mathrm{ReLU6}(x + 3)}{6}",
        derivative_latex=r"\begin{cases} 0 & x \le -3 \\ x/3 + 1/2 & -3 < x < 3 \\ 1 & x \ge 3 \end{cases}",
        kinks=(-3.0, 3.0),
        kink_convention="f'(−3) = 0 and f'(3) = 1 (the outer pieces), as PyTorch's hardswish backward",
        init=HE,
        notes=("Piecewise quadratic (not piecewise linear, as Keras's docs say of hard_silu); f is C0 with derivative jumps at ±3.",),
        references=("Howard et al., Searching for MobileNetV3, ICCV 2019",),
        expected={"monotonic": False, "zero_at_origin": True, "continuous": True, "differentiable": False},
    ),
    ActivationSpec(
        name="mish",
        aliases=("Mish",),
        summary="x·tanh(softplus(x)): smooth, non-monotonic, self-regularising.",
        family=FAMILY,
        forward=mish,
        derivative=mish_derivative,
        native=_native.mish,
        torch_module=_native.mish_module,
        formula="x * tanh(softplus(x))",
        derivative_formula="tanh(sp) + x*(1 - tanh(sp)**2)*sigmoid(x), sp = softplus(x)",
        latex=r"x \tanh(\log(1 + e^x))",
        derivative_latex=r"\tanh(\mathrm{sp}(x)) + x\,\mathrm{sech}^2(\mathrm{sp}(x))\,\sigma(x)",
        init=HE,
        notes=("Used in YOLOv4; similar to swish with a slightly deeper negative bump.",),
        references=("Misra, Mish: A Self Regularized Non-Monotonic Activation Function, BMVC 2020",),
        expected={"monotonic": False, "zero_at_origin": True, "smooth": True},
    ),
]
