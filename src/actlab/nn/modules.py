"""``ActivationModule``: the ``nn.Module`` of an :class:`ActivationSpec` (through the generic Function)."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from actlab.nn.function import function_for
from actlab.spec import ActivationSpec

__all__ = ["ActivationModule"]


class ActivationModule(nn.Module):
    """``nn.Module`` wrapper of an :class:`ActivationSpec`.

    Fixed parameters are plain attributes; learnable ones (PReLU's slope) are
    ``nn.Parameter`` of shape ``(num_parameters,)``, broadcast along dim 1 of the
    input when ``num_parameters > 1`` (one per channel, as ``torch.nn.PReLU``).
    Random parameters (RReLU) are sampled in training mode and fixed in eval.
    """

    def __init__(self, spec: ActivationSpec, num_parameters: int = 1, **params: Any):
        super().__init__()
        if num_parameters < 1:
            raise ValueError(f"num_parameters must be >= 1, got {num_parameters}")
        self.spec = spec
        self.num_parameters = int(num_parameters)
        resolved = spec.resolve(**params)
        self.fixed: dict[str, Any] = {}
        self.learnable = nn.ParameterDict()
        for p in spec.params:
            if p.learnable:
                init = torch.full((self.num_parameters,), float(resolved[p.name]))
                self.learnable[p.name] = nn.Parameter(init)
            else:
                self.fixed[p.name] = resolved[p.name]
        self._function = function_for(spec)

    def _learnable_value(self, value: Tensor, x: Tensor) -> Tensor:
        if self.num_parameters == 1:
            return value.reshape(())
        if x.dim() < 2 or x.shape[1] != self.num_parameters:
            raise ValueError(
                f"{self.spec.name}: {self.num_parameters} parameters expect input of shape "
                f"(N, {self.num_parameters}, ...), got {tuple(x.shape)}"
            )
        return value.reshape((1, -1) + (1,) * (x.dim() - 2))

    def forward(self, x: Tensor) -> Tensor:
        params: dict[str, Any] = dict(self.fixed)
        for name, value in self.learnable.items():
            params[name] = self._learnable_value(value, x).to(x.dtype)
        if self.training and self.spec.sample is not None:
            params.update(self.spec.sample(x, **params))
        return self._function.apply(x, *(params[n] for n in self.spec.param_names))

    def extra_repr(self) -> str:
        shown = [f"{k}={v}" for k, v in self.fixed.items()]
        if self.learnable:
            shown.append(f"learnable={list(self.learnable)} x{self.num_parameters}")
        return f"{self.spec.name}" + (", " + ", ".join(shown) if shown else "")
