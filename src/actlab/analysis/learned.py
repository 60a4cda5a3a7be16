"""The shapes a network learned: its learnable activations (PAU, PReLU, StarReLU, xIELU, snake, ...) read back
from a trained model as records with the learned values, and drawn beside the shape they started from.

>>> import torch, actlab
>>> model = torch.nn.Sequential(torch.nn.Linear(2, 8), actlab.nn.create("pau"), torch.nn.Linear(8, 1))
>>> [spec.name for spec in learned_specs(model)]
['pau @ 1']
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from torch import nn

from actlab.errors import ActlabError
from actlab.nn.modules import ActivationModule
from actlab.spec import ActivationSpec

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["learned_specs", "plot_learned"]

LEARNED = "learned in training"


def _with_values(spec: ActivationSpec, name: str, values: dict[str, float], source: str) -> ActivationSpec:
    params = tuple(dataclasses.replace(p, default=values[p.name], source=source) if p.name in values else p
                   for p in spec.params)
    record = dataclasses.replace(spec, name=name, params=params)
    record.resolve()  # the learned values must still be valid parameters (a snake α that went negative is not)
    return record


def _learnable_modules(model: nn.Module) -> list[tuple[str, ActivationModule]]:
    return [(path, module) for path, module in model.named_modules()
            if isinstance(module, ActivationModule) and module.spec.learnable_params]


def learned_specs(model: nn.Module) -> list[ActivationSpec]:
    """One record per learnable activation module in ``model`` (per channel when it has ``num_parameters`` > 1),
    named ``"NAME @ PATH"`` (``"NAME @ PATH[c]"`` per channel), its learnable parameters set to the learned values.

    Raises :class:`ActlabError` when ``model`` has no activation with learnable parameters.
    """
    found = []
    for path, module in _learnable_modules(model):
        learned = {name: value.detach().double().reshape(-1).tolist() for name, value in module.learnable.items()}
        where = path or type(model).__name__
        for channel in range(module.num_parameters):
            values = {name: column[channel] for name, column in learned.items()}
            suffix = f"[{channel}]" if module.num_parameters > 1 else ""
            values.update(module.fixed)
            found.append(_with_values(module.spec, f"{module.spec.name} @ {where}{suffix}", values, LEARNED))
    if not found:
        raise ActlabError("the model has no activation with learnable parameters (PAU, PReLU, StarReLU, xIELU, snake, ...)")
    return found


def plot_learned(model: nn.Module, x_range: tuple[float, float] = (-4.0, 4.0), *, initial: bool = True,
                 max_curves: int = 12) -> Figure:
    """f and f′ of each learned activation in ``model`` (see :func:`learned_specs`), beside the shape of the
    record's default parameters (``initial``: where training starts unless the module was created with other
    values); at most ``max_curves`` learned curves (the first ones)."""
    from actlab.analysis.plots import plot_activations

    specs = learned_specs(model)[:max_curves]
    if initial:
        records = {module.spec.name: module.spec for _, module in _learnable_modules(model)}
        starts = [dataclasses.replace(spec, name=f"{name} (defaults)") for name, spec in sorted(records.items())]
        specs = [*starts, *specs]
    return plot_activations(specs, x_range, shade_saturation=False)
