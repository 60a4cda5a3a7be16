"""A different activation per unit of a layer: :class:`PerNeuron`, and the ``--act`` item syntax.

``PerNeuron(["cos", "identity"])`` applies ``cos`` to unit 0 and the identity to
unit 1 of the last dimension.  Units sharing an activation are applied together
(one call of the spec's autograd Function per distinct activation, backward from
the spec's analytic derivative), then put back in unit order.

An item is a catalog name or alias, a formula in ``x`` (``"sign(x)*x**2"``) or an
:class:`ActivationSpec`; a string may carry options after colons:
``"elu:alpha=0.5"`` (a parameter value), ``"prelu:per_unit"`` (one learnable slope
per unit instead of one shared by the units of that activation).

>>> import torch
>>> layer = PerNeuron(["cos", "identity"])
>>> layer(torch.zeros(4, 2)).tolist()[0]
[1.0, 0.0]
"""
from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from actlab.errors import ActlabError
from actlab.resolve import get
from actlab.spec import ActivationSpec

__all__ = ["ActivationItem", "PerNeuron", "parse_item", "split_list"]


@dataclass(frozen=True)
class ActivationItem:
    """One parsed activation: the spec (parameters bound), whether learnable params are per unit, the text."""

    spec: ActivationSpec
    per_unit: bool = False
    text: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.text or self.spec.name

    @functools.cached_property
    def resolved(self) -> dict[str, Any]:
        """The spec's parameter values (validated once)."""
        return self.spec.resolve()


_OPTION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*$")


def parse_item(item: str | ActivationSpec) -> ActivationItem:
    """``"prelu:per_unit"``, ``"maxout:k=3"``, ``"cos"``, ``"sign(x)*x**2"`` → :class:`ActivationItem`."""
    if isinstance(item, ActivationSpec):
        return ActivationItem(item, text=item.name)
    if not isinstance(item, str):
        raise ActlabError(f"an activation is a name, a formula or an ActivationSpec, got {type(item).__name__}")
    text = item.strip()
    head, *options = text.split(":")
    params: dict[str, Any] = {}
    per_unit = False
    for option in options:
        if option.strip() == "per_unit":
            per_unit = True
            continue
        match = _OPTION.match(option)
        if not match:
            raise ActlabError(f"activation {text!r}: option {option!r} is not per_unit or NAME=VALUE")
        key, raw = match.groups()
        try:
            params[key] = int(raw) if re.fullmatch(r"[+-]?\d+", raw) else float(raw)
        except ValueError:
            raise ActlabError(f"activation {text!r}: {key}={raw!r} is not a number") from None
    spec = get(head.strip(), **params)
    if per_unit and not spec.learnable_params:
        raise ActlabError(f"activation {text!r}: per_unit applies to learnable parameters, and {spec.name} has none")
    return ActivationItem(spec, per_unit=per_unit, text=text, params=params)


def split_list(text: str) -> list[str]:
    """Split ``"cos,identity"`` at top-level commas (commas inside parentheses belong to a formula)."""
    items, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    stripped = [s.strip() for s in items]
    if any(not s for s in stripped):
        raise ActlabError(f"empty item in the activation list {text!r}")
    return stripped


def check_elementwise(item: ActivationItem) -> None:
    spec = item.spec
    if spec.kind != "elementwise":
        raise ActlabError(f"{spec.name} is a {spec.kind} activation (it mixes units); a per-neuron list takes "
                          "elementwise activations only")
    if not spec.trainable:
        raise ActlabError(f"{spec.name} cannot be trained by backprop (its gradient is zero almost everywhere)")


class PerNeuron(nn.Module):
    """A different elementwise activation for each unit of the last dimension.

    Parameters
    ----------
    activations:
        one item per unit: a name, alias, formula or spec; strings take options
        (``"prelu:per_unit"``, ``"elu:alpha=0.5"``, see :func:`parse_item`).

    Shape: (*, H) → (*, H) with H = ``len(activations)``.  Learnable parameters
    (PReLU's slope) are ``nn.Parameter``: one per distinct activation, or one per
    unit with ``per_unit``; RReLU samples its slopes in training mode.
    """

    def __init__(self, activations: Sequence[str | ActivationSpec]):
        super().__init__()
        if isinstance(activations, str):
            activations = split_list(activations)
        items = [parse_item(a) for a in activations]
        if not items:
            raise ActlabError("PerNeuron needs at least one activation")
        for item in items:
            check_elementwise(item)
        self.items = tuple(items)
        self.width = len(items)
        keys: dict[str, list[int]] = {}
        for unit, item in enumerate(items):
            keys.setdefault(item.label if item.text else f"spec:{id(item.spec)}", []).append(unit)
        self.groups: list[tuple[ActivationItem, list[int]]] = [(items[units[0]], units) for units in keys.values()]
        self.learnable = nn.ModuleList()
        for index, (item, units) in enumerate(self.groups):
            self.register_buffer(f"_units{index}", torch.tensor(units, dtype=torch.long), persistent=False)
            resolved = item.spec.resolve()
            holder = nn.ParameterDict()
            for p in item.spec.learnable_params:
                count = len(units) if item.per_unit else 1
                holder[p.name] = nn.Parameter(torch.full((count,), float(resolved[p.name])))
            self.learnable.append(holder)
        order = torch.tensor([u for _, units in self.groups for u in units], dtype=torch.long)
        self.register_buffer("_inverse", torch.argsort(order), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.width:
            raise ValueError(f"PerNeuron has {self.width} activations but the input's last dimension is {x.shape[-1]}")
        outputs = []
        for index, (item, _) in enumerate(self.groups):
            units = getattr(self, f"_units{index}")
            z = x.index_select(-1, units)
            outputs.append(apply_item(item, z, dict(self.learnable[index]), self.training))
        return torch.cat(outputs, dim=-1).index_select(-1, self._inverse)

    def extra_repr(self) -> str:
        return "[" + ", ".join(item.label for item in self.items) + "]"


def apply_item(item: ActivationItem, z: Tensor, learnable: dict[str, Tensor], training: bool) -> Tensor:
    """``item``'s activation of ``z`` through the spec's autograd Function.

    ``learnable`` maps each learnable parameter to a tensor that broadcasts against ``z``
    (shape (1,) shared, or ending in z's last dimension per unit).
    """
    from actlab.nn.function import function_for

    spec = item.spec
    params: dict[str, Any] = dict(item.resolved)
    for name, value in learnable.items():
        params[name] = (value.reshape(()) if value.numel() == 1 and value.dim() <= 1 else value).to(z.dtype)
    if training and spec.sample is not None:
        params.update(spec.sample(z, **{k: v for k, v in params.items()}))
    return function_for(spec).apply(z, *(params[n] for n in spec.param_names))
