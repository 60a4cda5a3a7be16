"""Identity and the rectifier family: ReLU, ReLU6, leaky/parametric/randomised ReLU, ELU, CELU, SELU, softplus."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from actlab.catalog import _native
from actlab.catalog._common import GLOROT, HE, LECUN, Param, nonnegative, ones, positive
from actlab.spec import ActivationSpec

FAMILY = "rectifier"

# Published SELU constants (Klambauer et al., 2017, eq. 14), to the digits PyTorch uses.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946



# ----------------------------------------------------------------- identity
def identity(x: Tensor) -> Tensor:
    return x


def identity_derivative(x: Tensor) -> Tensor:
    return ones(x)


# --------------------------------------------------------------------- relu
def relu(x: Tensor) -> Tensor:
    return torch.clamp_min(x, 0.0)


def relu_derivative(x: Tensor) -> Tensor:
    return (x > 0).to(x.dtype)


def relu6(x: Tensor) -> Tensor:
    return torch.clamp(x, 0.0, 6.0)


def relu6_derivative(x: Tensor) -> Tensor:
    return ((x > 0) & (x < 6)).to(x.dtype)


# ------------------------------------------------------------ leaky / prelu
def leaky_relu(x: Tensor, alpha: float | Tensor) -> Tensor:
    return torch.where(x > 0, x, alpha * x)


def leaky_relu_derivative(x: Tensor, alpha: float | Tensor) -> Tensor:
    return torch.where(x > 0, torch.ones_like(x), alpha * torch.ones_like(x))


def leaky_relu_d_alpha(x: Tensor, alpha: float | Tensor) -> Tensor:
    return torch.where(x > 0, torch.zeros_like(x), x)


def rrelu(x: Tensor, lower: float | Tensor, upper: float | Tensor) -> Tensor:
    # eval mode: the mean slope; training mode passes lower = upper = sampled slopes
    return leaky_relu(x, (lower + upper) / 2)


def rrelu_derivative(x: Tensor, lower: float | Tensor, upper: float | Tensor) -> Tensor:
    return leaky_relu_derivative(x, (lower + upper) / 2)


def rrelu_sample(x: Tensor, lower: float, upper: float) -> dict[str, Tensor]:
    slope = torch.empty_like(x).uniform_(float(lower), float(upper))
    return {"lower": slope, "upper": slope}


def _lower_le_upper(p) -> str | None:
    if p["lower"] > p["upper"]:
        return f"lower ({p['lower']}) must not exceed upper ({p['upper']})"
    return None


# ---------------------------------------------------------------- elu family
def elu(x: Tensor, alpha: float) -> Tensor:
    return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp_max(x, 0.0)))


def elu_derivative(x: Tensor, alpha: float) -> Tensor:
    return torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(torch.clamp_max(x, 0.0)))


def elu_kinks(alpha: float) -> tuple[float, ...]:
    return () if alpha == 1.0 else (0.0,)


def celu(x: Tensor, alpha: float) -> Tensor:
    return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp_max(x, 0.0) / alpha))


def celu_derivative(x: Tensor, alpha: float) -> Tensor:
    return torch.where(x > 0, torch.ones_like(x), torch.exp(torch.clamp_max(x, 0.0) / alpha))


def selu(x: Tensor) -> Tensor:
    return SELU_SCALE * elu(x, SELU_ALPHA)


def selu_derivative(x: Tensor) -> Tensor:
    return SELU_SCALE * elu_derivative(x, SELU_ALPHA)


# ------------------------------------------------------------------ softplus
def softplus(x: Tensor, beta: float, threshold: float) -> Tensor:
    bx = beta * x
    # logaddexp(bx, 0) = log(1 + exp(bx)) without overflow
    return torch.where(bx > threshold, x, torch.logaddexp(bx, torch.zeros_like(bx)) / beta)


def softplus_derivative(x: Tensor, beta: float, threshold: float) -> Tensor:
    bx = beta * x
    return torch.where(bx > threshold, torch.ones_like(x), torch.sigmoid(bx))


SPECS = [
    ActivationSpec(
        name="identity",
        aliases=("linear", "none"),
        summary="The identity f(x) = x: no non-linearity; output layer for regression.",
        family="linear",
        forward=identity,
        derivative=identity_derivative,
        native=_native.identity,
        torch_module=_native.identity_module,
        formula="x",
        derivative_formula="1",
        latex=r"x",
        derivative_latex=r"1",
        init=GLOROT,
        notes=(
            "Use on the output layer for regression (with MSE loss).",
            "A stack of linear layers with identity activations is one linear map: hidden layers need a non-linearity.",
        ),
        references=("Goodfellow, Bengio & Courville, Deep Learning (2016), ch. 6",),
        expected={"monotonic": True, "zero_at_origin": True, "identity_near_origin": True, "smooth": True},
    ),
    ActivationSpec(
        name="relu",
        aliases=("ReLU", "rectifier"),
        summary="Rectified linear unit max(0, x): the default hidden activation.",
        family=FAMILY,
        forward=relu,
        derivative=relu_derivative,
        native=_native.relu,
        torch_module=_native.relu_module,
        formula="max(0, x)",
        derivative_formula="1 if x > 0 else 0",
        latex=r"\max(0, x)",
        derivative_latex=r"\mathbb{1}[x > 0]",
        kinks=(0.0,),
        kink_convention="f'(0) = 0, as PyTorch's autograd",
        init=HE,
        notes=(
            "The default hidden activation: cheap, no saturation for x > 0, sparse activations.",
            "Units whose input stays negative get zero gradient and can 'die'; if many do, try leaky ReLU, PReLU or maxout, or lower the learning rate.",
        ),
        references=(
            "Nair & Hinton, Rectified Linear Units Improve Restricted Boltzmann Machines, ICML 2010",
            "Glorot, Bordes & Bengio, Deep Sparse Rectifier Neural Networks, AISTATS 2011",
        ),
        expected={"monotonic": True, "range_min": 0.0, "range_max": math.inf, "zero_at_origin": True, "dead_region": True, "continuous": True, "differentiable": False},
    ),
    ActivationSpec(
        name="relu6",
        aliases=("ReLU6",),
        summary="ReLU capped at 6: min(max(0, x), 6), robust under low-precision arithmetic.",
        family=FAMILY,
        forward=relu6,
        derivative=relu6_derivative,
        native=_native.relu6,
        torch_module=_native.relu6_module,
        formula="min(max(0, x), 6)",
        derivative_formula="1 if 0 < x < 6 else 0",
        latex=r"\min(\max(0, x), 6)",
        derivative_latex=r"\mathbb{1}[0 < x < 6]",
        kinks=(0.0, 6.0),
        kink_convention="f'(0) = f'(6) = 0, as PyTorch's autograd (hardtanh convention)",
        init=HE,
        notes=("Used in MobileNets; the cap keeps activations in a range that fixed-point arithmetic represents well.",),
        references=("Krizhevsky, Convolutional Deep Belief Networks on CIFAR-10 (2010)", "Howard et al., MobileNets, 2017"),
        expected={"monotonic": True, "range_min": 0.0, "range_max": 6.0, "dead_region": True},
    ),
    ActivationSpec(
        name="leaky_relu",
        aliases=("LeakyReLU", "lrelu"),
        summary="Leaky ReLU: x for x > 0, alpha·x otherwise; units cannot die.",
        family=FAMILY,
        forward=leaky_relu,
        derivative=leaky_relu_derivative,
        native=_native.leaky_relu,
        torch_module=_native.leaky_relu_module,
        params=(
            Param("alpha", 0.01, low=0.0, source="PyTorch negative_slope default 0.01 (Keras uses 0.2; some course notes 0.1)", doc="slope for x < 0"),
        ),
        formula="x if x > 0 else alpha*x",
        derivative_formula="1 if x > 0 else alpha",
        latex=r"\begin{cases} x & x > 0 \\ \alpha x & x \le 0 \end{cases}",
        derivative_latex=r"\begin{cases} 1 & x > 0 \\ \alpha & x \le 0 \end{cases}",
        kinks=(0.0,),
        kink_convention="f'(0) = alpha, as PyTorch's autograd",
        init=HE,
        notes=("Use when ReLU units die: the small negative slope keeps a gradient flowing.",),
        references=("Maas, Hannun & Ng, Rectifier Nonlinearities Improve Neural Network Acoustic Models, ICML 2013",),
        expected={"monotonic": True, "zero_at_origin": True, "dead_region": False},
    ),
    ActivationSpec(
        name="prelu",
        aliases=("PReLU",),
        summary="Parametric ReLU: leaky ReLU whose negative slope is learned (shared or per channel).",
        family=FAMILY,
        forward=leaky_relu,
        derivative=leaky_relu_derivative,
        native=_native.prelu,
        torch_module=_native.prelu_module,
        params=(
            Param("alpha", 0.25, source="He et al. 2015 and torch.nn.PReLU init 0.25", doc="initial negative slope (learned)", learnable=True, torch_name="weight"),
        ),
        param_derivatives={"alpha": leaky_relu_d_alpha},
        formula="x if x > 0 else alpha*x  (alpha learned)",
        derivative_formula="1 if x > 0 else alpha",
        latex=r"\begin{cases} x & x > 0 \\ a x & x \le 0 \end{cases}",
        derivative_latex=r"\begin{cases} 1 & x > 0 \\ a & x \le 0 \end{cases}",
        kinks=(0.0,),
        kink_convention="f'(0) = alpha, as PyTorch's autograd",
        init=HE,
        notes=(
            "Use when ReLU units die and you want the network to choose the slope; module(num_parameters=C) learns one slope per channel (dim 1).",
            "Do not apply weight decay to the slope (He et al. 2015).",
        ),
        references=("He, Zhang, Ren & Sun, Delving Deep into Rectifiers, ICCV 2015",),
    ),
    ActivationSpec(
        name="rrelu",
        aliases=("RReLU",),
        summary="Randomised leaky ReLU: random slope in [lower, upper] per element when training, their mean in eval.",
        family=FAMILY,
        forward=rrelu,
        derivative=rrelu_derivative,
        torch_module=_native.rrelu_module,
        sample=rrelu_sample,
        params=(
            Param("lower", 1.0 / 8.0, low=0.0, high=1.0, source="torch.nn.RReLU default 1/8 (Xu et al. 2015)", doc="smallest random slope"),
            Param("upper", 1.0 / 3.0, low=0.0, high=1.0, source="torch.nn.RReLU default 1/3 (Xu et al. 2015)", doc="largest random slope"),
        ),
        constraints=(_lower_le_upper,),
        formula="x if x > 0 else a*x, a ~ U(lower, upper) in training, (lower+upper)/2 in eval",
        derivative_formula="1 if x > 0 else a",
        latex=r"\begin{cases} x & x > 0 \\ a x & x \le 0 \end{cases},\ a \sim U(l, u)",
        derivative_latex=r"\begin{cases} 1 & x > 0 \\ a & x \le 0 \end{cases}",
        kinks=(0.0,),
        kink_convention="f'(0) = a (the slope in use), as PyTorch",
        init=HE,
        notes=("The random slope acts as a regulariser; forward and derivative here are the eval-mode (mean slope) ones.",),
        references=("Xu, Wang, Chen & Li, Empirical Evaluation of Rectified Activations in Convolutional Network, 2015",),
    ),
    ActivationSpec(
        name="elu",
        aliases=("ELU",),
        summary="Exponential linear unit: x for x > 0, alpha·(exp(x) − 1) otherwise; mean activations nearer zero.",
        family=FAMILY,
        forward=elu,
        derivative=elu_derivative,
        native=_native.elu,
        torch_module=_native.elu_module,
        params=(nonnegative("alpha", 1.0, "Clevert et al. 2015; PyTorch and Keras default 1.0", "saturation value −alpha for x → −∞"),),
        formula="x if x > 0 else alpha*(exp(x) - 1)",
        derivative_formula="1 if x > 0 else alpha*exp(x)",
        latex=r"\begin{cases} x & x > 0 \\ \alpha (e^x - 1) & x \le 0 \end{cases}",
        derivative_latex=r"\begin{cases} 1 & x > 0 \\ \alpha e^x & x \le 0 \end{cases}",
        kinks=elu_kinks,
        kink_convention="f'(0) = alpha (left piece), as PyTorch; for alpha = 1 f is C1 and there is no kink",
        init=HE,
        notes=("Negative values push mean activations toward zero, which speeds learning; saturates to −alpha for large negative inputs.",),
        references=("Clevert, Unterthiner & Hochreiter, Fast and Accurate Deep Network Learning by Exponential Linear Units (ELUs), ICLR 2016",),
        expected={"monotonic": True, "range_min": -1.0, "range_max": math.inf, "zero_at_origin": True},
    ),
    ActivationSpec(
        name="celu",
        aliases=("CELU",),
        summary="Continuously differentiable ELU: max(0, x) + min(0, alpha·(exp(x/alpha) − 1)).",
        family=FAMILY,
        forward=celu,
        derivative=celu_derivative,
        native=_native.celu,
        torch_module=_native.celu_module,
        params=(positive("alpha", 1.0, "Barron 2017; torch.nn.CELU default 1.0", "saturation value −alpha"),),
        formula="max(0, x) + min(0, alpha*(exp(x/alpha) - 1))",
        derivative_formula="1 if x > 0 else exp(x/alpha)",
        latex=r"\max(0, x) + \min(0, \alpha (e^{x/\alpha} - 1))",
        derivative_latex=r"\begin{cases} 1 & x > 0 \\ e^{x/\alpha} & x \le 0 \end{cases}",
        init=HE,
        notes=("Like ELU but C1 for every alpha (ELU is C1 only at alpha = 1).",),
        references=("Barron, Continuously Differentiable Exponential Linear Units, 2017",),
        expected={"monotonic": True, "zero_at_origin": True, "differentiable": True},
    ),
    ActivationSpec(
        name="selu",
        aliases=("SELU",),
        summary="Scaled ELU with the published constants that make networks self-normalising.",
        family=FAMILY,
        forward=selu,
        derivative=selu_derivative,
        native=_native.selu,
        torch_module=_native.selu_module,
        formula=f"{SELU_SCALE!r} * (x if x > 0 else {SELU_ALPHA!r}*(exp(x) - 1))",
        derivative_formula=f"{SELU_SCALE!r} * (1 if x > 0 else {SELU_ALPHA!r}*exp(x))",
        latex=r"\lambda \begin{cases} x & x > 0 \\ \alpha (e^x - 1) & x \le 0 \end{cases},\ \lambda \approx 1.0507,\ \alpha \approx 1.6733",
        derivative_latex=r"\lambda \begin{cases} 1 & x > 0 \\ \alpha e^x & x \le 0 \end{cases}",
        kinks=(0.0,),
        kink_convention="f'(0) = lambda·alpha (left piece), as PyTorch",
        init=LECUN,
        notes=(
            "Self-normalising: with lecun_normal weights, activations keep mean 0 and variance 1 layer after layer, so deep plain MLPs train without batch norm.",
            "Needs lecun_normal init and AlphaDropout (plain dropout breaks the fixed point).",
            f"Constants: lambda = {SELU_SCALE}, alpha = {SELU_ALPHA} (Klambauer et al. 2017, eq. 14).",
        ),
        references=("Klambauer, Unterthiner, Mayr & Hochreiter, Self-Normalizing Neural Networks, NeurIPS 2017",),
        expected={"monotonic": True, "zero_at_origin": True, "self_normalizing": True},
    ),
    ActivationSpec(
        name="softplus",
        aliases=("Softplus", "smooth_relu"),
        summary="Softplus log(1 + exp(beta·x))/beta: a smooth ReLU, computed without overflow.",
        family=FAMILY,
        forward=softplus,
        derivative=softplus_derivative,
        native=_native.softplus,
        torch_module=_native.softplus_module,
        params=(
            positive("beta", 1.0, "torch.nn.Softplus default 1", "sharpness; beta → ∞ approaches ReLU"),
            positive("threshold", 20.0, "torch.nn.Softplus default 20", "above beta·x > threshold f is x (differs by < exp(−threshold)/beta)"),
        ),
        formula="log(1 + exp(beta*x)) / beta",
        derivative_formula="sigmoid(beta*x)",
        latex=r"\frac{1}{\beta}\log(1 + e^{\beta x})",
        derivative_latex=r"\sigma(\beta x)",
        init=HE,
        notes=("A smooth ReLU; also used to keep outputs positive (variances, rates). Never zero, so no dead units, but not zero-centred.",),
        references=("Dugas et al., Incorporating Second-Order Functional Knowledge for Better Option Pricing, NIPS 2000",),
        expected={"monotonic": True, "range_min": 0.0, "zero_at_origin": False, "smooth": True},
    ),
]
