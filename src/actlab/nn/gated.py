"""The feed-forward block of a transformer (and a gated hidden layer): Linear(d, k·h) → activation → Linear(h, d).

For a plain activation k = 1; for a gated unit (GLU family, ``kind="gated"``) k = 2 and the activation returns
value ⊗ act(gate) over the two halves of the first Linear's output (Shazeer 2020's FFN_GEGLU, FFN_SwiGLU, ...);
maxout's k pieces work the same way.  :class:`GatedLinear` is the hidden layer alone: Linear(d, k·h) → activation.
"""
from __future__ import annotations

from torch import Tensor, nn

from actlab.nn.factory import create
from actlab.spec import ActivationSpec

__all__ = ["GatedLinear", "FeedForward"]


class GatedLinear(nn.Module):
    """Linear(d, k·h) → activation: ``h`` outputs whatever the activation's width divisor ``k``."""

    def __init__(self, in_features: int, hidden: int, spec: ActivationSpec, bias: bool = True):
        super().__init__()
        self.spec = spec
        self.linear = nn.Linear(in_features, hidden * spec.width_divisor, bias=bias)
        self.activation = create(spec)

    def forward(self, x: Tensor) -> Tensor:
        return self.activation(self.linear(x))


class FeedForward(nn.Module):
    """A transformer's FFN: :class:`GatedLinear` (d → h) → Linear(h, d) → dropout."""

    def __init__(self, width: int, hidden: int, spec: ActivationSpec, bias: bool = True, dropout: float = 0.0):
        super().__init__()
        self.up = GatedLinear(width, hidden, spec, bias)
        self.down = nn.Linear(hidden, width, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.down(self.up(x)))
