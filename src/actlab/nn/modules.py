"""``ActivationModule``: the ``nn.Module`` of an :class:`ActivationSpec`.

Two implementations behind one module: ``native`` (the spec's PyTorch op, torch's own
autograd: native speed) and ``reference`` (the generic Function: backward from the
spec's analytic derivative, saves only the input).  ``impl="auto"`` takes the native op where
the spec has one, else the generic Function with its forward and backward each compiled into one
kernel for large tensors (:class:`actlab.fused.Fused`).  The conformance suite checks
that both agree (values and gradients, at kinks too).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from actlab.nn.function import function_for
from actlab.spec import ActivationSpec

__all__ = ["ActivationModule", "IMPLS"]

IMPLS = ("auto", "native", "reference")  # see ActivationModule


class ActivationModule(nn.Module):
    """``nn.Module`` wrapper of an :class:`ActivationSpec`.

    Fixed parameters are plain attributes; learnable ones (PReLU's slope) are
    ``nn.Parameter`` of shape ``(num_parameters,)`` named as torch names them
    (``weight`` for PReLU, so a ``state_dict`` moves to and from ``torch.nn.PReLU``),
    broadcast along dim 1 of the input when ``num_parameters > 1``.
    Random parameters (RReLU) are sampled in training mode and fixed in eval.

    ``impl``: ``"auto"`` (native where the spec names a PyTorch op, else the reference Function with its
    forward and backward compiled for large tensors: ``fused``),
    ``"native"`` or ``"reference"``.  The module pickles, ``torch.save``-s and
    deep-copies like a ``torch.nn`` module; ``torch.jit.script`` receives the equivalent
    ``torch.nn`` module where one exists.
    """

    def __init__(self, spec: ActivationSpec, num_parameters: int = 1, impl: str = "auto", **params: Any):
        super().__init__()
        if num_parameters < 1:
            raise ValueError(f"num_parameters must be >= 1, got {num_parameters}")
        if impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
        if impl == "native" and spec.native is None:
            raise ValueError(f"{spec.name} has no native PyTorch op; use impl='reference' or 'auto'")
        self.spec = spec
        self.num_parameters = int(num_parameters)
        self.impl = "native" if impl == "auto" and spec.native is not None else ("reference" if impl == "auto" else impl)
        self.fused = impl == "auto" and self.impl == "reference"  # compiled for large tensors
        resolved = spec.resolve(**params)
        self.fixed: dict[str, Any] = {}
        for p in spec.params:
            if p.learnable:
                init = torch.full((self.num_parameters,), float(resolved[p.name]))
                self.register_parameter(p.attribute, nn.Parameter(init))
            else:
                self.fixed[p.name] = resolved[p.name]

    @property
    def learnable(self) -> dict[str, nn.Parameter]:
        """The learnable parameters by their spec names (``{"alpha": self.weight}`` for PReLU)."""
        return {p.name: getattr(self, p.attribute) for p in self.spec.learnable_params}

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
        spec = self.spec
        if self.impl == "native" and not (self.training and spec.sample is not None):
            params: dict[str, Any] = dict(self.fixed)
            for p in spec.learnable_params:
                params[p.name] = getattr(self, p.attribute).to(x.dtype)
            return spec.native(x, **params)
        params = dict(self.fixed)
        for p in spec.learnable_params:
            params[p.name] = self._learnable_value(getattr(self, p.attribute), x).to(x.dtype)
        if self.training and spec.sample is not None:
            params.update(spec.sample(x, **params))
        fused = getattr(self, "fused", False)  # (modules pickled before the attribute existed: eager)
        return function_for(spec, fused).apply(x, *(params[n] for n in spec.param_names))

    # ------------------------------------------------------------ interop
    def torch_equivalent(self) -> nn.Module:
        """The equivalent ``torch.nn`` module with this module's parameters (raises when torch has none)."""
        spec = self.spec
        if spec.torch_module is None:
            raise TypeError(
                f"actlab's {spec.name} has no torch.nn equivalent, so torch.jit.script cannot compile it "
                "(its autograd.Function is not TorchScript); use torch.compile(model) or torch.export.export(model, args)"
            )
        values: dict[str, Any] = dict(self.fixed)
        for p in spec.learnable_params:
            values[p.name] = float(getattr(self, p.attribute).detach().reshape(-1)[0])
        if spec.learnable_params:
            values["num_parameters"] = self.num_parameters
        twin = spec.torch_module(**values)
        if spec.learnable_params:
            twin.load_state_dict(self.state_dict())
        return twin.train(self.training)

    def __prepare_scriptable__(self) -> nn.Module:
        """``torch.jit.script`` hook: script the equivalent ``torch.nn`` module, or say what to use instead."""
        return self.torch_equivalent()

    def extra_repr(self) -> str:
        shown = [f"{k}={v}" for k, v in self.fixed.items()]
        if self.spec.learnable_params:
            shown.append(f"learnable={[p.attribute for p in self.spec.learnable_params]} x{self.num_parameters}")
        if self.impl != "native":
            shown.append("impl=auto (compiled for large tensors)" if getattr(self, "fused", False) else f"impl={self.impl}")
        return f"{self.spec.name}" + (", " + ", ".join(shown) if shown else "")
