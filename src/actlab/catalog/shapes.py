"""Shrinkage, polynomial, periodic, bump and exponential activations."""
from __future__ import annotations

import torch
from torch import Tensor

from actlab.catalog import _native
from actlab.catalog._common import GLOROT, nonnegative
from actlab.spec import ActivationSpec

SHRINK_SOURCE = "torch.nn.Softshrink / Hardshrink default 0.5"


def _symmetric(lambd: float) -> tuple[float, ...]:
    return (-lambd, lambd) if lambd > 0 else (0.0,)


# ------------------------------------------------------------------ shrinkage
def softshrink(x: Tensor, lambd: float) -> Tensor:
    # written so that NaN propagates (NaN <= lambd is False), as torch's softshrink
    return torch.where(x.abs() <= lambd, torch.zeros_like(x), x - lambd * torch.sign(x))


def shrink_derivative(x: Tensor, lambd: float) -> Tensor:
    return (~(x.abs() <= lambd)).to(x.dtype)  # 1 at NaN, as torch's shrink backward


def hardshrink(x: Tensor, lambd: float) -> Tensor:
    return torch.where(x.abs() <= lambd, torch.zeros_like(x), x)  # NaN propagates, as torch


def tanhshrink(x: Tensor) -> Tensor:
    return x - torch.tanh(x)


def tanhshrink_derivative(x: Tensor) -> Tensor:
    t = torch.tanh(x)
    return t * t


def bent_identity(x: Tensor) -> Tensor:
    return (torch.hypot(x, torch.ones_like(x)) - 1) / 2 + x


def bent_identity_derivative(x: Tensor) -> Tensor:
    return x / (2 * torch.hypot(x, torch.ones_like(x))) + 1


# ----------------------------------------------------------------- polynomial
def square(x: Tensor) -> Tensor:
    return x * x


def square_derivative(x: Tensor) -> Tensor:
    return 2 * x


def signed_square(x: Tensor) -> Tensor:
    return x * x.abs()


def signed_square_derivative(x: Tensor) -> Tensor:
    return 2 * x.abs()


def cube(x: Tensor) -> Tensor:
    return x * x * x


def cube_derivative(x: Tensor) -> Tensor:
    return 3 * x * x


# ------------------------------------------------------------------- periodic
def sin(x: Tensor) -> Tensor:
    return torch.sin(x)


def cos(x: Tensor) -> Tensor:
    return torch.cos(x)


def neg_sin(x: Tensor) -> Tensor:
    return -torch.sin(x)


SINC_SERIES_BELOW = 1e-2  # |x| below which the Taylor series is used (error < 1e-15)


def sinc(x: Tensor) -> Tensor:
    small = x.abs() < SINC_SERIES_BELOW
    safe = torch.where(small, torch.ones_like(x), x)
    x2 = x * x
    return torch.where(small, 1 - x2 / 6 + x2 * x2 / 120, torch.sin(safe) / safe)


def sinc_derivative(x: Tensor) -> Tensor:
    small = x.abs() < SINC_SERIES_BELOW
    safe = torch.where(small, torch.ones_like(x), x)
    x2 = x * x
    series = -x / 3 + x * x2 / 30
    return torch.where(small, series, (safe * torch.cos(safe) - torch.sin(safe)) / (safe * safe))


def gaussian(x: Tensor) -> Tensor:
    return torch.exp(-x * x)


def gaussian_derivative(x: Tensor) -> Tensor:
    return -2 * x * torch.exp(-x * x)


def exponential(x: Tensor) -> Tensor:
    return torch.exp(x)


POLY_NOTE = "Unbounded polynomial growth: can explode in deep nets; keep nets shallow, inputs scaled, learning rate small."

