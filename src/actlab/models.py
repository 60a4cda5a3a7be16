"""Models built from activation specs: the MLP and the small CNN that ``actlab compare`` trains.

Two engines train these models (:mod:`actlab.train`): the sequential one trains
the honest ``nn.Sequential`` that :func:`build_model` returns; the vectorised
grid trains many copies at once from stacked weights.  Both start from the same
numbers, because both take them from :func:`initial_weights`, which draws every
layer from one per-run ``torch.Generator`` seeded by the run's seed, in layer
order, as ``randn(shape) * std``.  Runs with the same seed therefore start from
the same weights up to each init scheme's scale (paired comparisons).

Architecture (``LayerPlan``) is described once by :func:`layer_plan`; a later
2-D net with per-unit activations only needs a new plan and a module per layer.

>>> from actlab.train import TrainConfig
>>> net = build_model("relu", (784,), 10, TrainConfig(depth=2, width=64), seed=0)
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from actlab.errors import ActlabError
from actlab.nn import create
from actlab.resolve import get
from actlab.spec import INIT_SCHEMES, ActivationSpec

if TYPE_CHECKING:  # the config lives in the trainer package (it imports this module)
    from actlab.train.config import TrainConfig

__all__ = [
    "MODELS",
    "MLP_MODELS",
    "LayerPlan",
    "resolve_activation",
    "uses_alpha_dropout",
    "init_scheme",
    "parse_init",
    "init_std",
    "output_units",
    "layer_plan",
    "initial_weights",
    "init_weights",
    "build_model",
]

MODELS = ("mlp", "cnn", "snn")
MLP_MODELS = ("mlp", "snn")  # snn: the mlp with lecun_normal init and AlphaDropout (self-normalising net)
SNN_INIT = "lecun"
CNN_CHANNELS = (32, 64)  # conv 3×3 → conv 3×3 → max-pool 2
CNN_KERNEL = 3
CNN_POOL = 2
CNN_DENSE = 128
OUTPUT_INIT = "glorot"  # the output layer feeds softmax / sigmoid / identity


def resolve_activation(activation: str | ActivationSpec, params: Mapping[str, Any] | None = None,
                       model: str = "mlp") -> ActivationSpec:
    """The spec for a hidden activation, checked for use in ``model``.

    Raises :class:`ActlabError` for an activation that cannot be trained by
    backprop (``trainable=False``: binary_step), for vector activations
    (softmax belongs on the output, not in a hidden layer) and for maxout in
    the CNN (supported in the MLP, whose layer before is k× wider).
    """
    spec = get(activation, **dict(params or {}))
    if not spec.trainable:
        raise ActlabError(
            f"{spec.name} cannot be trained by backprop (its gradient is zero almost everywhere); "
            "pick a trainable activation (e.g. sigmoid, hard_sigmoid)"
        )
    if spec.kind == "vector":
        raise ActlabError(
            f"{spec.name} normalises over a whole vector and is an output activation, not a hidden one; "
            "the trainer already puts softmax + cross-entropy on the output of classifiers"
        )
    if spec.kind == "grouped" and model != "mlp":
        raise ActlabError(f"{spec.name} as a hidden activation is supported in the mlp model only, not in {model!r}")
    if model == "snn":
        from actlab.nn.alpha_dropout import alpha_prime

        try:
            alpha_prime(spec)
        except ActlabError as error:
            raise ActlabError(f"the snn model uses AlphaDropout: {error}") from None
    return spec


def uses_alpha_dropout(spec: ActivationSpec, model: str = "mlp") -> bool:
    """SELU nets keep their self-normalising fixed point only with AlphaDropout; the snn model always uses it."""
    return model == "snn" or spec.name == "selu"


def parse_init(text: str | None) -> tuple[str | None, dict[str, str]]:
    """``--init``: "auto" / None (each activation's recommendation), "glorot" (all), or "glorot,selu=lecun"
    (a default and per-activation schemes; NAME=auto keeps that activation's recommendation).

    Returns (default or None, {activation name: scheme or "auto"}).
    """
    if text is None:
        return None, {}
    default: str | None = None
    per: dict[str, str] = {}
    for item in (part.strip() for part in str(text).split(",")):
        name, _, scheme = item.rpartition("=")
        if scheme not in (*INIT_SCHEMES, "auto"):
            raise ActlabError(f"unknown init scheme {scheme!r} in --init {text!r}; choose one of "
                              f"{', '.join(INIT_SCHEMES)} or auto (per activation: glorot,selu=lecun)")
        if name:
            per[get(name.strip()).name] = scheme
        elif default is not None:
            raise ActlabError(f"--init {text!r} names two default schemes")
        else:
            default = None if scheme == "auto" else scheme
    return default, per


def init_scheme(spec: ActivationSpec, override: str | None = None) -> str:
    """The init scheme for layers feeding ``spec``: ``override`` (see :func:`parse_init`) or the spec's
    recommendation."""
    default, per = parse_init(override)
    scheme = per.get(spec.name, default)
    if scheme is None or scheme == "auto":
        scheme = spec.init.scheme
    if scheme not in INIT_SCHEMES:
        raise ActlabError(f"unknown init scheme {scheme!r}; choose one of {', '.join(INIT_SCHEMES)}")
    return scheme


def init_std(scheme: str, fan_in: int, fan_out: int) -> float:
    """Standard deviation of the normal init: he √(2/fan_in), glorot √(2/(fan_in+fan_out)), lecun √(1/fan_in)."""
    if scheme == "he":
        return math.sqrt(2.0 / fan_in)
    if scheme == "glorot":
        return math.sqrt(2.0 / (fan_in + fan_out))
    if scheme == "lecun":
        return math.sqrt(1.0 / fan_in)
    raise ActlabError(f"unknown init scheme {scheme!r}; choose one of {', '.join(INIT_SCHEMES)}")


def output_units(task: str, num_classes: int, target_shape: Sequence[int] = ()) -> int:
    """Units of the output layer: C logits (multi-class), 1 logit (binary), k values (regression)."""
    if task == "regression":
        return int(target_shape[-1]) if len(target_shape) > 1 else 1
    if num_classes == 2:
        return 1
    if num_classes < 2:
        raise ActlabError(f"a classification dataset needs at least 2 classes, got {num_classes}")
    return int(num_classes)


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


def initial_weights(spec: ActivationSpec, input_shape: Sequence[int], num_outputs: int,
                    config: TrainConfig, seed: int) -> list[tuple[Tensor, Tensor]]:
    """(weight, bias) per layer in torch layout, drawn from ``Generator().manual_seed(seed)``.

    Hidden layers use :func:`init_scheme` (the spec's recommendation unless
    ``config.init`` overrides it); the output layer uses glorot (or the override).
    Biases start at zero.
    """
    generator = torch.Generator().manual_seed(int(seed))
    hidden = init_scheme(spec, config.init if config.init is not None or config.model != "snn" else SNN_INIT)
    output = parse_init(config.init)[0] or OUTPUT_INIT
    weights = []
    for layer in layer_plan(config.model, input_shape, num_outputs, config.depth, config.width, spec.width_divisor):
        scheme = hidden if layer.activation else output
        std = init_std(scheme, layer.fan_in, layer.fan_out)
        weight = torch.randn(layer.shape, generator=generator) * std
        weights.append((weight, torch.zeros(layer.shape[0])))
    return weights


def init_weights(model: nn.Sequential, spec: ActivationSpec, input_shape: Sequence[int], num_outputs: int,
                 config: TrainConfig, seed: int) -> nn.Sequential:
    """Copy :func:`initial_weights` into the Linear / Conv2d layers of ``model`` (in order)."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    weights = initial_weights(spec, input_shape, num_outputs, config, seed)
    if len(layers) != len(weights):
        raise ActlabError(f"model has {len(layers)} weight layers, the plan has {len(weights)}")
    with torch.no_grad():
        for layer, (weight, bias) in zip(layers, weights):
            layer.weight.copy_(weight)
            layer.bias.copy_(bias)
    return model


def _dropout(spec: ActivationSpec, p: float, model: str = "mlp") -> list[nn.Module]:
    if p <= 0:
        return []
    if model == "snn":  # α′ and (a, b) derived for this activation (SELU: as torch.nn.AlphaDropout)
        from actlab.nn.alpha_dropout import AlphaDropout

        return [AlphaDropout(p, spec)]
    return [nn.AlphaDropout(p) if uses_alpha_dropout(spec) else nn.Dropout(p)]


def build_model(spec_or_name: str | ActivationSpec, input_shape: Sequence[int], num_outputs: int,
                config: TrainConfig, seed: int, params: Mapping[str, Any] | None = None) -> nn.Sequential:
    """The plain ``nn.Sequential`` for one run, initialised by :func:`init_weights`.

    mlp: Flatten → [Linear → activation → dropout] × depth → Linear.
    cnn: Conv 32 3×3 → act → Conv 64 3×3 → act → MaxPool 2 → dropout → Flatten
    → Linear 128 → act → dropout → Linear.  The output layer gives logits
    (or values for regression); the loss applies softmax / sigmoid.
    """
    spec = resolve_activation(spec_or_name, params, config.model)
    plan = layer_plan(config.model, input_shape, num_outputs, config.depth, config.width, spec.width_divisor)
    modules: list[nn.Module] = []
    if config.model in MLP_MODELS:
        modules.append(nn.Flatten())
        for layer in plan[:-1]:
            modules += [nn.Linear(layer.shape[1], layer.shape[0]), create(spec),
                        *_dropout(spec, config.dropout, config.model)]
        modules.append(nn.Linear(plan[-1].shape[1], plan[-1].shape[0]))
    else:
        conv1, conv2, dense, out = plan
        modules += [
            nn.Conv2d(conv1.shape[1], conv1.shape[0], CNN_KERNEL), create(spec),
            nn.Conv2d(conv2.shape[1], conv2.shape[0], CNN_KERNEL), create(spec),
            nn.MaxPool2d(CNN_POOL), *_dropout(spec, config.dropout), nn.Flatten(),
            nn.Linear(dense.shape[1], dense.shape[0]), create(spec), *_dropout(spec, config.dense_dropout()),
            nn.Linear(out.shape[1], out.shape[0]),
        ]
    model = nn.Sequential(*modules)
    return init_weights(model, spec, input_shape, num_outputs, config, seed)
