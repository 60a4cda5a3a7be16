"""One generic ``torch.autograd.Function`` driven by an :class:`ActivationSpec`.

Like timm's memory-efficient ("ME") activations, the function saves only its
input (plus any tensor-valued parameters: a learnable slope, RReLU's sampled
slopes) and recomputes the derivative in backward from the spec's analytic
formula.  Autograd never records the forward's intermediate tensors.
"""
from __future__ import annotations

import functools
from typing import Any

import torch
from torch import Tensor, nn

from actlab.spec import ActivationSpec

__all__ = ["function_for", "apply", "ActivationModule"]


def _reduce_to(grad: Tensor, like: Tensor) -> Tensor:
    """Sum ``grad`` over the dimensions that ``like`` was broadcast along."""
    if grad.shape == like.shape:
        return grad
    return grad.sum_to_size(like.shape)


@functools.lru_cache(maxsize=None)
def function_for(spec: ActivationSpec) -> type[torch.autograd.Function]:
    """The autograd Function class for ``spec`` (one per spec, cached)."""
    names = spec.param_names
    forward_fn = spec.forward
    derivative_fn = spec.derivative
    vjp_fn = spec.vjp
    param_derivatives = dict(spec.param_derivatives)

    class SpecFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor, *values: Any) -> Tensor:
            params = dict(zip(names, values))
            tensor_slots = tuple(i for i, v in enumerate(values) if isinstance(v, Tensor))
            ctx.tensor_slots = tensor_slots
            ctx.constants = tuple(None if isinstance(v, Tensor) else v for v in values)
            ctx.save_for_backward(x, *(values[i] for i in tensor_slots))
            return forward_fn(x, **params)

        @staticmethod
        def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
            x, *saved = ctx.saved_tensors
            values = list(ctx.constants)
            for slot, tensor in zip(ctx.tensor_slots, saved):
                values[slot] = tensor
            params = dict(zip(names, values))
            grad_x = None
            if ctx.needs_input_grad[0]:
                if vjp_fn is not None:
                    grad_x = vjp_fn(x, grad_output, **params)
                else:
                    grad_x = grad_output * derivative_fn(x, **params)
            grads: list[Tensor | None] = [grad_x]
            for i, name in enumerate(names):
                value = values[i]
                if ctx.needs_input_grad[i + 1] and isinstance(value, Tensor):
                    local = param_derivatives[name](x, **params)
                    grads.append(_reduce_to(grad_output * local, value))
                else:
                    grads.append(None)
            return tuple(grads)

    SpecFunction.__name__ = SpecFunction.__qualname__ = f"{spec.name}_function"
    return SpecFunction


def apply(spec: ActivationSpec, x: Tensor, **params: Any) -> Tensor:
    """f(x) through the generic Function (backward from the analytic derivative)."""
    resolved = spec.resolve(**{k: v for k, v in params.items() if not isinstance(v, Tensor)})
    resolved.update({k: v for k, v in params.items() if isinstance(v, Tensor)})
    values = [resolved[n] for n in spec.param_names]
    return function_for(spec).apply(x, *values)


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
