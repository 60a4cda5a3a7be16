"""How big a model is: its parameter count, its forward FLOPs per example, and parameter matching.

``ModelConfig.match_to`` (``actlab compare --match params``) names the first arm's activation: every other arm
gets the hidden width whose parameter count is nearest to the first arm's at the default width — the FFN's hidden
width for the gpt (4·d for a plain activation; a gated unit's FFN has 3·d·h weights instead of 2·d·h, so it gets
h ≈ 8/3·d, as Shazeer 2020 did), the hidden layers' width for the mlp.  Counting builds the model's layers (with
torch's default init: nothing is drawn from a run's generator), so the count is the builder's own.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any

from torch import nn

from actlab.models.plan import layer_plan
from actlab.nn import create
from actlab.resolve import get

__all__ = ["build_shapes", "count_parameters", "hidden_width", "matched_config", "flops_per_example", "describe_size"]


def _module_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())  # parameters() yields a tied weight once


def _default_hidden(model: Any) -> int:
    if model.kind == "gpt":
        from actlab.models.gpt import FFN_MULTIPLE

        return int(model.ffn_width or FFN_MULTIPLE * model.width)
    return int(model.width)


def _with_hidden(model: Any, hidden: int) -> Any:
    field = "ffn_width" if model.kind == "gpt" else "width"
    return dataclasses.replace(model, match_to=None, **{field: int(hidden)})


def build_shapes(model: Any, spec: Any, input_shape: Sequence[int], n_outputs: int) -> nn.Module:
    """The layers with weights of the model :func:`actlab.models.build` makes, with torch's default init (for
    counting; ``match_to`` not applied)."""
    spec = get(spec)
    if model.kind == "gpt":
        from actlab.models.gpt import build_from_config

        return build_from_config(model, spec, input_shape, n_outputs, 0, initialise=False)
    plan = layer_plan(model.kind, input_shape, n_outputs, model.depth, model.width, spec.width_divisor)
    layers = [nn.Linear(p.shape[1], p.shape[0], bias=model.bias) if p.kind == "linear"
              else nn.Conv2d(p.shape[1], p.shape[0], p.shape[2], bias=model.bias) for p in plan]
    activations = sum(p.activation for p in plan)  # one activation module per hidden layer (learnable: PReLU)
    return nn.Sequential(*layers, *(create(spec) for _ in range(activations if spec.learnable_params else 0)))


def count_parameters(model: Any, spec: Any, input_shape: Sequence[int], n_outputs: int) -> int:
    """Trainable parameters of ``build(model, spec, ...)`` (``match_to`` applied), counted on the built layers."""
    model = matched_config(model, spec, input_shape, n_outputs)
    return _module_parameters(build_shapes(model, spec, input_shape, n_outputs))


def hidden_width(model: Any, spec: Any, input_shape: Sequence[int], n_outputs: int) -> int:
    """The hidden width the builder gives ``spec``: the FFN's (gpt) or the hidden layers' (mlp)."""
    return _default_hidden(matched_config(model, spec, input_shape, n_outputs))


def matched_config(model: Any, spec: Any, input_shape: Sequence[int], n_outputs: int) -> Any:
    """``model`` itself without ``match_to``; else the config with the hidden width (and no ``match_to``) whose
    parameter count is nearest to that of ``match_to``'s activation at the default width (ties: the smaller)."""
    if model.match_to is None:
        return model
    return _matched(model, spec, tuple(int(s) for s in input_shape), int(n_outputs))


@functools.lru_cache(maxsize=256)
def _matched(model: Any, spec: Any, input_shape: tuple[int, ...], n_outputs: int) -> Any:
    reference = _with_hidden(model, _default_hidden(model))
    target = _module_parameters(build_shapes(reference, get(model.match_to), input_shape, n_outputs))

    def built(hidden: int) -> int:
        return _module_parameters(build_shapes(_with_hidden(model, hidden), spec, input_shape, n_outputs))

    # the count is a polynomial of degree <= 2 in the hidden width (the mlp's w·w between hidden layers; the
    # gpt's FFN is linear in it): three counts give it exactly, then every width is scored without building
    c1, c2, c3 = built(1), built(2), built(3)

    def count(hidden: int) -> int:
        return c1 + (hidden - 1) * (c2 - c1) + (hidden - 1) * (hidden - 2) // 2 * (c3 - 2 * c2 + c1)

    best = min(range(1, max(2, 8 * _default_hidden(model)) + 1), key=lambda h: (abs(count(h) - target), h))
    return _with_hidden(model, best)


def flops_per_example(model: Any, spec: Any, input_shape: Sequence[int], n_outputs: int) -> tuple[int, str]:
    """Forward FLOPs per token (gpt: nanoGPT's estimate) or per sample (mlp, cnn: 2 per weight of every Linear
    and per multiply-add of every convolution; activations and biases not counted), and the unit."""
    model = matched_config(model, spec, input_shape, n_outputs)
    n_parameters = count_parameters(model, spec, input_shape, n_outputs)
    if model.kind == "gpt":
        from actlab.models.gpt import gpt_flops_per_token

        return gpt_flops_per_token(n_parameters, int(input_shape[0]), model.depth, model.width), "token"
    divisor = get(spec).width_divisor
    flops, convs = 0, 0
    for layer in layer_plan(model.kind, input_shape, n_outputs, model.depth, model.width, divisor):
        out_features = layer.shape[0]
        if layer.kind == "conv":  # a 3×3 valid convolution: each one shrinks the image by 2 per side
            convs += 1
            positions = (int(input_shape[1]) - 2 * convs) * (int(input_shape[2]) - 2 * convs)
            flops += 2 * layer.fan_in * out_features * positions
        else:
            flops += 2 * layer.fan_in * out_features
    return int(flops), "sample"


def describe_size(model: Any, spec: Any, input_shape: Sequence[int], n_outputs: int) -> dict[str, Any]:
    """What the sweep stores per arm: parameters, hidden width, forward FLOPs per example and their unit."""
    if model.kind == "user":
        return user_size(model, spec, input_shape, n_outputs)
    flops, unit = flops_per_example(model, spec, input_shape, n_outputs)
    return {"n_parameters": count_parameters(model, spec, input_shape, n_outputs),
            "hidden_width": hidden_width(model, spec, input_shape, n_outputs), "flops": flops, "flops_unit": unit}


def user_size(model: Any, spec: Any, input_shape: Sequence[int], n_outputs: int) -> dict[str, Any]:
    """A user's model: its trainable parameters as built (seed 0), and the FLOPs of one example's forward pass
    counted by :class:`torch.utils.flop_counter.FlopCounterMode` (matmuls and convolutions); hidden width 0 (its
    architecture is its own)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from actlab.models.user import build_user

    net = build_user(str(model.source), spec, input_shape, n_outputs, 0)
    n_parameters = sum(p.numel() for p in net.parameters() if p.requires_grad)
    net.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(torch.zeros(1, *(int(s) for s in input_shape)))
    return {"n_parameters": int(n_parameters), "hidden_width": 0, "flops": int(counter.get_total_flops()),
            "flops_unit": "sample"}
