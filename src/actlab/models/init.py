"""Weight initialisation schemes: their names, the ``--init`` syntax, and one layer's draw.

The table of schemes is in :mod:`actlab.models`; every draw comes from a caller's ``torch.Generator``
(the weight first, then the bias when the scheme draws one), so both engines start from the same numbers.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from actlab.errors import ActlabError, suggest
from actlab.resolve import get
from actlab.spec import ActivationSpec

__all__ = ["INIT_SCHEMES", "CRITICAL", "canonical_scheme", "parse_init", "init_scheme", "init_std", "draw_layer",
           "critical_variances", "siren_omega"]

# the schemes --init accepts; he / glorot / lecun alone mean their normal form
INIT_SCHEMES = ("he_normal", "he_uniform", "glorot_normal", "glorot_uniform", "lecun_normal", "lecun_uniform",
                "torch-default", "standard", "nielsen", "siren")
_ALIASES = {"he": "he_normal", "glorot": "glorot_normal", "lecun": "lecun_normal", "torch_default": "torch-default"}
_NAMES = (*INIT_SCHEMES, *_ALIASES)
CRITICAL = "critical"  # the edge-of-chaos init: σ_w² with χ₁ = 1 for the activation (actlab.analysis.signal)


def canonical_scheme(scheme: str) -> str:
    """The scheme's canonical name (``he`` → ``he_normal``); :class:`ActlabError` with a near miss if unknown.

    ``critical`` and ``critical:B`` (σ_b² = B) are the edge-of-chaos init (:func:`critical_variances`).
    """
    name = str(scheme).strip().lower()
    name = _ALIASES.get(name, name)
    if name == CRITICAL or name.startswith(CRITICAL + ":"):
        return _critical_name(name)
    if name not in INIT_SCHEMES:
        near = suggest(str(scheme), (*_NAMES, CRITICAL), n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        raise ActlabError(f"unknown init scheme {scheme!r}{hint}; choose one of {', '.join(INIT_SCHEMES)} "
                          f"or {CRITICAL}[:σ_b²] (he, glorot and lecun mean their _normal form)")
    return name


def _critical_name(name: str) -> str:
    _, _, text = name.partition(":")
    if not text:
        return CRITICAL
    try:
        value = float(text)
    except ValueError:
        raise ActlabError(f"init {name!r}: {text!r} is not a number (critical:σ_b², e.g. critical:0.05)") from None
    if not (math.isfinite(value) and value >= 0):
        raise ActlabError(f"init {name!r}: the bias variance σ_b² must be a finite number >= 0")
    return f"{CRITICAL}:{value!r}"


def critical_variances(spec: ActivationSpec, scheme: str = CRITICAL) -> tuple[float, float]:
    """(σ_w², σ_b²) of the edge-of-chaos init for ``spec``: ``critical:B`` fixes σ_b² = B, plain ``critical``
    takes the first σ_b² of :data:`actlab.analysis.signal_critical.CRITICAL_BIAS_VARIANCES` with a critical σ_w²."""
    from actlab.analysis.signal_critical import critical_init

    name = canonical_scheme(scheme)
    given = float(name.partition(":")[2]) if ":" in name else None
    found = critical_init(spec, given)
    if found is None:
        where = f"at σ_b² = {given:g}" if given is not None else "for any σ_b² it tries"
        raise ActlabError(f"{spec.name} has no edge of chaos {where} (no σ_w² with χ₁ = 1 at an attracting "
                          f"length; see actlab signal {spec.name}); choose another --init")
    return found


def parse_init(text: str | None) -> tuple[str | None, dict[str, str]]:
    """``--init``: "auto" / None (each activation's recommendation), "glorot" (all), or "glorot,selu=lecun"
    (a default and per-activation schemes; NAME=auto keeps that activation's recommendation).

    Returns (canonical default or None, {activation name: canonical scheme or "auto"}).
    """
    if text is None:
        return None, {}
    default: str | None = None
    per: dict[str, str] = {}
    for item in (part.strip() for part in str(text).split(",")):
        name, _, scheme = item.rpartition("=")
        if scheme.strip().lower() != "auto":
            try:
                scheme = canonical_scheme(scheme)
            except ActlabError as error:
                raise ActlabError(f"{error} in --init {text!r} (per activation: glorot,selu=lecun or "
                                  "glorot,selu=auto)") from None
        else:
            scheme = "auto"
        if name:
            per[get(name.strip()).name] = scheme
        elif default is not None:
            raise ActlabError(f"--init {text!r} names two default schemes")
        else:
            default = None if scheme == "auto" else scheme
    return default, per


def init_scheme(spec: ActivationSpec, override: str | None = None) -> str:
    """The (canonical) init scheme for layers feeding ``spec``: ``override`` (see :func:`parse_init`) or the
    spec's recommendation."""
    default, per = parse_init(override)
    scheme = per.get(spec.name, default)
    if scheme is None or scheme == "auto":
        scheme = spec.init.scheme
    return canonical_scheme(scheme)


def siren_omega(spec: ActivationSpec) -> float:
    """The ω₀ the siren scheme divides hidden weights by: the activation's ``omega_0`` (SIREN's sine), else 1
    (a plain sin(x) is sin(ω₀x) with ω₀ = 1)."""
    return float(spec.resolve().get("omega_0", 1.0))


def init_std(scheme: str, fan_in: int, fan_out: int, *, first_layer: bool = False, omega_0: float = 1.0) -> float:
    """Standard deviation of a scheme's weights (before the gain): he √(2/fan_in), glorot √(2/(fan_in+fan_out)),
    lecun and nielsen √(1/fan_in), torch-default and standard √(1/(3·fan_in)) (uniform on ±1/√fan_in);
    siren (Sitzmann et al. 2020) √(2/fan_in)/ω₀ (uniform on ±√(6/fan_in)/ω₀), and on the first layer
    1/(√3·fan_in) (uniform on ±1/fan_in)."""
    name = canonical_scheme(scheme)
    if name == "siren":
        return 1.0 / (math.sqrt(3.0) * fan_in) if first_layer else math.sqrt(2.0 / fan_in) / omega_0
    family = name.split("_")[0]
    if family == "he":
        return math.sqrt(2.0 / fan_in)
    if family == "glorot":
        return math.sqrt(2.0 / (fan_in + fan_out))
    if family in ("lecun", "nielsen"):
        return math.sqrt(1.0 / fan_in)
    return math.sqrt(1.0 / (3.0 * fan_in))  # torch-default, standard


def _uniform(shape: Sequence[int], bound: float, generator: torch.Generator) -> Tensor:
    return (torch.rand(tuple(shape), generator=generator) * 2.0 - 1.0) * bound


def draw_layer(scheme: str, shape: Sequence[int], fan_in: int, fan_out: int, generator: torch.Generator, *,
               gain: float = 1.0, bias: bool = True, bias_init: float | None = None, first_layer: bool = False,
               omega_0: float = 1.0, activation: ActivationSpec | None = None) -> tuple[Tensor, Tensor | None]:
    """One layer's (weight, bias) drawn from ``generator``: the weight first, then the bias if the scheme draws it.

    ``bias`` False: no bias (None) and nothing drawn for it; ``bias_init``: every bias that value (nothing drawn).
    ``first_layer`` and ``omega_0`` matter to the siren scheme only (its first layer and its 1/ω₀ scale).
    ``critical`` needs the ``activation`` the layer feeds: weights N(0, σ_w²/fan_in), biases N(0, σ_b²).
    """
    name = canonical_scheme(scheme)
    if name.startswith(CRITICAL):
        if activation is None:
            raise ActlabError("the critical init needs the activation each layer feeds (hidden layers of an mlp, "
                              "snn or cnn)")
        weight_variance, bias_variance = critical_variances(activation, name)
        weight = torch.randn(tuple(shape), generator=generator) * (math.sqrt(weight_variance / fan_in) * gain)
        if not bias:
            return weight, None
        if bias_init is not None:
            return weight, torch.full((int(shape[0]),), float(bias_init))
        return weight, torch.randn(int(shape[0]), generator=generator) * math.sqrt(bias_variance)
    std = init_std(name, fan_in, fan_out, first_layer=first_layer, omega_0=omega_0)
    if name == "siren":  # uniform; biases as the reference code leaves them: nn.Linear's U(±1/√fan_in)
        weight = _uniform(shape, math.sqrt(3.0) * std * gain, generator)
    elif name.endswith("_normal") or name == "nielsen":
        weight = torch.randn(tuple(shape), generator=generator) * (std * gain)
    else:  # uniform with the same variance: bound √3·σ (torch-default and standard: 1/√fan_in)
        bound = 1.0 / math.sqrt(fan_in) if name in ("torch-default", "standard") else math.sqrt(3.0) * std
        weight = _uniform(shape, bound * gain, generator)
    if not bias:
        return weight, None
    units = int(shape[0])
    if bias_init is not None:
        return weight, torch.full((units,), float(bias_init))
    if name in ("torch-default", "siren"):
        return weight, _uniform((units,), 1.0 / math.sqrt(fan_in), generator)
    if name == "nielsen":
        return weight, torch.randn(units, generator=generator)
    return weight, torch.zeros(units)
