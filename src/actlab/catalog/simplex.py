"""More maps onto the probability simplex along an axis: sparsemax (Euclidean projection) and softmin."""
from __future__ import annotations

import torch
from torch import Tensor

from actlab.catalog import _native
from actlab.catalog._common import GLOROT
from actlab.catalog.vector import DIM
from actlab.spec import ActivationSpec


# ----------------------------------------------------------------- sparsemax
def _threshold(z: Tensor) -> Tensor:
    """τ(z) along the last axis: the support is {i : z_i > τ} (Martins & Astudillo 2016, Algorithm 1)."""
    ordered, _ = torch.sort(z, dim=-1, descending=True)
    k = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype, device=z.device)
    partial = ordered.cumsum(dim=-1) - 1
    in_support = ordered * k > partial  # 1 + k·z_(k) > Σ_{j≤k} z_(j)
    size = in_support.sum(dim=-1, keepdim=True).clamp_min(1)
    return partial.gather(-1, size - 1) / size.to(z.dtype)


def sparsemax(x: Tensor, dim: int) -> Tensor:
    z = x.movedim(dim, -1)
    return torch.clamp_min(z - _threshold(z), 0.0).movedim(-1, dim)


def _support(x: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """(indicator of the support, its size) along ``dim``."""
    inside = (sparsemax(x, dim) > 0).to(x.dtype)
    return inside, inside.sum(dim=dim, keepdim=True).clamp_min(1)


def sparsemax_diagonal(x: Tensor, dim: int) -> Tensor:
    inside, size = _support(x, dim)
    return inside * (1 - 1 / size)


def sparsemax_vjp(x: Tensor, grad: Tensor, dim: int) -> Tensor:
    # J = diag(s) − s sᵀ/|S| with s the support's indicator: symmetric, so J v = Jᵀ v
    inside, size = _support(x, dim)
    return inside * (grad - (grad * inside).sum(dim=dim, keepdim=True) / size)


sparsemax_jvp = sparsemax_vjp


# ------------------------------------------------------------------- softmin
def softmin(x: Tensor, dim: int) -> Tensor:
    return torch.softmax(-x, dim=dim)


def softmin_diagonal(x: Tensor, dim: int) -> Tensor:
    s = torch.softmax(-x, dim=dim)
    return -s * (1 - s)


def softmin_vjp(x: Tensor, grad: Tensor, dim: int) -> Tensor:
    # J = −(diag(s) − s sᵀ), symmetric
    s = torch.softmax(-x, dim=dim)
    return -s * (grad - (grad * s).sum(dim=dim, keepdim=True))


softmin_jvp = softmin_vjp


SPECS = [
    ActivationSpec(
        name="sparsemax",
        aliases=("Sparsemax",),
        summary="Sparsemax along dim: the Euclidean projection onto the probability simplex — a softmax with exact zeros.",
        family="normaliser",
        kind="vector",
        forward=sparsemax,
        derivative=sparsemax_diagonal,
        vjp=sparsemax_vjp,
        jvp=sparsemax_jvp,
        params=(DIM,),
        formula="max(x_i - tau(x), 0), tau such that the outputs sum to 1",
        derivative_formula="J = diag(s) - s s^T/|S| (s: support indicator); J v = s*(v - sum(s*v)/|S|); diagonal s_i (1 - 1/|S|)",
        latex=r"\left[x_i - \tau(x)\right]_+,\ \sum_i \left[x_i - \tau(x)\right]_+ = 1",
        derivative_latex=r"\frac{\partial p_i}{\partial x_j} = s_i\left(\delta_{ij} - \frac{s_j}{|S|}\right)",
        init=GLOROT,
        notes=(
            "Use where a distribution should be sparse (attention over a few items, multi-label outputs): low scores get exactly 0.",
            "Piecewise linear: its Jacobian is constant on each support pattern, and zero for the coordinates outside the support.",
            "Not element-wise: 'derivative' reports the Jacobian's diagonal; vjp/jvp are exact. For two inputs "
            "sparsemax([x, 0])[0] = sparse_sigmoid(x).",
        ),
        references=("Martins & Astudillo, From Softmax to Sparsemax: A Sparse Model of Attention and Multi-Label Classification, ICML 2016",),
    ),
    ActivationSpec(
        name="softmin",
        aliases=("Softmin",),
        summary="Softmin along dim: softmax(−x), the largest weight on the smallest input.",
        family="normaliser",
        kind="vector",
        forward=softmin,
        derivative=softmin_diagonal,
        native=_native.softmin,
        torch_module=_native.softmin_module,
        vjp=softmin_vjp,
        jvp=softmin_jvp,
        params=(DIM,),
        formula="exp(-x_i) / sum_j exp(-x_j)",
        derivative_formula="J = -(diag(s) - s s^T), s = softmin(x); J v = -s*(v - sum(s*v)); diagonal -s_i (1 - s_i)",
        latex=r"\frac{e^{-x_i}}{\sum_j e^{-x_j}}",
        derivative_latex=r"\frac{\partial s_i}{\partial x_j} = -s_i(\delta_{ij} - s_j)",
        init=GLOROT,
        notes=(
            "Turns costs or distances into weights (soft nearest neighbour, soft minimum); not a hidden activation.",
            "Not element-wise: 'derivative' reports the Jacobian's diagonal; vjp/jvp are exact.",
        ),
        references=("PyTorch torch.nn.Softmin",),
    ),
]
