"""Activations over a whole axis: softmax, log-softmax, and maxout (max over k pieces)."""
from __future__ import annotations

import torch
from torch import Tensor

from actlab.catalog import _native
from actlab.catalog._common import GLOROT, HE, Param
from actlab.spec import ActivationSpec

DIM = Param("dim", -1, integer=True, source="last axis, as Keras; torch.nn.Softmax has no default", doc="axis to normalise over")


# ------------------------------------------------------------------- softmax
def softmax(x: Tensor, dim: int) -> Tensor:
    return torch.softmax(x, dim=dim)


def softmax_diagonal(x: Tensor, dim: int) -> Tensor:
    s = torch.softmax(x, dim=dim)
    return s * (1 - s)


def softmax_vjp(x: Tensor, grad: Tensor, dim: int) -> Tensor:
    s = torch.softmax(x, dim=dim)
    return s * (grad - (grad * s).sum(dim=dim, keepdim=True))


# the softmax Jacobian diag(s) − s sᵀ is symmetric: J v = Jᵀ v
softmax_jvp = softmax_vjp


def log_softmax(x: Tensor, dim: int) -> Tensor:
    return torch.log_softmax(x, dim=dim)


def log_softmax_diagonal(x: Tensor, dim: int) -> Tensor:
    return 1 - torch.softmax(x, dim=dim)


def log_softmax_vjp(x: Tensor, grad: Tensor, dim: int) -> Tensor:
    # J = I − 1 sᵀ, so Jᵀ g = g − s Σg
    return grad - torch.softmax(x, dim=dim) * grad.sum(dim=dim, keepdim=True)


def log_softmax_jvp(x: Tensor, tangent: Tensor, dim: int) -> Tensor:
    # J v = v − (s · v) 1
    return tangent - (torch.softmax(x, dim=dim) * tangent).sum(dim=dim, keepdim=True)


# -------------------------------------------------------------------- maxout
def _pieces(x: Tensor, k: int) -> Tensor:
    if x.shape[-1] % k:
        raise ValueError(f"maxout: the last dimension ({x.shape[-1]}) must be a multiple of k = {k}")
    return x.unflatten(-1, (x.shape[-1] // k, k))


def maxout(x: Tensor, k: int) -> Tensor:
    return _pieces(x, k).amax(dim=-1)


def _winner(x: Tensor, k: int) -> Tensor:
    """One-hot (first maximum wins ties) over each group, in x's shape."""
    pieces = _pieces(x, k)
    index = pieces.argmax(dim=-1, keepdim=True)
    return torch.zeros_like(pieces).scatter_(-1, index, 1.0).flatten(-2)


def maxout_diagonal(x: Tensor, k: int) -> Tensor:
    return _winner(x, k)


def maxout_vjp(x: Tensor, grad: Tensor, k: int) -> Tensor:
    return _winner(x, k) * grad.repeat_interleave(k, dim=-1)


def maxout_jvp(x: Tensor, tangent: Tensor, k: int) -> Tensor:
    return (_winner(x, k) * tangent).unflatten(-1, (x.shape[-1] // k, k)).sum(dim=-1)


SPECS = [
    ActivationSpec(
        name="softmax",
        aliases=("Softmax",),
        summary="exp(x_i)/Σ exp(x_j) along dim: turns scores into a probability distribution; the multi-class output.",
        family="normaliser",
        kind="vector",
        forward=softmax,
        derivative=softmax_diagonal,
        native=_native.softmax,
        torch_module=_native.softmax_module,
        vjp=softmax_vjp,
        jvp=softmax_jvp,
        params=(DIM,),
        formula="exp(x_i) / sum_j exp(x_j)",
        derivative_formula="J = diag(s) - s s^T; J v = s*(v - sum(s*v)); diagonal s_i (1 - s_i)",
        latex=r"\frac{e^{x_i}}{\sum_j e^{x_j}}",
        derivative_latex=r"\frac{\partial s_i}{\partial x_j} = s_i(\delta_{ij} - s_j)",
        init=GLOROT,
        notes=(
            "Use on the output layer for multi-class classification, with cross-entropy (in PyTorch pass logits to CrossEntropyLoss, which applies log_softmax itself).",
            "Not an element-wise hidden activation: each output depends on the whole vector. 'derivative' reports the diagonal of the Jacobian; vjp/jvp are exact.",
        ),
        references=("Bridle, Probabilistic interpretation of feedforward classification network outputs, 1990",),
    ),
    ActivationSpec(
        name="log_softmax",
        aliases=("LogSoftmax", "logsoftmax"),
        summary="log softmax along dim, computed stably; pairs with the negative log-likelihood loss.",
        family="normaliser",
        kind="vector",
        forward=log_softmax,
        derivative=log_softmax_diagonal,
        native=_native.log_softmax,
        torch_module=_native.log_softmax_module,
        vjp=log_softmax_vjp,
        jvp=log_softmax_jvp,
        params=(DIM,),
        formula="x_i - log(sum_j exp(x_j))",
        derivative_formula="J = I - 1 s^T; J v = v - sum(s*v); diagonal 1 - s_i",
        latex=r"x_i - \log \sum_j e^{x_j}",
        derivative_latex=r"\frac{\partial y_i}{\partial x_j} = \delta_{ij} - s_j",
        init=GLOROT,
        notes=("Use on the output layer with NLLLoss; numerically safer than log(softmax(x)).",),
        references=("PyTorch torch.nn.LogSoftmax",),
    ),
    ActivationSpec(
        name="maxout",
        aliases=("Maxout",),
        summary="Max over k affine pieces: groups of k consecutive inputs → their maximum (use actlab.nn.Maxout for the layer).",
        family="rectifier",
        kind="grouped",
        forward=maxout,
        derivative=maxout_diagonal,
        vjp=maxout_vjp,
        jvp=maxout_jvp,
        params=(Param("k", 2, low=2, integer=True, source="Goodfellow et al. 2013 use 2-5 pieces", doc="pieces per output unit"),),
        formula="max_j z_ij over k pieces z_ij = w_ij·x + b_ij",
        derivative_formula="1 for the winning piece of each group, 0 for the others",
        latex=r"\max_{j \le k} z_{ij}",
        derivative_latex=r"\mathbb{1}[j = \arg\max_j z_{ij}]",
        kink_convention="ties: the first maximal piece gets the gradient (torch.argmax)",
        init=HE,
        notes=(
            "Learns its own convex piecewise-linear activation; never dies (some piece always passes gradient). Costs k× the parameters of the layer before it.",
            "As an activation it shrinks the last dimension by k: the layer before must output k× as many features.",
        ),
        references=("Goodfellow, Warde-Farley, Mirza, Courville & Bengio, Maxout Networks, ICML 2013",),
    ),
]
