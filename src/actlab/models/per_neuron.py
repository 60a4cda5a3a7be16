"""The per-neuron net (``ModelConfig(kind="per-neuron")``): each hidden unit has its own activation.

``[Linear → PerNeuron] × depth → Linear`` on flat inputs (N, features): the activations come one list per hidden layer (each
list's length is the layer's width, so ``ModelConfig.width`` is not used), and each :class:`PerNeuron` keeps
the texts it was given in ``.names``.  The weights come from the init schemes of :mod:`actlab.models`, drawn
from one ``torch.Generator`` seeded by the run's seed, layer by layer (weight, then bias when the scheme
draws one); in a hidden layer each unit's row is drawn by its own activation's scheme (or ``init``), units
with the same scheme in one block, as the 2-D nets do.  The output layer uses the default scheme of ``init``
(glorot_normal without one).

:data:`PLAYGROUND` is the playground's model: Glorot-uniform weights (Xavier-uniform) and every bias 0.1,
the output's included — the TensorFlow Playground starts every node's bias at 0.1.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from actlab.errors import ActlabError
from actlab.models.init import draw_layer, init_scheme, parse_init
from actlab.nn.per_neuron import PerNeuron, parse_item

__all__ = ["PER_NEURON", "PLAYGROUND_INIT", "PLAYGROUND_BIAS", "build_per_neuron", "per_neuron_weights"]

PER_NEURON = "per-neuron"
PLAYGROUND_INIT = "glorot_uniform"  # the playground's weights (Xavier-uniform)
PLAYGROUND_BIAS = 0.1  # the TensorFlow Playground's initial bias of every node


def _layers(model: Any, layers: Sequence[Sequence[Any]]) -> list[list[Any]]:
    if isinstance(layers, (str, bytes)) or not all(isinstance(units, (list, tuple)) for units in layers):
        raise ActlabError("a per-neuron net takes one list of activations per hidden layer")
    if len(layers) != model.depth:
        raise ActlabError(f"{len(layers)} lists of activations for {model.depth} hidden layers")
    if any(not units for units in layers):
        raise ActlabError("every hidden layer of a per-neuron net needs at least one unit")
    return [list(units) for units in layers]


def per_neuron_weights(model: Any, layers: Sequence[Sequence[Any]], n_inputs: int, n_outputs: int, seed: int,
                       output_scheme: str = "glorot_normal") -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """(weight, bias) per Linear of the per-neuron net, in torch layout (see the module docstring)."""
    layers = _layers(model, layers)
    generator = torch.Generator().manual_seed(int(seed))
    default, _ = parse_init(model.init)
    gain, bias, bias_init = float(model.weight_scale), model.bias, model.bias_init
    weights = []
    fan_in = int(n_inputs)
    for units in layers:
        width = len(units)
        blocks: list[tuple[str, int]] = []  # (scheme, units) runs of equal schemes
        for unit in units:
            scheme = init_scheme(parse_item(unit).spec, model.init)
            if blocks and blocks[-1][0] == scheme:
                blocks[-1] = (scheme, blocks[-1][1] + 1)
            else:
                blocks.append((scheme, 1))
        rows, biases = [], []
        for scheme, count in blocks:
            w, b = draw_layer(scheme, (count, fan_in), fan_in, width, generator, gain=gain, bias=bias,
                              bias_init=bias_init)
            rows.append(w)
            biases.append(b)
        weights.append((torch.cat(rows), torch.cat(biases) if bias else None))
        fan_in = width
    weights.append(draw_layer(default or output_scheme, (int(n_outputs), fan_in), fan_in, int(n_outputs), generator,
                              gain=gain, bias=bias, bias_init=bias_init))
    return weights


def build_per_neuron(model: Any, layers: Sequence[Sequence[Any]], input_shape: Sequence[int], n_outputs: int,
                     seed: int, output_scheme: str = "glorot_normal") -> nn.Sequential:
    """The per-neuron ``nn.Sequential`` of ``model`` (a :class:`~actlab.models.ModelConfig`), initialised."""
    layers = _layers(model, layers)
    n_inputs = int(math.prod(input_shape))
    modules: list[nn.Module] = []
    width = n_inputs
    for units in layers:
        activation = PerNeuron(units)
        activation.names = [u if isinstance(u, str) else u.name for u in units]
        modules += [nn.Linear(width, len(units), bias=model.bias), activation]
        width = len(units)
    modules.append(nn.Linear(width, int(n_outputs), bias=model.bias))
    net = nn.Sequential(*modules)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for linear, (weight, bias) in zip(linears, per_neuron_weights(model, layers, n_inputs, n_outputs, seed,
                                                                      output_scheme)):
            linear.weight.copy_(weight)
            if bias is not None:
                linear.bias.copy_(bias)
    return net
