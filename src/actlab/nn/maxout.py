"""Layers built from activation specs: Maxout (k affine pieces, then their max)."""
from __future__ import annotations

from torch import Tensor, nn

from actlab.catalog import builtin
from actlab.nn.modules import ActivationModule

__all__ = ["Maxout"]


class Maxout(nn.Module):
    """Maxout layer: ``out_features`` units, each the max of ``k`` affine pieces.

    Shape: (N, *, in_features) → (N, *, out_features).

    >>> layer = Maxout(4, 3, k=2)
    """

    def __init__(self, in_features: int, out_features: int, k: int = 2, bias: bool = True):
        super().__init__()
        spec = builtin("maxout")
        self.k = int(spec.param("k").check(k, "maxout"))
        self.linear = nn.Linear(in_features, out_features * self.k, bias=bias)
        self.activation = ActivationModule(spec, k=self.k)

    def forward(self, x: Tensor) -> Tensor:
        return self.activation(self.linear(x))
