"""Squashing functions: binary step, sigmoid and its hard/log variants, tanh, hard tanh, softsign, arctan."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from actlab.catalog import _native
from actlab.catalog._common import GLOROT, Param, zeros
from actlab.spec import ActivationSpec

FAMILY = "sigmoid"

VANISH = "Saturates on both sides: in deep nets the gradient vanishes (|f'| < 1 everywhere); prefer ReLU-family activations in hidden layers."


def binary_step(x: Tensor) -> Tensor:
    return torch.where(torch.isnan(x), x, (x >= 0).to(x.dtype))  # NaN propagates, as torch.heaviside


def sigmoid(x: Tensor) -> Tensor:
    return torch.sigmoid(x)


def sigmoid_derivative(x: Tensor) -> Tensor:
    s = torch.sigmoid(x)
    return s * (1 - s)


def hard_sigmoid(x: Tensor) -> Tensor:
    return torch.clamp(x / 6 + 0.5, 0.0, 1.0)


def hard_sigmoid_derivative(x: Tensor) -> Tensor:
    return ((x > -3) & (x < 3)).to(x.dtype) / 6


def log_sigmoid(x: Tensor) -> Tensor:
    return -torch.logaddexp(torch.zeros_like(x), -x)


def log_sigmoid_derivative(x: Tensor) -> Tensor:
    return torch.sigmoid(-x)


def tanh(x: Tensor) -> Tensor:
    return torch.tanh(x)


def tanh_derivative(x: Tensor) -> Tensor:
    t = torch.tanh(x)
    return 1 - t * t


def hard_tanh(x: Tensor, min_val: float, max_val: float) -> Tensor:
    return torch.clamp(x, min_val, max_val)


def hard_tanh_derivative(x: Tensor, min_val: float, max_val: float) -> Tensor:
    return ((x > min_val) & (x < max_val)).to(x.dtype)


def _min_below_max(p) -> str | None:
    if p["min_val"] >= p["max_val"]:
        return f"min_val ({p['min_val']}) must be below max_val ({p['max_val']})"
    return None


def softsign(x: Tensor) -> Tensor:
    return x / (1 + x.abs())


def softsign_derivative(x: Tensor) -> Tensor:
    return 1 / (1 + x.abs()) ** 2


def arctan(x: Tensor) -> Tensor:
    return torch.atan(x)


def arctan_derivative(x: Tensor) -> Tensor:
    return 1 / (1 + x * x)


SPECS = [
    ActivationSpec(
        name="binary_step",
        aliases=("heaviside", "step"),
        summary="Heaviside step: 1 for x >= 0, else 0 (the perceptron's); zero gradient, so not trainable by backprop.",
        family=FAMILY,
        forward=binary_step,
        derivative=zeros,
        formula="1 if x >= 0 else 0",
        derivative_formula="0 (undefined at 0)",
        latex=r"\mathbb{1}[x \ge 0]",
        derivative_latex=r"0",
        kinks=(0.0,),
        kink_convention="f(0) = 1; f is discontinuous at 0 and the derivative is declared 0 everywhere (the Dirac delta is dropped)",
        init=GLOROT,
        trainable=False,
        notes=("Of historical interest (Rosenblatt's perceptron): gradient descent gets no signal through it.",),
        references=("Rosenblatt, The Perceptron, 1958",),
        expected={"monotonic": True, "continuous": False, "range_min": 0.0, "range_max": 1.0},
    ),
    ActivationSpec(
        name="sigmoid",
        aliases=("logistic", "Sigmoid"),
        summary="Logistic sigmoid 1/(1 + exp(−x)): outputs a probability; the output unit for binary classification.",
        family=FAMILY,
        forward=sigmoid,
        derivative=sigmoid_derivative,
        native=_native.sigmoid,
        torch_module=_native.sigmoid_module,
        formula="1 / (1 + exp(-x))",
        derivative_formula="sigmoid(x) * (1 - sigmoid(x))",
        latex=r"\sigma(x) = \frac{1}{1 + e^{-x}}",
        derivative_latex=r"\sigma(x)(1 - \sigma(x))",
        init=GLOROT,
        notes=(
            "Use on the output unit for binary classification (with binary cross-entropy).",
            VANISH + " Its derivative is at most 1/4, so each layer shrinks the gradient at least 4×.",
            "Not zero-centred: outputs are all positive.",
        ),
        references=("Rumelhart, Hinton & Williams, Learning representations by back-propagating errors, Nature 1986",),
        expected={"monotonic": True, "range_min": 0.0, "range_max": 1.0, "derivative_max": 0.25, "vanishing_risk": True, "smooth": True},
    ),
    ActivationSpec(
        name="hard_sigmoid",
        aliases=("hardsigmoid", "Hardsigmoid"),
        summary="Piecewise-linear sigmoid clip(x/6 + 1/2, 0, 1): cheap to compute.",
        family=FAMILY,
        forward=hard_sigmoid,
        derivative=hard_sigmoid_derivative,
        native=_native.hard_sigmoid,
        torch_module=_native.hard_sigmoid_module,
        formula="clip(x/6 + 1/2, 0, 1)",
        derivative_formula="1/6 if -3 < x < 3 else 0",
        latex=r"\mathrm{clip}(x/6 + 1/2, 0, 1)",
        derivative_latex=r"\tfrac{1}{6}\,\mathbb{1}[-3 < x < 3]",
        kinks=(-3.0, 3.0),
        kink_convention="f'(±3) = 0, as PyTorch (timm's hard_sigmoid backward uses 1/6 at ±3: they disagree)",
        init=GLOROT,
        notes=("Slope 1/6 as in PyTorch and Keras 3 (older Keras used 0.2x + 0.5).", VANISH),
        references=("Howard et al., Searching for MobileNetV3, ICCV 2019",),
        expected={"monotonic": True, "range_min": 0.0, "range_max": 1.0},
    ),
    ActivationSpec(
        name="log_sigmoid",
        aliases=("logsigmoid", "LogSigmoid"),
        summary="log σ(x) = −softplus(−x), computed stably.",
        family=FAMILY,
        forward=log_sigmoid,
        derivative=log_sigmoid_derivative,
        native=_native.log_sigmoid,
        torch_module=_native.log_sigmoid_module,
        formula="-log(1 + exp(-x))",
        derivative_formula="1 - sigmoid(x)",
        latex=r"\log \sigma(x) = -\log(1 + e^{-x})",
        derivative_latex=r"1 - \sigma(x)",
        init=GLOROT,
        notes=("Appears in losses (log-likelihood of a sigmoid output) more than as a hidden activation.",),
        references=("PyTorch torch.nn.LogSigmoid",),
        expected={"monotonic": True, "range_max": 0.0, "smooth": True},
        export_limits={"onnx": "torch's ONNX exporter writes Log(Sigmoid(x)): in float32 onnxruntime gives −inf "
                               "for x ≤ −18 (torch: ≈ x) and misses 1e-5 relative accuracy below x ≈ −8"},
    ),
    ActivationSpec(
        name="tanh",
        aliases=("Tanh", "hyperbolic_tangent"),
        summary="Hyperbolic tangent: a zero-centred sigmoid with range (−1, 1).",
        family=FAMILY,
        forward=tanh,
        derivative=tanh_derivative,
        native=_native.tanh,
        torch_module=_native.tanh_module,
        formula="tanh(x)",
        derivative_formula="1 - tanh(x)**2",
        latex=r"\tanh x",
        derivative_latex=r"1 - \tanh^2 x",
        init=GLOROT,
        notes=("Zero-centred, so it trains better than the logistic sigmoid in hidden layers (LeCun et al. 1998).", VANISH, "Used in RNN/LSTM cells."),
        references=("LeCun, Bottou, Orr & Müller, Efficient BackProp, 1998",),
        expected={"monotonic": True, "range_min": -1.0, "range_max": 1.0, "identity_near_origin": True, "smooth": True},
    ),
    ActivationSpec(
        name="hard_tanh",
        aliases=("hardtanh", "Hardtanh"),
        summary="Piecewise-linear tanh: clip(x, min_val, max_val).",
        family=FAMILY,
        forward=hard_tanh,
        derivative=hard_tanh_derivative,
        native=_native.hard_tanh,
        torch_module=_native.hard_tanh_module,
        params=(
            Param("min_val", -1.0, source="torch.nn.Hardtanh default −1", doc="lower clip"),
            Param("max_val", 1.0, source="torch.nn.Hardtanh default 1", doc="upper clip"),
        ),
        constraints=(_min_below_max,),
        kinks=lambda min_val, max_val: (min_val, max_val),
        kink_convention="f'(min_val) = f'(max_val) = 0, as PyTorch",
        formula="clip(x, min_val, max_val)",
        derivative_formula="1 if min_val < x < max_val else 0",
        latex=r"\mathrm{clip}(x, a, b)",
        derivative_latex=r"\mathbb{1}[a < x < b]",
        init=GLOROT,
        notes=("Zero gradient outside [min_val, max_val]: units can saturate for good.",),
        references=("Collobert, Large Scale Machine Learning (PhD thesis), 2004",),
        expected={"monotonic": True, "range_min": -1.0, "range_max": 1.0},
    ),
    ActivationSpec(
        name="softsign",
        aliases=("Softsign",),
        summary="x / (1 + |x|): like tanh but with polynomial (slower) saturation.",
        family=FAMILY,
        forward=softsign,
        derivative=softsign_derivative,
        native=_native.softsign,
        torch_module=_native.softsign_module,
        formula="x / (1 + abs(x))",
        derivative_formula="1 / (1 + abs(x))**2",
        latex=r"\frac{x}{1 + |x|}",
        derivative_latex=r"\frac{1}{(1 + |x|)^2}",
        init=GLOROT,
        notes=("Saturates polynomially rather than exponentially, so gradients vanish more slowly than tanh's.",),
        references=("Bergstra et al., Quadratic polynomials learn better image features, 2009", "Glorot & Bengio, 2010"),
        expected={"monotonic": True, "range_min": -1.0, "range_max": 1.0, "identity_near_origin": True},
    ),
    ActivationSpec(
        name="arctan",
        aliases=("atan",),
        summary="Inverse tangent: a sigmoid with range (−π/2, π/2) and slow saturation.",
        family=FAMILY,
        forward=arctan,
        derivative=arctan_derivative,
        native=_native.arctan,
        formula="arctan(x)",
        derivative_formula="1 / (1 + x**2)",
        latex=r"\arctan x",
        derivative_latex=r"\frac{1}{1 + x^2}",
        init=GLOROT,
        notes=("Saturates polynomially (f' ~ 1/x²).",),
        references=("Wikipedia, Activation function (table of functions)",),
        expected={"monotonic": True, "range_min": -math.pi / 2, "range_max": math.pi / 2, "identity_near_origin": True},
    ),
]
