"""The weight layers of the mlp, snn and cnn (:func:`layer_plan`), shared by the builder, both engines and the
size counts (:mod:`actlab.models.size`)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from actlab.errors import ActlabError

__all__ = ["MODELS", "MLP_MODELS", "CNN_CHANNELS", "CNN_KERNEL", "CNN_POOL", "CNN_DENSE", "LayerPlan", "layer_plan"]

MODELS = ("mlp", "cnn", "snn", "gpt")  # gpt: actlab.models.gpt, a decoder-only transformer on token windows
MLP_MODELS = ("mlp", "snn")  # snn: the mlp with lecun_normal init and AlphaDropout (self-normalising net)
SNN_INIT = "lecun"
CNN_CHANNELS = (32, 64)  # conv 3×3 → conv 3×3 → max-pool 2
CNN_KERNEL = 3
CNN_POOL = 2
CNN_DENSE = 128


@dataclass(frozen=True)
class LayerPlan:
    """One weight layer: ``kind`` "linear" (weight (out, in)) or "conv" (weight (out, in, k, k)).

    ``activation`` tells whether a hidden activation follows it (False for the output).
    """

    kind: str
    fan_in: int
    fan_out: int
    shape: tuple[int, ...]  # torch layout of the weight
    activation: bool


def layer_plan(model: str, input_shape: Sequence[int], num_outputs: int, depth: int, width: int,
               width_divisor: int = 1) -> list[LayerPlan]:
    """The weight layers of ``model``, in order (shared by both engines)."""
    k = int(width_divisor)
    plan: list[LayerPlan] = []
    if model in MLP_MODELS:
        fan_in = int(math.prod(input_shape))
        for _ in range(depth):
            plan.append(LayerPlan("linear", fan_in, width * k, (width * k, fan_in), True))
            fan_in = width
        plan.append(LayerPlan("linear", fan_in, num_outputs, (num_outputs, fan_in), False))
        return plan
    if model == "cnn":
        if len(input_shape) != 3:
            raise ActlabError(f"the cnn model needs image input of shape (C, H, W), got {tuple(input_shape)}")
        channels, height, width_px = (int(s) for s in input_shape)
        area = CNN_KERNEL * CNN_KERNEL
        for out_channels in CNN_CHANNELS:
            plan.append(LayerPlan("conv", channels * area, out_channels * area,
                                  (out_channels, channels, CNN_KERNEL, CNN_KERNEL), True))
            channels = out_channels
            height, width_px = height - CNN_KERNEL + 1, width_px - CNN_KERNEL + 1
        height, width_px = height // CNN_POOL, width_px // CNN_POOL
        if height < 1 or width_px < 1:
            raise ActlabError(f"images of shape {tuple(input_shape)} are too small for the cnn (need at least 6×6)")
        features = channels * height * width_px
        plan.append(LayerPlan("linear", features, CNN_DENSE, (CNN_DENSE, features), True))
        plan.append(LayerPlan("linear", CNN_DENSE, num_outputs, (num_outputs, CNN_DENSE), False))
        return plan
    raise ActlabError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
