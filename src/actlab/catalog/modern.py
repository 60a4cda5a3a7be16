"""Activations of the transformer era and the Keras 3 / PyTorch parity set: squared ReLU, StarReLU, xIELU,
PolyReLU, snake, SIREN's sine, smish, squareplus, sparse plus, sparse sigmoid, threshold."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from actlab.catalog import _native
from actlab.catalog._common import GLOROT, HE, LECUN, Init, Param, positive
from actlab.spec import ActivationSpec

# StarReLU's constants (Yu et al. 2022, MetaFormer Baselines, sec. 3.1): for x ~ N(0, 1), E[relu(x)²] = 1/2 and
# Var[relu(x)²] = 5/4, so s = 1/√(5/4) and b = −(1/2)/√(5/4) give outputs of mean 0 and variance 1; the paper
# prints them to four digits, and those printed values are the defaults
STAR_RELU_SCALE = 0.8944
STAR_RELU_BIAS = -0.4472

# xIELU's initial values (Huang & Schlag 2024; the Apertus / HF transformers XIELUActivation defaults): the
# effective coefficients are αp = softplus(alpha_p) and αn = β + softplus(alpha_n), so the stored (raw)
# parameters start at softplus⁻¹(0.8) and softplus⁻¹(0.8 − β)
XIELU_ALPHA_P = 0.8
XIELU_ALPHA_N = 0.8
XIELU_BETA = 0.5
XIELU_EPS = -1e-6
SIREN_OMEGA_0 = 30.0  # Sitzmann et al. 2020, sec. 3.2


def _inverse_softplus(y: float) -> float:
    return math.log(math.expm1(y))


def _softplus(v: float | Tensor) -> float | Tensor:
    if isinstance(v, Tensor):
        return torch.nn.functional.softplus(v)
    return v + math.log1p(math.exp(-v)) if v > 0 else math.log1p(math.exp(v))


def _sigmoid(v: float | Tensor) -> float | Tensor:
    if isinstance(v, Tensor):
        return torch.sigmoid(v)
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


# ------------------------------------------------------------ squared relu
def relu2(x: Tensor) -> Tensor:
    r = torch.clamp_min(x, 0.0)
    return r * r


def relu2_derivative(x: Tensor) -> Tensor:
    return 2 * torch.clamp_min(x, 0.0)


def star_relu(x: Tensor, s: float | Tensor, b: float | Tensor) -> Tensor:
    r = torch.clamp_min(x, 0.0)
    return s * r * r + b


def star_relu_derivative(x: Tensor, s: float | Tensor, b: float | Tensor) -> Tensor:
    return 2 * s * torch.clamp_min(x, 0.0)


def star_relu_d_s(x: Tensor, s: float | Tensor, b: float | Tensor) -> Tensor:
    return relu2(x)


def star_relu_d_b(x: Tensor, s: float | Tensor, b: float | Tensor) -> Tensor:
    return torch.ones_like(x)


# -------------------------------------------------------------------- xielu
def xielu(x: Tensor, alpha_p: float | Tensor, alpha_n: float | Tensor, beta: float, eps: float) -> Tensor:
    ap = _softplus(alpha_p)
    an = beta + _softplus(alpha_n)
    positive_part = ap * x * x + beta * x
    negative_part = an * (torch.expm1(torch.clamp_max(x, eps)) - x) + beta * x
    return torch.where(x > 0, positive_part, negative_part)


def xielu_derivative(x: Tensor, alpha_p: float | Tensor, alpha_n: float | Tensor, beta: float, eps: float) -> Tensor:
    ap = _softplus(alpha_p)
    an = beta + _softplus(alpha_n)
    exp_part = torch.where(x <= eps, torch.exp(torch.clamp_max(x, eps)), torch.zeros_like(x))
    return torch.where(x > 0, 2 * ap * x + beta, an * (exp_part - 1) + beta)


def xielu_d_alpha_p(x: Tensor, alpha_p: float | Tensor, alpha_n: float | Tensor, beta: float, eps: float) -> Tensor:
    return torch.where(x > 0, _sigmoid(alpha_p) * x * x, torch.zeros_like(x))


def xielu_d_alpha_n(x: Tensor, alpha_p: float | Tensor, alpha_n: float | Tensor, beta: float, eps: float) -> Tensor:
    return torch.where(x > 0, torch.zeros_like(x), _sigmoid(alpha_n) * (torch.expm1(torch.clamp_max(x, eps)) - x))


def xielu_kinks(alpha_p: float, alpha_n: float, beta: float, eps: float) -> tuple[float, ...]:
    return (eps, 0.0) if eps < 0 else (0.0,)


# ----------------------------------------------------------------- polyrelu
def poly_relu(x: Tensor, a0: float | Tensor, a1: float | Tensor, a2: float | Tensor, a3: float | Tensor) -> Tensor:
    r = torch.clamp_min(x, 0.0)
    return a0 + r * (a1 + r * (a2 + r * a3))


def poly_relu_derivative(x: Tensor, a0: float | Tensor, a1: float | Tensor, a2: float | Tensor,
                         a3: float | Tensor) -> Tensor:
    r = torch.clamp_min(x, 0.0)
    slope = a1 + r * (2 * a2 + 3 * a3 * r)
    return torch.where(x > 0, slope, torch.zeros_like(slope))


def _poly_relu_power(power: int):
    def d_coefficient(x: Tensor, a0: float | Tensor, a1: float | Tensor, a2: float | Tensor,
                      a3: float | Tensor) -> Tensor:
        return torch.clamp_min(x, 0.0) ** power if power else torch.ones_like(x)

    d_coefficient.__name__ = f"poly_relu_d_a{power}"
    return d_coefficient


def poly_relu_kinks(a0: float, a1: float, a2: float, a3: float) -> tuple[float, ...]:
    return (0.0,) if a1 != 0 else ()


# -------------------------------------------------------------------- snake
def snake(x: Tensor, alpha: float | Tensor) -> Tensor:
    s = torch.sin(alpha * x)
    return x + s * s / alpha


def snake_derivative(x: Tensor, alpha: float | Tensor) -> Tensor:
    return 1 + torch.sin(2 * alpha * x)


def snake_d_alpha(x: Tensor, alpha: float | Tensor) -> Tensor:
    s = torch.sin(alpha * x)
    return x * torch.sin(2 * alpha * x) / alpha - s * s / (alpha * alpha)


# -------------------------------------------------------------------- siren
def siren(x: Tensor, omega_0: float) -> Tensor:
    return torch.sin(omega_0 * x)


def siren_derivative(x: Tensor, omega_0: float) -> Tensor:
    return omega_0 * torch.cos(omega_0 * x)


# -------------------------------------------------------------------- smish
def smish(x: Tensor) -> Tensor:
    return x * torch.tanh(torch.log1p(torch.sigmoid(x)))


def smish_derivative(x: Tensor) -> Tensor:
    s = torch.sigmoid(x)
    t = torch.tanh(torch.log1p(s))
    return t + x * (1 - t * t) * s * (1 - s) / (1 + s)


# --------------------------------------------------------------- squareplus
def squareplus(x: Tensor, b: float) -> Tensor:
    h = torch.hypot(x, torch.full_like(x, math.sqrt(b)))  # √(x² + b) without overflow
    # x + h cancels for x ≪ 0; there x + h = b/(h − x)
    return torch.where(x >= 0, (x + h) / 2, b / (2 * (h - x)))


def squareplus_derivative(x: Tensor, b: float) -> Tensor:
    h = torch.hypot(x, torch.full_like(x, math.sqrt(b)))
    return torch.where(x >= 0, (1 + x / h) / 2, b / (2 * h * (h - x)))


# ---------------------------------------------------------- sparse plus/sigmoid
def sparse_plus(x: Tensor) -> Tensor:
    middle = (x + 1) * (x + 1) / 4
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x >= 1, x, middle))


def sparse_plus_derivative(x: Tensor) -> Tensor:
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x >= 1, torch.ones_like(x), (x + 1) / 2))


def sparse_sigmoid(x: Tensor) -> Tensor:
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x >= 1, torch.ones_like(x), (x + 1) / 2))


def sparse_sigmoid_derivative(x: Tensor) -> Tensor:
    return ((x > -1) & (x < 1)).to(x.dtype) / 2


# ---------------------------------------------------------------- threshold
def threshold(x: Tensor, threshold: float, value: float) -> Tensor:
    # x <= threshold is False at NaN, so NaN propagates (as torch.nn.functional.threshold)
    return torch.where(x <= threshold, torch.full_like(x, value), x)


def threshold_derivative(x: Tensor, threshold: float, value: float) -> Tensor:
    return (~(x <= threshold)).to(x.dtype)


def threshold_kinks(threshold: float, value: float) -> tuple[float, ...]:
    return (threshold,)


SIREN_INIT = Init(
    "siren",
    "sin(ω₀x) needs weights scaled by 1/ω₀: hidden layers U(−√(6/n)/ω₀, √(6/n)/ω₀) keep the pre-activations' "
    "distribution layer after layer; the first layer U(−1/n, 1/n) lets ω₀·Wx span several periods over inputs "
    "in [−1, 1] (Sitzmann et al. 2020, sec. 3.2 and appendix 1.5)",
)

SPECS = [
    ActivationSpec(
        name="relu2",
        aliases=("relu_squared", "squared_relu", "ReLU2"),
        summary="Squared ReLU max(0, x)²: the feed-forward activation of Primer, modded-nanogpt and nanochat.",
        family="rectifier",
        forward=relu2,
        derivative=relu2_derivative,
        native=_native.relu2,
        formula="max(0, x)**2",
        derivative_formula="2*max(0, x)",
        latex=r"\max(0, x)^2",
        derivative_latex=r"2\max(0, x)",
        init=HE,
        notes=(
            "Found by So et al.'s architecture search (Primer) for transformer feed-forward blocks; modded-nanogpt "
            "reports it ~1-2 % better than GELU at its scale.",
            "f is C1 (f'(0) = 0 from both sides) but its second derivative jumps at 0; zero for x < 0, so units can die as with ReLU.",
            "Its output variance grows with the input's fourth moment (E[relu(x)⁴] = 3/2 for x ~ N(0, 1)): pre-norm "
            "transformers absorb this; deep plain MLPs may need a smaller init (StarReLU rescales it).",
        ),
        references=(
            "So, Mańke, Liu, Dai, Shazeer & Le, Primer: Searching for Efficient Transformers for Language Modeling, NeurIPS 2021",
        ),
        expected={"monotonic": True, "range_min": 0.0, "zero_at_origin": True, "dead_region": True,
                  "differentiable": True, "smooth": False},
    ),
    ActivationSpec(
        name="star_relu",
        aliases=("StarReLU",),
        summary="StarReLU s·relu(x)² + b with learnable s, b: squared ReLU rescaled to unit Gaussian moments.",
        family="rectifier",
        forward=star_relu,
        derivative=star_relu_derivative,
        param_derivatives={"s": star_relu_d_s, "b": star_relu_d_b},
        params=(
            Param("s", STAR_RELU_SCALE, source="Yu et al. 2022 (MetaFormer Baselines, eq. 5): 1/√(5/4) = 0.8944 "
                  "(timm's StarReLU module starts at 1.0)", doc="scale (learned)", learnable=True, torch_name="scale"),
            Param("b", STAR_RELU_BIAS, source="Yu et al. 2022 (MetaFormer Baselines, eq. 5): −0.5/√(5/4) = −0.4472 "
                  "(timm's StarReLU module starts at 0.0)", doc="bias (learned)", learnable=True, torch_name="bias"),
        ),
        formula="s*max(0, x)**2 + b  (s, b learned)",
        derivative_formula="2*s*max(0, x)",
        latex=r"s\,\max(0, x)^2 + b",
        derivative_latex=r"2s\max(0, x)",
        init=HE,
        notes=(
            "MetaFormer's activation: one multiply-add more than squared ReLU and, by the paper's count, 71 % fewer "
            "activation FLOPs than GELU; s and b are one scalar each per layer (module(num_parameters=C) gives one per channel).",
            "With the default s, b the output has mean 0 and variance 1 for x ~ N(0, 1) (to the four printed digits).",
            "The learnable parameters are named scale and bias, as timm's StarReLU: a state_dict moves between the two.",
        ),
        references=("Yu, Si, Zhou, Yang, Ma, Zhou, Feng & Wang, MetaFormer Baselines for Vision, TPAMI 2023 (arXiv 2210.13452)",),
    ),
    ActivationSpec(
        name="xielu",
        aliases=("xIELU", "XIELU"),
        summary="xIELU: αp·x² + βx for x > 0, αn·(expm1(x) − x) + βx otherwise, with learnable αp, αn (Apertus).",
        family="rectifier",
        forward=xielu,
        derivative=xielu_derivative,
        param_derivatives={"alpha_p": xielu_d_alpha_p, "alpha_n": xielu_d_alpha_n},
        params=(
            Param("alpha_p", _inverse_softplus(XIELU_ALPHA_P), source="Huang & Schlag 2024 / HF transformers "
                  "XIELUActivation alpha_p_init = 0.8, stored as softplus⁻¹(0.8)",
                  doc="raw positive-side coefficient (learned); αp = softplus(alpha_p) > 0", learnable=True),
            Param("alpha_n", _inverse_softplus(XIELU_ALPHA_N - XIELU_BETA), source="Huang & Schlag 2024 / HF "
                  "transformers XIELUActivation alpha_n_init = 0.8, stored as softplus⁻¹(0.8 − beta)",
                  doc="raw negative-side coefficient (learned); αn = beta + softplus(alpha_n) > beta", learnable=True),
            Param("beta", XIELU_BETA, source="Huang & Schlag 2024 / HF transformers XIELUActivation beta = 0.5 (fixed)",
                  doc="slope of the linear term"),
            Param("eps", XIELU_EPS, high=0.0, source="Huang & Schlag 2024 / HF transformers XIELUActivation eps = −1e-6",
                  doc="the negative branch uses expm1(min(x, eps))"),
        ),
        formula="a_p*x**2 + beta*x if x > 0 else a_n*(expm1(min(x, eps)) - x) + beta*x, "
                "a_p = softplus(alpha_p), a_n = beta + softplus(alpha_n)",
        derivative_formula="2*a_p*x + beta if x > 0 else a_n*(exp(x)*[x <= eps] - 1) + beta",
        latex=r"\begin{cases} \alpha_p x^2 + \beta x & x > 0 \\ \alpha_n(e^{\min(x,\varepsilon)} - 1 - x) + \beta x & x \le 0 \end{cases}",
        derivative_latex=r"\begin{cases} 2\alpha_p x + \beta & x > 0 \\ \alpha_n(e^{x}\mathbb{1}[x \le \varepsilon] - 1) + \beta & x \le 0 \end{cases}",
        kinks=xielu_kinks,
        kink_convention="f'(eps) = αn(e^eps − 1) + β (the exponential piece, as torch.clamp's backward at its bound); "
                        "f'(0) = β − αn (the x ≤ 0 piece)",
        init=HE,
        notes=(
            "The activation of the Apertus LLMs: derived by integrating a designed gradient — linearly increasing for "
            "x > 0 (a squared-ReLU-like quadratic), ELU-like for x < 0 with a trainable negative slope.",
            "The stored parameters are the raw ones (HF transformers' state_dict names alpha_p, alpha_n): αp = "
            "softplus(alpha_p) and αn = β + softplus(alpha_n) keep both positive and αn > β while training.",
            "The reference clamps the exponential at eps = −1e-6: on (eps, 0] f is linear with slope β − αn, and f(0) = "
            "αn·expm1(eps) ≈ −8e-7 differs from f(0+) = 0 — a jump far below float32 resolution at typical scales.",
        ),
        references=(
            "Huang & Schlag, Deriving Activation Functions Using Integration, arXiv 2411.13010 (2024)",
            "Swiss AI, Apertus technical report (2025)",
        ),
    ),
    ActivationSpec(
        name="poly_relu",
        aliases=("PolyReLU", "polyrelu"),
        summary="PolyReLU a0 + a1·r + a2·r² + a3·r³, r = relu(x), learnable coefficients (PolyCom).",
        family="polynomial",
        forward=poly_relu,
        derivative=poly_relu_derivative,
        param_derivatives={f"a{i}": _poly_relu_power(i) for i in range(4)},
        params=(
            Param("a0", 0.0, source="PolyCom reference code (BryceZhuo/PolyCom): bias starts at 0", doc="constant (learned)", learnable=True),
            Param("a1", 1 / 3, source="PolyCom reference code: weight = ones(3)/3", doc="coefficient of relu(x) (learned)", learnable=True),
            Param("a2", 1 / 3, source="PolyCom reference code: weight = ones(3)/3", doc="coefficient of relu(x)² (learned)", learnable=True),
            Param("a3", 1 / 3, source="PolyCom reference code: weight = ones(3)/3", doc="coefficient of relu(x)³ (learned)", learnable=True),
        ),
        formula="a0 + a1*relu(x) + a2*relu(x)**2 + a3*relu(x)**3  (a_i learned)",
        derivative_formula="(a1 + 2*a2*relu(x) + 3*a3*relu(x)**2) if x > 0 else 0",
        latex=r"\sum_{i=0}^{3} a_i \max(0, x)^i",
        derivative_latex=r"\mathbb{1}[x > 0]\,(a_1 + 2a_2 x + 3a_3 x^2)",
        kinks=poly_relu_kinks,
        kink_convention="f'(0) = 0 (the x ≤ 0 piece), as ReLU's",
        init=HE,
        notes=(
            "Polynomial composition of order 3 (the paper's r = 3): one scalar per coefficient per layer; the paper's "
            "1B dense LLMs train faster with it than with SwiGLU or squared ReLU.",
            "Cubic growth: large pre-activations explode (f ~ x³/3); use it behind a normalisation layer, as the paper's transformers do.",
        ),
        references=(
            "Zhuo, Wang, Zeng, Li, Zhou & Ma, Polynomial Composition Activations: Unleashing the Dynamics of Large Language Models, ICLR 2025",
        ),
    ),
    ActivationSpec(
        name="snake",
        aliases=("Snake",),
        summary="Snake x + sin²(αx)/α with learnable α: monotonic, with a periodic bias for extrapolating periodic signals.",
        family="periodic",
        forward=snake,
        derivative=snake_derivative,
        param_derivatives={"alpha": snake_d_alpha},
        params=(positive("alpha", 0.5, "Ziyin, Hartwig & Ueda 2020 (0.5 for ordinary tasks, 5-50 for periodic data; "
                         "BigVGAN's Snake starts at 1.0)", "frequency (learned)", learnable=True),),
        formula="x + sin(alpha*x)**2 / alpha  (alpha learned)",
        derivative_formula="1 + sin(2*alpha*x)",
        latex=r"x + \frac{\sin^2(\alpha x)}{\alpha}",
        derivative_latex=r"1 + \sin(2\alpha x)",
        init=LECUN,
        notes=(
            "f'(x) = 1 + sin(2αx) ≥ 0: monotonic (unlike sin), so it optimises like a ReLU net yet extrapolates periodically.",
            "For x ~ N(0, 1) its variance peaks near 1.2 at α ≈ 0.56 (Ziyin et al.): close to the identity's 1, so "
            "variance-1/fan_in (lecun) init keeps the signal.",
            "The learned α must stay positive (f divides by α); BigVGAN adds 1e-9 to the divisor.",
        ),
        references=("Ziyin, Hartwig & Ueda, Neural Networks Fail to Learn Periodic Functions and How to Fix It, NeurIPS 2020",),
        expected={"monotonic": True, "zero_at_origin": True, "smooth": True},
    ),
    ActivationSpec(
        name="siren",
        aliases=("SIREN", "sine_omega"),
        summary="SIREN's sine sin(ω₀x), ω₀ = 30, with its own initialisation: implicit neural representations.",
        family="periodic",
        forward=siren,
        derivative=siren_derivative,
        params=(positive("omega_0", SIREN_OMEGA_0, "Sitzmann et al. 2020, sec. 3.2: ω₀ = 30", "frequency"),),
        formula="sin(omega_0*x)",
        derivative_formula="omega_0*cos(omega_0*x)",
        latex=r"\sin(\omega_0 x)",
        derivative_latex=r"\omega_0\cos(\omega_0 x)",
        init=SIREN_INIT,
        notes=(
            "For fitting signals from coordinates (images, audio, SDFs) and their derivatives; the derivative of a SIREN is a SIREN.",
            "Needs its init (--init siren, the record's recommendation): with he/glorot weights ω₀ = 30 makes the "
            "pre-activations span dozens of periods and the net starts as noise.",
        ),
        references=("Sitzmann, Martel, Bergman, Lindell & Wetzstein, Implicit Neural Representations with Periodic Activation Functions, NeurIPS 2020",),
        expected={"monotonic": False, "range_min": -1.0, "range_max": 1.0, "zero_at_origin": True, "smooth": True},
    ),
    ActivationSpec(
        name="smish",
        aliases=("Smish",),
        summary="Smish x·tanh(log(1 + σ(x))): a mish-like smooth, non-monotonic self-gated unit.",
        family="gated",
        forward=smish,
        derivative=smish_derivative,
        formula="x * tanh(log(1 + sigmoid(x)))",
        derivative_formula="t + x*(1 - t**2)*s*(1 - s)/(1 + s), s = sigmoid(x), t = tanh(log(1 + s))",
        latex=r"x\tanh(\log(1 + \sigma(x)))",
        derivative_latex=r"t + x(1 - t^2)\frac{\sigma(x)(1 - \sigma(x))}{1 + \sigma(x)},\ t = \tanh(\log(1 + \sigma(x)))",
        init=HE,
        notes=(
            "The paper's general form αx·tanh(log(1 + σ(βx))) uses α = β = 1 in its experiments: this record.",
            "Grows as tanh(log 2)·x = 0.6x for large x (not x, as mish): the slope at +∞ is 0.6.",
        ),
        references=("Wang, Ren & Wang, Smish: A Novel Activation Function for Deep Learning Methods, Electronics 11(4) 540, 2022",),
        expected={"monotonic": False, "zero_at_origin": True, "smooth": True},
    ),
    ActivationSpec(
        name="squareplus",
        aliases=("Squareplus",),
        summary="Squareplus (x + √(x² + b))/2: a softplus made of a square root, algebraic and cheap.",
        family="rectifier",
        forward=squareplus,
        derivative=squareplus_derivative,
        params=(positive("b", 4.0, "Keras 3 keras.activations.squareplus and jax.nn.squareplus default b = 4 "
                         "(Barron 2021 leaves b free; b = 4 matches softplus's curvature at 0 best)", "smoothness; b → 0 gives ReLU"),),
        formula="(x + sqrt(x**2 + b)) / 2",
        derivative_formula="(1 + x/sqrt(x**2 + b)) / 2",
        latex=r"\tfrac12\left(x + \sqrt{x^2 + b}\right)",
        derivative_latex=r"\tfrac12\left(1 + \frac{x}{\sqrt{x^2 + b}}\right)",
        init=HE,
        notes=(
            "Like softplus without exp or log: only a multiply, an add and a square root.",
            "Computed as b/(2(√(x² + b) − x)) for x < 0, where the textbook form loses every digit to cancellation.",
        ),
        references=("Barron, Squareplus: A Softplus-Like Algebraic Rectifier, arXiv 2112.11687 (2021)",),
        expected={"monotonic": True, "range_min": 0.0, "zero_at_origin": False, "smooth": True},
    ),
    ActivationSpec(
        name="sparse_plus",
        aliases=("sparseplus",),
        summary="Sparse plus: 0 for x ≤ −1, (x + 1)²/4 on (−1, 1), x for x ≥ 1 — a C1 piecewise-quadratic softplus.",
        family="rectifier",
        forward=sparse_plus,
        derivative=sparse_plus_derivative,
        formula="0 if x <= -1 else ((x + 1)**2/4 if x < 1 else x)",
        derivative_formula="0 if x <= -1 else ((x + 1)/2 if x < 1 else 1)",
        latex=r"\begin{cases} 0 & x \le -1 \\ \tfrac14(x + 1)^2 & -1 < x < 1 \\ x & x \ge 1 \end{cases}",
        derivative_latex=r"\begin{cases} 0 & x \le -1 \\ \tfrac12(x + 1) & -1 < x < 1 \\ 1 & x \ge 1 \end{cases}",
        init=HE,
        notes=(
            "Exactly zero below −1 (sparse outputs) yet continuously differentiable: its derivative is sparse_sigmoid.",
            "The Fenchel-Young 'sparse' counterpart of softplus, as sparsemax is of softmax.",
        ),
        references=("Blondel, Martins & Niculae, Learning with Fenchel-Young Losses, JMLR 21 (2020)",),
        expected={"monotonic": True, "range_min": 0.0, "dead_region": True, "differentiable": True, "smooth": False},
    ),
    ActivationSpec(
        name="sparse_sigmoid",
        aliases=("sparsesigmoid",),
        summary="Sparse sigmoid clip((x + 1)/2, 0, 1): the derivative of sparse plus, exactly 0 or 1 outside [−1, 1].",
        family="sigmoid",
        forward=sparse_sigmoid,
        derivative=sparse_sigmoid_derivative,
        formula="0 if x <= -1 else ((x + 1)/2 if x < 1 else 1)",
        derivative_formula="1/2 if -1 < x < 1 else 0",
        latex=r"\begin{cases} 0 & x \le -1 \\ \tfrac12(x + 1) & -1 < x < 1 \\ 1 & x \ge 1 \end{cases}",
        derivative_latex=r"\tfrac12\,\mathbb{1}[-1 < x < 1]",
        kinks=(-1.0, 1.0),
        kink_convention="f'(−1) = f'(1) = 0 (the outer pieces), as Keras's where-branches and PyTorch's hardtanh",
        init=GLOROT,
        notes=(
            "A probability-valued gate that reaches exactly 0 and 1 (sparse), like the two-class sparsemax: "
            "sparsemax([x, 0])[0] = sparse_sigmoid(x).",
            "Zero gradient outside [−1, 1]: saturated units stop learning, as with hard sigmoid.",
        ),
        references=("Blondel, Martins & Niculae, Learning with Fenchel-Young Losses, JMLR 21 (2020)",),
        expected={"monotonic": True, "range_min": 0.0, "range_max": 1.0, "continuous": True, "differentiable": False},
    ),
    ActivationSpec(
        name="threshold",
        aliases=("Threshold",),
        summary="PyTorch's Threshold: x where x > threshold, else a fixed value.",
        family="rectifier",
        forward=threshold,
        derivative=threshold_derivative,
        native=_native.threshold,
        torch_module=_native.threshold_module,
        params=(
            Param("threshold", 0.0, source="no default in torch.nn.Threshold or keras.activations.threshold (both "
                  "require it); 0 makes the defaults ReLU", doc="inputs at or below it are replaced"),
            Param("value", 0.0, source="no default in torch.nn.Threshold (Keras: default_value, also required); "
                  "0 makes the defaults ReLU", doc="the replacement"),
        ),
        formula="x if x > threshold else value",
        derivative_formula="1 if x > threshold else 0",
        latex=r"\begin{cases} x & x > \theta \\ v & x \le \theta \end{cases}",
        derivative_latex=r"\mathbb{1}[x > \theta]",
        kinks=threshold_kinks,
        kink_convention="f'(threshold) = 0 (the replaced piece), as torch's threshold backward; a jump when value ≠ threshold",
        init=HE,
        notes=(
            "ReLU with a movable cut and replacement: threshold = value = 0 is ReLU; value ≠ threshold makes f jump.",
            "PyTorch's docs example is Threshold(0.1, 20): f(x) = 20 for x ≤ 0.1.",
        ),
        references=("PyTorch torch.nn.Threshold", "Keras 3 keras.activations.threshold"),
        expected={"monotonic": True, "zero_at_origin": True, "dead_region": True},
    ),
]
