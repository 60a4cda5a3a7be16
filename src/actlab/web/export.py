"""Export of a trained playground net: a short Python snippet that rebuilds it with actlab (weights in model.pt)."""
from __future__ import annotations

from collections.abc import Sequence

__all__ = ["SNIPPET", "snippet"]

SNIPPET = '''\
"""Rebuild the net trained in actlab's playground; load the weights from model.pt."""
import torch
from torch import nn

from actlab.nn.per_neuron import PerNeuron

FEATURES = {features!r}  # computed from coordinates scaled to [-3, 3] over the data window
LAYERS = {layers!r}  # one activation per unit; "f:..." is a formula


modules, width = [], len(FEATURES)
for units in LAYERS:
    modules += [nn.Linear(width, len(units)), PerNeuron([u[2:] if u.startswith("f:") else u for u in units])]
    width = len(units)
modules.append(nn.Linear(width, 1))
model = nn.Sequential(*modules)
model.load_state_dict(torch.load("model.pt"))
print(model)
'''


def snippet(features: Sequence[str], layers: Sequence[Sequence[str]]) -> str:
    return SNIPPET.format(features=list(features), layers=[list(u) for u in layers])
