"""The PyTorch ops that compute catalog activations exactly (``ActivationSpec.native``) and their
``torch.nn`` modules (``ActivationSpec.torch_module``).

Each op takes x and exactly the record's parameters, so the spec's signature check holds; the
conformance check ``native_vs_reference`` compares each against the record's analytic derivative.
Module-level functions (no lambdas): modules pickle by reference.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def identity(x: Tensor) -> Tensor:
    return x


def relu(x: Tensor) -> Tensor:
    return F.relu(x)


def relu6(x: Tensor) -> Tensor:
    return F.relu6(x)


def leaky_relu(x: Tensor, alpha: float) -> Tensor:
    return F.leaky_relu(x, alpha)


def prelu(x: Tensor, alpha: Tensor) -> Tensor:
    return F.prelu(x, alpha)


def elu(x: Tensor, alpha: float) -> Tensor:
    return F.elu(x, alpha)


def celu(x: Tensor, alpha: float) -> Tensor:
    return F.celu(x, alpha)


def selu(x: Tensor) -> Tensor:
    return F.selu(x)


def softplus(x: Tensor, beta: float, threshold: float) -> Tensor:
    return F.softplus(x, beta, threshold)


def sigmoid(x: Tensor) -> Tensor:
    return torch.sigmoid(x)


def hard_sigmoid(x: Tensor) -> Tensor:
    return F.hardsigmoid(x)


def log_sigmoid(x: Tensor) -> Tensor:
    return F.logsigmoid(x)


def tanh(x: Tensor) -> Tensor:
    return torch.tanh(x)


def hard_tanh(x: Tensor, min_val: float, max_val: float) -> Tensor:
    return F.hardtanh(x, min_val, max_val)


def softsign(x: Tensor) -> Tensor:
    return F.softsign(x)


def arctan(x: Tensor) -> Tensor:
    return torch.atan(x)


def gelu(x: Tensor) -> Tensor:
    return F.gelu(x)


def gelu_tanh(x: Tensor) -> Tensor:
    return F.gelu(x, approximate="tanh")


def silu(x: Tensor, beta: float) -> Tensor:
    # x·σ(βx) = silu(βx)/β: torch's fused op for every beta
    return F.silu(x) if beta == 1.0 else F.silu(beta * x) / beta


def hard_swish(x: Tensor) -> Tensor:
    return F.hardswish(x)


def mish(x: Tensor) -> Tensor:
    return F.mish(x)


def softshrink(x: Tensor, lambd: float) -> Tensor:
    return F.softshrink(x, lambd)


def hardshrink(x: Tensor, lambd: float) -> Tensor:
    return F.hardshrink(x, lambd)


def tanhshrink(x: Tensor) -> Tensor:
    return F.tanhshrink(x)


def sin(x: Tensor) -> Tensor:
    return torch.sin(x)


def cos(x: Tensor) -> Tensor:
    return torch.cos(x)


def exponential(x: Tensor) -> Tensor:
    return torch.exp(x)


def softmax(x: Tensor, dim: int) -> Tensor:
    return F.softmax(x, dim)


def log_softmax(x: Tensor, dim: int) -> Tensor:
    return F.log_softmax(x, dim)


# ------------------------------------------------------------ torch.nn twins (TorchScript, interop)
def identity_module() -> nn.Module:
    return nn.Identity()


def relu_module() -> nn.Module:
    return nn.ReLU()


def relu6_module() -> nn.Module:
    return nn.ReLU6()


def leaky_relu_module(alpha: float) -> nn.Module:
    return nn.LeakyReLU(alpha)


def prelu_module(alpha: float, num_parameters: int = 1) -> nn.Module:
    return nn.PReLU(num_parameters, init=alpha)


def rrelu_module(lower: float, upper: float) -> nn.Module:
    return nn.RReLU(lower, upper)


def elu_module(alpha: float) -> nn.Module:
    return nn.ELU(alpha)


def celu_module(alpha: float) -> nn.Module:
    return nn.CELU(alpha)


def selu_module() -> nn.Module:
    return nn.SELU()


def softplus_module(beta: float, threshold: float) -> nn.Module:
    return nn.Softplus(beta, threshold)


def sigmoid_module() -> nn.Module:
    return nn.Sigmoid()


def hard_sigmoid_module() -> nn.Module:
    return nn.Hardsigmoid()


def log_sigmoid_module() -> nn.Module:
    return nn.LogSigmoid()


def tanh_module() -> nn.Module:
    return nn.Tanh()


def hard_tanh_module(min_val: float, max_val: float) -> nn.Module:
    return nn.Hardtanh(min_val, max_val)


def softsign_module() -> nn.Module:
    return nn.Softsign()


def gelu_module() -> nn.Module:
    return nn.GELU()


def gelu_tanh_module() -> nn.Module:
    return nn.GELU(approximate="tanh")


def silu_module(beta: float) -> nn.Module:
    if beta != 1.0:
        raise TypeError(f"torch.nn.SiLU has no beta (got beta={beta}); use torch.compile or torch.export instead")
    return nn.SiLU()


def hard_swish_module() -> nn.Module:
    return nn.Hardswish()


def mish_module() -> nn.Module:
    return nn.Mish()


def softshrink_module(lambd: float) -> nn.Module:
    return nn.Softshrink(lambd)


def hardshrink_module(lambd: float) -> nn.Module:
    return nn.Hardshrink(lambd)


def tanhshrink_module() -> nn.Module:
    return nn.Tanhshrink()


def softmax_module(dim: int) -> nn.Module:
    return nn.Softmax(dim)


def log_softmax_module(dim: int) -> nn.Module:
    return nn.LogSoftmax(dim)


# ------------------------------------------------------- ops for the modern and simplex records
def relu2(x: Tensor) -> Tensor:
    return torch.square(F.relu(x))


def threshold(x: Tensor, threshold: float, value: float) -> Tensor:
    return F.threshold(x, threshold, value)


def threshold_module(threshold: float, value: float) -> nn.Module:
    return nn.Threshold(threshold, value)


def softmin(x: Tensor, dim: int) -> Tensor:
    return F.softmin(x, dim)


def softmin_module(dim: int) -> nn.Module:
    return nn.Softmin(dim)
