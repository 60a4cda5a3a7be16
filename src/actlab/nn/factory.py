"""``create``: the one factory from an activation (name, alias, formula or spec) to its torch module.

>>> create("gelu")
ActivationModule(gelu)
>>> create("prelu", num_parameters=3).weight.shape
torch.Size([3])
"""
from __future__ import annotations

from typing import Any

from torch import nn

from actlab.errors import ActlabError
from actlab.nn.modules import ActivationModule
from actlab.resolve import get
from actlab.spec import ActivationSpec

__all__ = ["create"]


def create(activation: str | ActivationSpec, num_parameters: int = 1, *, impl: str = "auto",
           **params: Any) -> nn.Module:
    """A ``torch.nn.Module`` computing ``activation``, usable in ``nn.Sequential``.

    ``activation``: a name or alias (``"swish"``), a formula in ``x`` or an :class:`ActivationSpec`.
    ``num_parameters`` sets how many copies of each learnable parameter there are
    (1: shared; C: one per channel along dim 1, like ``torch.nn.PReLU``).
    ``impl``: ``"native"`` runs the spec's PyTorch op (``spec.native``) with torch's autograd,
    ``"reference"`` the generic Function (backward from the analytic derivative, saves only x),
    ``"auto"`` (default) native where the spec has one, else reference.
    ``params`` override the spec's parameter values (``create("elu", alpha=0.5)``).
    """
    spec = activation if isinstance(activation, ActivationSpec) else get(activation) if isinstance(activation, str) else None
    if spec is None:
        raise ActlabError(f"an activation is a name, a formula or an ActivationSpec, got {type(activation).__name__}")
    return ActivationModule(spec, num_parameters=num_parameters, impl=impl, **params)
