"""Models built from activation specs: one description (:class:`ModelConfig`) and one builder (:func:`build`).

Every MLP, SNN and CNN that actlab trains comes from :func:`build` (or, for the
stacked grid, from the same numbers: :func:`initial_weights`).  Two engines train
these models (:mod:`actlab.train`): the sequential one trains the honest
``nn.Sequential`` that :func:`build` returns; the vectorised grid trains many
copies at once from stacked weights.  Both start from the same numbers, because
both take them from :func:`initial_weights`, which draws every layer from one
per-run ``torch.Generator`` seeded by the run's seed, in layer order: the weight
first, then the bias when the scheme draws one.  Runs with the same seed
therefore start from the same weights up to each normal scheme's scale (paired
comparisons).

Init schemes (:data:`INIT_SCHEMES`; ``weight_scale`` multiplies every weight):

==================  ===================================================  ================
scheme              weights                                              biases
==================  ===================================================  ================
he_normal (he)      N(0, 2/fan_in)                                       0
he_uniform          U[-a, a], a = √(6/fan_in)                            0
glorot_normal       N(0, 2/(fan_in + fan_out))                           0
glorot_uniform      U[-a, a], a = √(6/(fan_in + fan_out))                0
lecun_normal        N(0, 1/fan_in)                                       0
lecun_uniform       U[-a, a], a = √(3/fan_in)                            0
torch-default       U[-1/√fan_in, 1/√fan_in] (nn.Linear's kaiming a=√5)  U[-1/√fan_in, 1/√fan_in]
standard            U[-1/√fan_in, 1/√fan_in] (Glorot & Bengio 2010)      0
nielsen             N(0, 1/fan_in)                                       N(0, 1)
siren               first layer U[-1/fan_in, 1/fan_in], then             U[-1/√fan_in, 1/√fan_in]
                    U[-a, a], a = √(6/fan_in)/ω₀ (Sitzmann et al. 2020)
==================  ===================================================  ================

``bias_init`` (a number) sets every bias to that value instead.  Conv layers
count ``fan_in = in_channels·k·k``.  Depth 0 is a linear model (one Linear:
logistic / softmax regression).

>>> cfg = ModelConfig(kind="mlp", depth=2, width=64)
>>> net = build(cfg, "relu", (784,), 10, seed=0)
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from actlab.errors import ActlabError, suggest
from actlab.models.init import (
    INIT_SCHEMES,
    canonical_scheme,
    draw_layer,
    init_scheme,
    init_std,
    parse_init,
    siren_omega,
)
from actlab.models.plan import (
    CNN_CHANNELS,
    CNN_DENSE,
    CNN_KERNEL,
    CNN_POOL,
    MLP_MODELS,
    MODELS,
    LayerPlan,
    layer_plan,
)
from actlab.nn import create
from actlab.resolve import get
from actlab.spec import ActivationSpec

__all__ = [
    "MODELS",
    "CNN_CHANNELS",
    "CNN_DENSE",
    "CNN_KERNEL",
    "CNN_POOL",
    "MLP_MODELS",
    "INIT_SCHEMES",
    "ModelConfig",
    "LayerPlan",
    "build",
    "resolve_activation",
    "uses_alpha_dropout",
    "init_scheme",
    "parse_init",
    "canonical_scheme",
    "init_std",
    "draw_layer",
    "siren_omega",
    "output_units",
    "layer_plan",
    "initial_weights",
    "init_weights",
    "build_model",
    "model_config_of",
]

SNN_INIT = "lecun"
OUTPUT_INIT = "glorot"  # the output layer feeds softmax / sigmoid / identity
GATED_MODELS = ("mlp", "gpt")  # gated units (GLU family) split the last dimension: dense layers only


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
    if spec.kind == "gated" and model not in GATED_MODELS:
        raise ActlabError(f"{spec.name} is a gated unit (it splits its input's last dimension in two halves): "
                          f"supported in the {' and '.join(GATED_MODELS)} models, not in {model!r}")
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


@dataclass(frozen=True)
class ModelConfig:
    """What to build: the architecture and its initialisation (no optimiser, no schedule).

    ``kind``: "mlp" | "snn" (the mlp with lecun_normal init and AlphaDropout) | "cnn" | "per-neuron" (an activation
    per unit, :mod:`actlab.models.per_neuron`; the playground's nets).
    ``depth``: hidden layers (0: a linear model, one Linear); ``width``: units per hidden layer.
    ``bias``: every Linear/Conv has a bias.  ``dropout``: after each hidden activation (AlphaDropout for
    SELU); the cnn: after the pooling, and ``dropout_dense`` (None: the same) after its dense layer.
    ``init``: None / "auto" (each activation's recommendation), a scheme for every layer, or per activation
    ("glorot,selu=auto"); the output layer uses glorot_normal unless a default scheme is given.
    ``weight_scale``: a gain on every weight; ``bias_init``: every bias this value (None: the scheme's).
    """

    kind: str = "mlp"
    depth: int = 2
    width: int = 128
    bias: bool = True
    dropout: float = 0.0
    dropout_dense: float | None = None
    init: str | None = None
    weight_scale: float = 1.0
    bias_init: float | None = None
    source: str | None = None  # kind "user": the reference of the function that builds it (models.user)
    heads: int = 4  # gpt: attention heads (width must be a multiple)
    ffn_width: int | None = None  # gpt: the FFN's hidden width (None: 4·width)
    # the first arm's activation under --match params: each activation gets the hidden width whose parameter
    # count is nearest to that arm's (actlab.models.size); None: every activation gets the same width
    match_to: str | None = None

    def validate(self) -> None:
        """Raise :class:`ActlabError` naming the first bad field."""
        if self.kind == "user":  # the user's function decides the architecture and its init
            if not self.source:
                raise ActlabError("a user model needs its reference (FILE.py:FUNCTION or package.module:FUNCTION)")
            return
        if self.kind == "gpt":
            for name in ("heads", "ffn_width"):
                value = getattr(self, name)
                if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                    raise ActlabError(f"{name} must be a whole number >= 1, got {value!r}")
            if isinstance(self.width, int) and self.width % self.heads:
                raise ActlabError(f"the gpt's width ({self.width}) must be a multiple of its heads ({self.heads})")
        if self.kind not in (*MODELS, "per-neuron"):  # per-neuron: actlab.models.per_neuron
            near = suggest(str(self.kind), MODELS, n=1)
            raise ActlabError(f"unknown model {self.kind!r}{f' (did you mean {near[0]}?)' if near else ''}; "
                              f"choose one of {', '.join(MODELS)}")
        for name, least in (("depth", 0), ("width", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ActlabError(f"{name} must be a whole number >= {least}, got {value!r}")
        if not isinstance(self.bias, bool):
            raise ActlabError(f"bias must be true or false, got {self.bias!r}")
        for name in ("dropout", "dropout_dense"):
            value = getattr(self, name)
            if value is not None and not (0.0 <= value < 1.0):
                raise ActlabError(f"dropout must be in [0, 1), got {value!r}")
        if self.dropout_dense is not None and self.kind != "cnn":
            raise ActlabError(f"two dropout values (after the pooling, after the dense layer) are for the cnn; "
                              f"the {self.kind} has one place: give one value")
        if self.init is not None:
            parse_init(self.init)  # raises on an unknown scheme
        scale = self.weight_scale
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (math.isfinite(scale) and scale > 0):
            raise ActlabError(f"weight_scale must be a number > 0, got {scale!r}")
        if self.bias_init is not None:
            value = self.bias_init
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ActlabError(f"bias_init must be a finite number, got {value!r}")
            if not self.bias:
                raise ActlabError("bias_init sets the biases, but the model has none (no-bias): drop one of them")

    def dense_dropout(self) -> float:
        """The dropout after dense hidden layers (the mlp's only place; the cnn's second)."""
        return self.dropout if self.dropout_dense is None else self.dropout_dense


def model_config_of(config: Any) -> ModelConfig:
    """``config`` itself when it is a :class:`ModelConfig`, else its ``model_config`` (a training config)."""
    if isinstance(config, ModelConfig):
        return config
    found = getattr(config, "model_config", None)
    if not isinstance(found, ModelConfig):
        raise TypeError(f"expected a ModelConfig or a config with .model_config, got {type(config).__name__}")
    return found


def output_units(task: str, num_classes: int, target_shape: Sequence[int] = ()) -> int:
    """Units of the output layer: C logits (multi-class), 1 logit (binary), k values (regression)."""
    if task == "regression":
        return int(target_shape[-1]) if len(target_shape) > 1 else 1
    if num_classes == 2:
        return 1
    if num_classes < 2:
        raise ActlabError(f"a classification dataset needs at least 2 classes, got {num_classes}")
    return int(num_classes)


def _hidden_specs(spec_or_specs: Any, model: ModelConfig, params: Mapping[str, Any] | None = None
                  ) -> list[ActivationSpec]:
    """One checked spec per hidden layer: one activation for all, or a list of ``depth`` (mlp / snn)."""
    if isinstance(spec_or_specs, (list, tuple)):
        if model.kind not in MLP_MODELS:
            raise ActlabError(f"one activation per hidden layer is for the mlp, not the {model.kind}")
        if len(spec_or_specs) != model.depth:
            raise ActlabError(f"{len(spec_or_specs)} activations for {model.depth} hidden layers")
        specs = [resolve_activation(s, params, model.kind) for s in spec_or_specs]
        if len({s.width_divisor for s in specs}) > 1:
            raise ActlabError("per-layer activations must share their width divisor (maxout's k)")
        return specs
    spec = resolve_activation(spec_or_specs, params, model.kind)
    return [spec] * (3 if model.kind == "cnn" else max(model.depth, 1))  # the cnn: conv, conv, dense


def initial_weights(spec_or_specs: Any, input_shape: Sequence[int], num_outputs: int,
                    config: Any, seed: int) -> list[tuple[Tensor, Tensor | None]]:
    """(weight, bias) per layer in torch layout, drawn from ``Generator().manual_seed(seed)`` (bias None when the
    model has none).

    ``config``: a :class:`ModelConfig` (or a training config that has one).  Hidden layers use
    :func:`init_scheme` (each activation's recommendation unless ``init`` overrides it; the snn: lecun_normal);
    the output layer uses glorot_normal (or the default scheme of ``init``).
    """
    model = model_config_of(config)
    specs = _hidden_specs(spec_or_specs, model)
    model = _matched(model, specs[0], input_shape, num_outputs)
    generator = torch.Generator().manual_seed(int(seed))
    override = model.init if model.init is not None or model.kind != "snn" else SNN_INIT
    output = parse_init(model.init)[0] or OUTPUT_INIT
    output = OUTPUT_INIT if output.startswith("critical") else output  # the read-out feeds no activation
    weights = []
    plan = layer_plan(model.kind, input_shape, num_outputs, model.depth, model.width, specs[0].width_divisor)
    for index, layer in enumerate(plan):
        spec = specs[min(index, len(specs) - 1)]
        scheme = init_scheme(spec, override) if layer.activation else output
        weights.append(draw_layer(scheme, layer.shape, layer.fan_in, layer.fan_out, generator,
                                  gain=float(model.weight_scale), bias=model.bias, bias_init=model.bias_init,
                                  first_layer=index == 0, omega_0=siren_omega(spec),
                                  activation=spec))
    return weights


def init_weights(model: nn.Sequential, spec: Any, input_shape: Sequence[int], num_outputs: int,
                 config: Any, seed: int) -> nn.Sequential:
    """Copy :func:`initial_weights` into the Linear / Conv2d layers of ``model`` (in order)."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    weights = initial_weights(spec, input_shape, num_outputs, config, seed)
    if len(layers) != len(weights):
        raise ActlabError(f"model has {len(layers)} weight layers, the plan has {len(weights)}")
    with torch.no_grad():
        for layer, (weight, bias) in zip(layers, weights):
            layer.weight.copy_(weight)
            if layer.bias is not None and bias is not None:
                layer.bias.copy_(bias)
    return model


def _dropout(spec: ActivationSpec, p: float, model: str = "mlp") -> list[nn.Module]:
    if p <= 0:
        return []
    if model == "snn":  # α′ and (a, b) derived for this activation (SELU: as torch.nn.AlphaDropout)
        from actlab.nn.alpha_dropout import AlphaDropout

        return [AlphaDropout(p, spec)]
    return [nn.AlphaDropout(p) if uses_alpha_dropout(spec) else nn.Dropout(p)]


def build(model_config: ModelConfig, spec_or_specs: Any, input_shape: Sequence[int], n_outputs: int,
          seed: int, params: Mapping[str, Any] | None = None) -> nn.Sequential:
    """The plain ``nn.Sequential`` for one run, initialised by :func:`initial_weights`.

    ``spec_or_specs``: one activation (name, alias, formula or spec; ``params`` its parameters) or, for the
    mlp / snn, one per hidden layer; for the per-neuron net, one list per hidden layer (one per unit).
    mlp / snn: Flatten → [Linear → activation → dropout] × depth → Linear (depth 0: Flatten → Linear).
    cnn: Conv 32 3×3 → act → Conv 64 3×3 → act → MaxPool 2 → dropout → Flatten
    → Linear 128 → act → dropout → Linear.  The output layer gives logits
    (or values for regression); the loss applies softmax / sigmoid.
    """
    model = model_config_of(model_config)
    model.validate()
    if model.kind == "per-neuron":  # one activation per unit: spec_or_specs holds one list per hidden layer
        from actlab.models.per_neuron import build_per_neuron

        return build_per_neuron(model, spec_or_specs, input_shape, n_outputs, seed, OUTPUT_INIT)
    if model.kind == "user":
        from actlab.models.user import build_user

        return build_user(str(model.source), resolve_activation(spec_or_specs, params, "user"), input_shape,
                          n_outputs, seed, params)
    specs = _hidden_specs(spec_or_specs, model, params)
    spec = specs[0]
    if model.kind == "gpt":
        from actlab.models.gpt import build_from_config

        return build_from_config(_matched(model, spec, input_shape, n_outputs), spec, input_shape, n_outputs, seed)
    model = _matched(model, spec, input_shape, n_outputs)
    plan = layer_plan(model.kind, input_shape, n_outputs, model.depth, model.width, spec.width_divisor)
    bias = model.bias
    modules: list[nn.Module] = []
    if model.kind in MLP_MODELS:
        modules.append(nn.Flatten())
        for layer, layer_spec in zip(plan[:-1], specs):
            modules += [nn.Linear(layer.shape[1], layer.shape[0], bias=bias), create(layer_spec),
                        *_dropout(layer_spec, model.dropout, model.kind)]
        modules.append(nn.Linear(plan[-1].shape[1], plan[-1].shape[0], bias=bias))
    else:
        conv1, conv2, dense, out = plan
        modules += [
            nn.Conv2d(conv1.shape[1], conv1.shape[0], CNN_KERNEL, bias=bias), create(spec),
            nn.Conv2d(conv2.shape[1], conv2.shape[0], CNN_KERNEL, bias=bias), create(spec),
            nn.MaxPool2d(CNN_POOL), *_dropout(spec, model.dropout), nn.Flatten(),
            nn.Linear(dense.shape[1], dense.shape[0], bias=bias), create(spec),
            *_dropout(spec, model.dense_dropout()),
            nn.Linear(out.shape[1], out.shape[0], bias=bias),
        ]
    net = nn.Sequential(*modules)
    return init_weights(net, specs if len(set(map(id, specs))) > 1 else spec, input_shape, n_outputs, model, seed)


def build_model(spec_or_name: str | ActivationSpec, input_shape: Sequence[int], num_outputs: int,
                config: Any, seed: int, params: Mapping[str, Any] | None = None) -> nn.Sequential:
    """:func:`build` from a :class:`ModelConfig` or a training config that has one (``config.model_config``)."""
    return build(model_config_of(config), spec_or_name, input_shape, num_outputs, seed, params)


def _matched(model: ModelConfig, spec: ActivationSpec, input_shape: Sequence[int], n_outputs: int) -> ModelConfig:
    if model.match_to is None:
        return model
    from actlab.models.size import matched_config

    return matched_config(model, spec, input_shape, n_outputs)