SPECS = [
    ActivationSpec(
        name="softshrink",
        aliases=("Softshrink", "soft_threshold"),
        summary="Soft thresholding: shrinks x toward 0 by lambd, zero in [−lambd, lambd].",
        family="shrinkage",
        forward=softshrink,
        derivative=shrink_derivative,
        native=_native.softshrink,
        torch_module=_native.softshrink_module,
        params=(nonnegative("lambd", 0.5, SHRINK_SOURCE, "half-width of the zero band"),),
        kinks=_symmetric,
        kink_convention="f'(±lambd) = 0, as PyTorch",
        formula="x - lambd if x > lambd else (x + lambd if x < -lambd else 0)",
        derivative_formula="1 if abs(x) > lambd else 0",
        latex=r"\mathrm{sign}(x)\max(|x| - \lambda, 0)",
        derivative_latex=r"\mathbb{1}[|x| > \lambda]",
        init=GLOROT,
        notes=("The proximal operator of the L1 norm (sparse coding, LISTA).",),
        references=("Donoho, De-noising by soft-thresholding, IEEE Trans. Inf. Theory 1995",),
        expected={"monotonic": True, "zero_at_origin": True},
    ),
    ActivationSpec(
        name="hardshrink",
        aliases=("Hardshrink", "hard_threshold"),
        summary="Hard thresholding: x where |x| > lambd, else 0 (discontinuous).",
        family="shrinkage",
        forward=hardshrink,
        derivative=shrink_derivative,
        native=_native.hardshrink,
        torch_module=_native.hardshrink_module,
        params=(nonnegative("lambd", 0.5, SHRINK_SOURCE, "half-width of the zero band"),),
        kinks=_symmetric,
        kink_convention="f jumps at ±lambd; f'(±lambd) = 0, as PyTorch",
        formula="x if abs(x) > lambd else 0",
        derivative_formula="1 if abs(x) > lambd else 0",
        latex=r"x\,\mathbb{1}[|x| > \lambda]",
        derivative_latex=r"\mathbb{1}[|x| > \lambda]",
        init=GLOROT,
        notes=("Discontinuous at ±lambd.",),
        references=("Donoho & Johnstone, Ideal spatial adaptation by wavelet shrinkage, Biometrika 1994",),
        expected={"continuous": False, "zero_at_origin": True},
    ),
    ActivationSpec(
        name="tanhshrink",
        aliases=("Tanhshrink",),
        summary="x − tanh(x): near zero for small x, linear for large |x|.",
        family="shrinkage",
        forward=tanhshrink,
        derivative=tanhshrink_derivative,
        native=_native.tanhshrink,
        torch_module=_native.tanhshrink_module,
        formula="x - tanh(x)",
        derivative_formula="tanh(x)**2",
        latex=r"x - \tanh x",
        derivative_latex=r"\tanh^2 x",
        init=GLOROT,
        notes=("Flat (f' ≈ x²) near the origin: small signals barely pass.",),
        references=("PyTorch torch.nn.Tanhshrink",),
        expected={"monotonic": True, "zero_at_origin": True, "smooth": True},
    ),
    ActivationSpec(
        name="bent_identity",
        aliases=("bent",),
        summary="(√(x² + 1) − 1)/2 + x: a smooth, monotonic, slightly bent identity.",
        family="shrinkage",
        forward=bent_identity,
        derivative=bent_identity_derivative,
        formula="(sqrt(x**2 + 1) - 1)/2 + x",
        derivative_formula="x / (2*sqrt(x**2 + 1)) + 1",
        latex=r"\frac{\sqrt{x^2 + 1} - 1}{2} + x",
        derivative_latex=r"\frac{x}{2\sqrt{x^2 + 1}} + 1",
        init=GLOROT,
        notes=("Derivative in (1/2, 3/2): neither vanishes nor explodes.",),
        references=("Wikipedia, Activation function (table of functions)",),
        expected={"monotonic": True, "zero_at_origin": True, "smooth": True},
        export_limits={"onnx": "torch.hypot (the overflow-free √(x² + 1)) has no ONNX operator in torch's exporter"},
    ),
    ActivationSpec(
        name="square",
        aliases=("x2", "quadratic"),
        summary="x²: the simplest polynomial activation; two units separate a circle.",
        family="polynomial",
        forward=square,
        derivative=square_derivative,
        formula="x**2",
        derivative_formula="2*x",
        latex=r"x^2",
        derivative_latex=r"2x",
        init=GLOROT,
        notes=(POLY_NOTE, "Even: loses the sign of its input; with bias-free layers it computes quadratic forms (a circle boundary with 2 hidden units)."),
        references=("Livni, Shalev-Shwartz & Shamir, On the Computational Efficiency of Training Neural Networks, NIPS 2014",),
        expected={"monotonic": False, "range_min": 0.0, "zero_at_origin": True, "smooth": True, "exploding_risk": True},
    ),
    ActivationSpec(
        name="signed_square",
        aliases=("sign_square",),
        summary="sign(x)·x²: an odd, monotonic square that keeps the sign.",
        family="polynomial",
        forward=signed_square,
        derivative=signed_square_derivative,
        formula="sign(x) * x**2",
        derivative_formula="2*abs(x)",
        latex=r"\mathrm{sign}(x)\,x^2",
        derivative_latex=r"2|x|",
        init=GLOROT,
        notes=(POLY_NOTE, "Differentiable everywhere (f'(0) = 0) but not twice differentiable at 0."),
        references=("actlab seed notes",),
        expected={"monotonic": True, "zero_at_origin": True, "differentiable": True},
    ),
    ActivationSpec(
        name="cube",
        aliases=("x3", "cubic"),
        summary="x³: odd, monotonic, flat at the origin.",
        family="polynomial",
        forward=cube,
        derivative=cube_derivative,
        formula="x**3",
        derivative_formula="3*x**2",
        latex=r"x^3",
        derivative_latex=r"3x^2",
        init=GLOROT,
        notes=(POLY_NOTE, "Zero derivative at 0: small signals vanish."),
        references=("Chen & Manning, A Fast and Accurate Dependency Parser using Neural Networks, EMNLP 2014",),
        expected={"monotonic": True, "zero_at_origin": True, "smooth": True},
    ),
    ActivationSpec(
        name="sin",
        aliases=("sine",),
        summary="sin(x): periodic; extrapolates periodic patterns (SIREN).",
        family="periodic",
        forward=sin,
        derivative=cos,
        native=_native.sin,
        formula="sin(x)",
        derivative_formula="cos(x)",
        latex=r"\sin x",
        derivative_latex=r"\cos x",
        init=GLOROT,
        notes=("Periodic: can fit and extrapolate periodic boundaries where ReLU cannot; SIREN uses sin(30x) with a special uniform init.",),
        references=("Sitzmann et al., Implicit Neural Representations with Periodic Activation Functions (SIREN), NeurIPS 2020",),
        expected={"monotonic": False, "range_min": -1.0, "range_max": 1.0, "identity_near_origin": True, "smooth": True},
    ),
    ActivationSpec(
        name="cos",
        aliases=("cosine",),
        summary="cos(x): periodic and even; one cos unit learns a periodic boundary.",
        family="periodic",
        forward=cos,
        derivative=neg_sin,
        native=_native.cos,
        formula="cos(x)",
        derivative_formula="-sin(x)",
        latex=r"\cos x",
        derivative_latex=r"-\sin x",
        init=GLOROT,
        notes=("Periodic: a single cos unit fits a boundary like x1 = cos(x0) and extrapolates it.", "f(0) = 1, so not zero at the origin."),
        references=("Parascandolo, Huttunen & Virtanen, Taming the waves: sine as activation function in deep neural networks, 2016",),
        expected={"monotonic": False, "range_min": -1.0, "range_max": 1.0, "zero_at_origin": False, "smooth": True},
    ),
    ActivationSpec(
        name="sinc",
        aliases=("cardinal_sine",),
        summary="sin(x)/x (unnormalised, sinc(0) = 1): a decaying oscillation.",
        family="periodic",
        forward=sinc,
        derivative=sinc_derivative,
        formula="sin(x)/x (1 at x = 0)",
        derivative_formula="(x*cos(x) - sin(x))/x**2 (0 at x = 0)",
        latex=r"\frac{\sin x}{x}",
        derivative_latex=r"\frac{x \cos x - \sin x}{x^2}",
        init=GLOROT,
        notes=("Unnormalised (torch.sinc is sin(πx)/(πx)); evaluated by its Taylor series for |x| < 1e-2.",),
        references=("Wikipedia, Activation function (table of functions)",),
        expected={"monotonic": False, "smooth": True},
    ),
    ActivationSpec(
        name="gaussian",
        aliases=("rbf", "bump"),
        summary="exp(−x²): a bump; the radial-basis-function unit.",
        family="bump",
        forward=gaussian,
        derivative=gaussian_derivative,
        formula="exp(-x**2)",
        derivative_formula="-2*x*exp(-x**2)",
        latex=r"e^{-x^2}",
        derivative_latex=r"-2x\,e^{-x^2}",
        init=GLOROT,
        notes=("Local response: each unit fires near one value of its input (RBF networks). Saturates on both sides.",),
        references=("Broomhead & Lowe, Radial basis functions, multi-variable functional interpolation and adaptive networks, 1988",),
        expected={"monotonic": False, "range_min": 0.0, "range_max": 1.0, "smooth": True},
    ),
    ActivationSpec(
        name="exponential",
        aliases=("exp",),
        summary="exp(x): positive and unbounded; used for rates and scales more than in hidden layers.",
        family="exponential",
        forward=exponential,
        derivative=exponential,
        native=_native.exponential,
        formula="exp(x)",
        derivative_formula="exp(x)",
        latex=r"e^x",
        derivative_latex=r"e^x",
        init=GLOROT,
        notes=("Explodes for large inputs; as an output it keeps predictions positive (Poisson rates).",),
        references=("Keras keras.activations.exponential",),
        expected={"monotonic": True, "range_min": 0.0, "smooth": True, "exploding_risk": True},
    ),
]
