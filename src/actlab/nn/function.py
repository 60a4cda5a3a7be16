"""One generic ``torch.autograd.Function`` driven by an :class:`ActivationSpec`.

Like timm's memory-efficient ("ME") activations, the function saves only its
input (plus any tensor-valued parameters: a learnable slope, RReLU's sampled
slopes) and recomputes the derivative in backward from the spec's analytic
formula (the one backward rule, :meth:`ActivationSpec.input_grad`).  Autograd never records the forward's intermediate tensors.

``function_for(spec, fused=True)`` (the ``impl="auto"`` module of an entry without a native op) runs the
forward and the backward each as one ``torch.compile``-d kernel on large tensors (:class:`actlab.fused.Fused`);
formula specs' functions are fused already.
"""
from __future__ import annotations

import functools
from typing import Any

import torch
from torch import Tensor

from actlab.spec import ActivationSpec

__all__ = ["function_for", "apply"]


def _reduce_to(grad: Tensor, like: Tensor) -> Tensor:
    """Sum ``grad`` over the dimensions that ``like`` was broadcast along."""
    if grad.shape == like.shape:
        return grad
    return grad.sum_to_size(like.shape)


def function_for(spec: ActivationSpec, fused: bool = False) -> type[torch.autograd.Function]:
    """The autograd Function class for ``spec`` (one per spec and ``fused``, cached).

    ``fused``: forward and backward compiled for large tensors (each one kernel; eager below
    :data:`actlab.fused.MIN_NUMEL` elements or when the job does not compile)."""
    from actlab.fused import Fused

    return _function(spec, fused and not isinstance(spec.forward, Fused))


@functools.cache
def _function(spec: ActivationSpec, fused: bool) -> type[torch.autograd.Function]:
    names = spec.param_names
    forward_fn = spec.forward
    input_grad = spec.input_grad
    if fused:
        from actlab.fused import Fused

        label = "".join(c if c.isalnum() else "_" for c in spec.name)
        forward_fn = Fused(forward_fn, f"{label}_forward", "module")
        input_grad = Fused(input_grad, f"{label}_input_grad", "module")
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
                grad_x = input_grad(x, grad_output, **params)
            grads: list[Tensor | None] = [grad_x]
            for i, name in enumerate(names):
                value = values[i]
                if ctx.needs_input_grad[i + 1] and isinstance(value, Tensor):
                    local = param_derivatives[name](x, **params)
                    grads.append(_reduce_to(grad_output * local, value))
                else:
                    grads.append(None)
            return tuple(grads)

    SpecFunction.parts = (forward_fn, input_grad)  # what runs: the spec's functions, or their Fused wrappers
    SpecFunction.__name__ = SpecFunction.__qualname__ = f"{spec.name}_{'fused_' if fused else ''}function"
    return SpecFunction


def apply(spec: ActivationSpec, x: Tensor, **params: Any) -> Tensor:
    """f(x) through the generic Function (backward from the analytic derivative)."""
    resolved = spec.resolve(**{k: v for k, v in params.items() if not isinstance(v, Tensor)})
    resolved.update({k: v for k, v in params.items() if isinstance(v, Tensor)})
    values = [resolved[n] for n in spec.param_names]
    return function_for(spec).apply(x, *values)
