"""Per-layer gradient-flow measures, and the verdict drawn from them (pure functions, no training).

Engine-independent: :func:`layer_measures` takes the per-layer pre-activations
``z_l`` of an evaluation batch, the activation spec, and the gradients of the
mean loss with respect to each hidden layer's bias and weight.  Any trainer
that can hand over those tensors (a forward hook on the activation modules, a
vectorised grid that keeps its intermediate tensors) gets the same numbers.
:func:`collect` is the helper for a plain ``nn.Sequential`` (forward hooks on
the activation modules, one ``torch.autograd.grad`` call).

Definitions (one line each; l = 1 … depth counts the hidden layers):

- ``speed``: ‖(1/n) Σ_x ∂C_x/∂b_l‖₂, the norm of the bias gradient of layer l of the mean loss
  over the evaluation batch (Nielsen's "speed of learning" of the layer).
- ``weight_grad_norm``: ‖(1/n) Σ_x ∂C_x/∂W_l‖_F on the same batch.
- ``update_ratio``: ‖W_l(after) − W_l(before)‖_F / ‖W_l(before)‖_F of the last optimiser step taken
  before the measurement (null at initialisation, where no step has been taken).
- ``mean`` / ``std``: of the activations f(z_l) over every example and unit.
- ``saturated_fraction``: share of (example, unit) pairs with |f'(z)| < t · max |f'|, where the threshold
  t is ``saturation_threshold`` (default 1 %, the property table's ``SATURATION_FRACTION``) and
  max |f'| = max(|derivative_min|, |derivative_max|) from :func:`actlab.properties`
  (null when max |f'| is unbounded or zero).  A sigmoid unit counts as saturated at t = 1 % only
  for σ < 0.0025 or σ > 0.9975; at t = 0.2 already for σ < 0.053 or σ > 0.947
  (σ' = σ(1 − σ) < 0.2 · 0.25).
- ``zero_fraction``: share of (example, unit) pairs with f(z) exactly 0.
- ``dead_fraction``: share of units whose f'(z) is exactly 0 for every example of the batch, in the
  network's precision (float32: a sigmoid unit with z > 17 for every example counts, since σ'(z)
  underflows to 0 there and no gradient flows; the property table ignores such underflow).

A net whose hidden layer has every unit dead (``dead_fraction`` 1) on the batch computes the same
output for every example and passes no gradient below that layer: :func:`collapsed` tells.

Verdict (:func:`verdict`), thresholds in the constants below; the first that applies wins:

- ``exploding``: a run diverged (training loss non-finite) or a loss or measure is non-finite; or the speed ratio first/last hidden layer exceeds
  ``EXPLODING_RATIO``; or some layer's weight-gradient norm ends ``EXPLODING_GROWTH``× above its
  value at initialisation.
- ``dying``: the dead fraction of some hidden layer (mean over seeds) grows by at least
  ``DYING_GROWTH`` (absolute) from initialisation to the end; or at least ``COLLAPSED_RUNS`` of
  the runs end :func:`collapsed` (a hidden layer entirely dead: constant output, no gradient
  below it — at initialisation already, for nets born dead).
- ``vanishing``: the speed ratio first/last hidden layer is below ``VANISHING_RATIO`` at
  initialisation or at the end (means over seeds).
- ``healthy``: none of these.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from actlab.errors import ActlabError
from actlab.spec import ActivationSpec

__all__ = [
    "COLLAPSED_RUNS",
    "DYING_GROWTH",
    "EXPLODING_GROWTH",
    "EXPLODING_RATIO",
    "SATURATION_FRACTION",
    "VANISHING_RATIO",
    "LayerMeasures",
    "check_saturation_threshold",
    "collapsed",
    "Snapshot",
    "collect",
    "hidden_layers",
    "layer_measures",
    "max_abs_derivative",
    "module_params",
    "verdict",
]

from actlab.analysis.fields import SATURATION_FRACTION  # the property table's definition

VANISHING_RATIO = 0.25  # speed(first hidden) / speed(last hidden) below this: vanishing
EXPLODING_RATIO = 4.0  # … above this: exploding
EXPLODING_GROWTH = 100.0  # a weight-gradient norm ending this many times above its init value: exploding
DYING_GROWTH = 0.10  # dead fraction of a hidden layer growing by this much (absolute): dying
COLLAPSED_RUNS = 0.10  # this share of the runs ending with a hidden layer entirely dead: dying


@dataclass(frozen=True)
class LayerMeasures:
    """The measures of one hidden layer at one point of training (see the module docstring)."""

    layer: int  # 1-based hidden-layer index
    speed: float
    weight_grad_norm: float
    update_ratio: float | None
    mean: float
    std: float
    saturated_fraction: float | None
    zero_fraction: float
    dead_fraction: float
    units: int  # width of the layer (to pool dead fractions over layers)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Snapshot:
    """Everything measured at one point: the layers, the evaluation loss and the raw activations."""

    layers: list[LayerMeasures]
    loss: float
    activations: list[Tensor]  # f(z_l) per hidden layer, detached (for histograms)


def max_abs_derivative(spec: ActivationSpec) -> float | None:
    """max |f'| over the real line from the property table; None when unbounded or zero."""
    import actlab

    try:
        table = actlab.properties(spec, measure_cost=False)
    except (ActlabError, ArithmeticError, ValueError):  # a formula the property table cannot analyse
        return None
    low, high = table.derivative_min, table.derivative_max
    if low is None or high is None:
        return None
    biggest = max(abs(low), abs(high))
    if not math.isfinite(biggest) or biggest <= 0:
        return None
    return float(biggest)


def _norm(t: Tensor) -> float:
    return float(torch.linalg.vector_norm(t.detach().double()))


def check_saturation_threshold(value: Any, name: str = "saturation_threshold") -> float:
    """``value`` as a float in (0, 1] (a fraction of max |f'|); :class:`ActlabError` naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 < value <= 1:
        raise ActlabError(f"{name} must be a fraction of max |f'| in (0, 1] (0.01 = 1 %), got {value!r}")
    return float(value)


def layer_measures(pre_activations: Sequence[Tensor], spec: ActivationSpec, bias_grads: Sequence[Tensor | None],
                   weight_grads: Sequence[Tensor], *, params: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
                   max_derivative: float | None = None, update_ratios: Sequence[float | None] | None = None,
                   saturation_threshold: float = SATURATION_FRACTION) -> list[LayerMeasures]:
    """Measures per hidden layer from its pre-activations ``z_l`` (n, units) and its gradients.

    ``params``: the activation's parameter values (one mapping for all layers or one per
    layer; tensors allowed, e.g. a learned PReLU slope); defaults when None.
    ``max_derivative``: max |f'| for the saturation threshold (see :func:`max_abs_derivative`).
    ``saturation_threshold``: a unit-example pair is saturated when |f'(z)| is below this fraction
    of ``max_derivative``.
    ``bias_grads``: a layer without a bias gives None; its ``speed`` is then the norm of the
    gradient with respect to the layer's pre-activations summed over the batch, (1/n) Σ_x ∂C_x/∂z_l,
    which is what the bias gradient would be — pass that tensor instead of None to measure it.
    """
    saturation_threshold = check_saturation_threshold(saturation_threshold)
    depth = len(pre_activations)
    if len(bias_grads) != depth or len(weight_grads) != depth:
        raise ValueError(f"{depth} layers of pre-activations but {len(bias_grads)} bias and "
                         f"{len(weight_grads)} weight gradients")
    if params is None or isinstance(params, Mapping):
        per_layer = [dict(params or {})] * depth
    else:
        per_layer = [dict(p) for p in params]
    ratios = list(update_ratios) if update_ratios is not None else [None] * depth
    out = []
    for index, (z, bias_grad, weight_grad) in enumerate(zip(pre_activations, bias_grads, weight_grads)):
        z = z.detach().float().reshape(len(z), -1)
        values = spec.resolve(**{k: v for k, v in per_layer[index].items() if not isinstance(v, Tensor)})
        values.update({k: v.detach() for k, v in per_layer[index].items() if isinstance(v, Tensor)})
        with torch.no_grad():
            a = spec.forward(z, **values)
            derivative = spec.derivative(z, **values)
        finite_a = a[torch.isfinite(a)].double()
        saturated = None
        if max_derivative is not None:
            saturated = float((derivative.abs() < saturation_threshold * max_derivative).double().mean())
        out.append(LayerMeasures(
            layer=index + 1,
            speed=_norm(bias_grad) if bias_grad is not None else math.nan,
            weight_grad_norm=_norm(weight_grad),
            update_ratio=ratios[index],
            mean=float(finite_a.mean()) if finite_a.numel() else math.nan,
            std=float(finite_a.std(unbiased=False)) if finite_a.numel() else math.nan,
            saturated_fraction=saturated,
            zero_fraction=float((a == 0).double().mean()),
            dead_fraction=float((derivative == 0).all(dim=0).double().mean()),
            units=int(z.shape[1]),
        ))
    return out


def hidden_layers(model: nn.Module) -> list[tuple[nn.Linear, nn.Module]]:
    """(Linear before, activation module) for each hidden layer of an MLP ``nn.Sequential``."""
    pairs: list[tuple[nn.Linear, nn.Module]] = []
    last_linear: nn.Linear | None = None
    for module in model.modules():
        if isinstance(module, nn.Linear):
            last_linear = module
        elif isinstance(getattr(module, "spec", None), ActivationSpec) and last_linear is not None:
            pairs.append((last_linear, module))
            last_linear = None
    return pairs


def module_params(module: nn.Module) -> dict[str, Any]:
    """The current parameter values of an actlab activation module (learnable ones as tensors)."""
    values: dict[str, Any] = dict(getattr(module, "fixed", {}))
    for name, value in getattr(module, "learnable", {}).items():
        values[name] = value.detach().reshape(()) if value.numel() == 1 else value.detach().reshape(1, -1)
    return values


def collect(model: nn.Module, x: Tensor, loss_fn, spec: ActivationSpec, *, max_derivative: float | None = None,
            update_ratios: Sequence[float | None] | None = None,
            saturation_threshold: float = SATURATION_FRACTION) -> Snapshot:
    """Forward ``x`` through ``model`` (eval mode), backprop ``loss_fn(output)`` and measure every hidden layer.

    Uses forward hooks on the activation modules to catch z_l and ``torch.autograd.grad``
    for the bias/weight gradients (the parameters' ``.grad`` are left untouched).  A Linear
    without a bias is measured by the gradient with respect to z_l summed over the batch
    (what its bias gradient would be).
    """
    pairs = hidden_layers(model)
    captured: dict[int, Tensor] = {}
    handles = []
    for index, (_, activation) in enumerate(pairs):
        def hook(module, args, output, index=index):
            captured[index] = args[0]
        handles.append(activation.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        output = model(x)
        loss = loss_fn(output)
        tensors = [t for index, (linear, _) in enumerate(pairs)
                   for t in (linear.bias if linear.bias is not None else captured[index], linear.weight)]
        grads = torch.autograd.grad(loss, tensors, allow_unused=True)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    grads = [g if g is not None else torch.zeros_like(t) for g, t in zip(grads, tensors)]
    bias_grads = [g if linear.bias is not None else g.reshape(len(g), -1).sum(0)
                  for g, (linear, _) in zip(grads[0::2], pairs)]
    pre = [captured[i] for i in range(len(pairs))]
    layers = layer_measures(pre, spec, bias_grads, grads[1::2], params=[module_params(a) for _, a in pairs],
                            max_derivative=max_derivative, update_ratios=update_ratios,
                            saturation_threshold=saturation_threshold)
    activations = [a.detach().float().reshape(len(a), -1) for a in
                   (act(z.detach()) for z, (_, act) in zip(pre, pairs))]
    return Snapshot(layers, float(loss.detach()), activations)


def collapsed(layers: Sequence[LayerMeasures | Mapping[str, Any]]) -> bool:
    """True when some hidden layer has every unit dead on the batch (the net's output is then constant)."""
    return any((layer.dead_fraction if isinstance(layer, LayerMeasures) else layer["dead_fraction"]) >= 1.0
               for layer in layers)


# ---------------------------------------------------------------------------------------- verdict
def _finite(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and math.isfinite(value))


def _pooled_dead(layers: Sequence[Mapping[str, Any]]) -> float:
    units = sum(layer["units"] for layer in layers)
    return sum(layer["dead_fraction"] * layer["units"] for layer in layers) / units if units else 0.0


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def verdict(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The verdict over a group of runs of one setup (several seeds).

    Each run is a mapping with ``init`` and ``final``: lists of per-layer dicts
    (:meth:`LayerMeasures.to_dict`), and ``losses``: every measured loss.  Returns
    ``{"verdict": ..., "reasons": [...], "numbers": {...}}`` with the numbers behind it.
    """
    if not runs:
        raise ValueError("no runs to judge")
    numbers: dict[str, Any] = {}
    reasons: list[str] = []
    nonfinite = any(run.get("diverged", False) for run in runs) or any(
        not _finite(run_loss) for run in runs for run_loss in run.get("losses", [])
    ) or any(
        not _finite(layer.get(key)) for run in runs for point in ("init", "final") for layer in run[point]
        for key in ("speed", "weight_grad_norm")
    )
    numbers["non_finite"] = bool(nonfinite)

    def ratio(point: str) -> float:
        values = []
        for run in runs:
            layers = run[point]
            first, last = layers[0]["speed"], layers[-1]["speed"]
            if len(layers) > 1 and _finite(first) and _finite(last) and last > 0:
                values.append(first / last)
        return _mean(values) if values else math.nan

    ratio_init, ratio_final = ratio("init"), ratio("final")
    numbers["speed_ratio_first_last_init"] = ratio_init
    numbers["speed_ratio_first_last_final"] = ratio_final
    growth = []
    for run in runs:
        for start, end in zip(run["init"], run["final"]):
            if start["weight_grad_norm"] > 0 and _finite(end["weight_grad_norm"]):
                growth.append(end["weight_grad_norm"] / start["weight_grad_norm"])
    numbers["max_weight_grad_growth"] = max(growth) if growth else math.nan
    dead_init = _mean([_pooled_dead(run["init"]) for run in runs])
    dead_final = _mean([_pooled_dead(run["final"]) for run in runs])
    numbers["dead_fraction_init"], numbers["dead_fraction_final"] = dead_init, dead_final
    # runs whose net computes a constant on the batch: some hidden layer entirely dead (born dead at init)
    numbers["collapsed_fraction_init"] = _mean([float(collapsed(run["init"])) for run in runs])
    numbers["collapsed_fraction_final"] = _mean([float(collapsed(run["final"])) for run in runs])
    depth = min(len(run["final"]) for run in runs)
    growth_per_layer = [
        _mean([run["final"][i]["dead_fraction"] - run["init"][i]["dead_fraction"] for run in runs])
        for i in range(depth)
    ]
    worst = max(range(depth), key=lambda i: growth_per_layer[i]) if depth else 0
    numbers["dead_growth_per_layer"] = growth_per_layer

    label = "healthy"
    if nonfinite:
        reasons.append("a run diverged, or a loss or gradient norm became non-finite")
    if ratio_init > EXPLODING_RATIO or ratio_final > EXPLODING_RATIO:
        reasons.append(f"the first hidden layer learns more than {EXPLODING_RATIO:g}× faster than the last")
    if growth and max(growth) > EXPLODING_GROWTH:
        reasons.append(f"a weight-gradient norm grew {max(growth):.3g}× (threshold {EXPLODING_GROWTH:g}×)")
    if reasons:
        label = "exploding"
    elif depth and growth_per_layer[worst] >= DYING_GROWTH:
        label = "dying"
        reasons.append(f"dead units in hidden layer {worst + 1} grew by {100 * growth_per_layer[worst]:.1f} points "
                       f"(threshold +{100 * DYING_GROWTH:g}); all layers: {100 * dead_init:.1f} % → "
                       f"{100 * dead_final:.1f} %")
    elif numbers["collapsed_fraction_final"] >= COLLAPSED_RUNS:
        label = "dying"
        reasons.append(f"{100 * numbers['collapsed_fraction_final']:.1f} % of the runs end with a hidden layer "
                       f"entirely dead (constant output; {100 * numbers['collapsed_fraction_init']:.1f} % at "
                       f"initialisation; threshold {100 * COLLAPSED_RUNS:g} %)")
    elif ratio_init < VANISHING_RATIO or ratio_final < VANISHING_RATIO:
        label = "vanishing"
        reasons += _vanishing_reasons(runs, ratio_init, ratio_final, numbers)
    return {"verdict": label, "reasons": reasons, "numbers": numbers}


def _vanishing_reasons(runs: Sequence[Mapping[str, Any]], ratio_init: float, ratio_final: float,
                       numbers: dict[str, Any]) -> list[str]:
    """Which measurement the vanishing verdict rests on (initialisation, end, both), and whether training
    reversed it; ``numbers["vanishing_rests_on"]`` records the first."""
    points = {"init": ("at initialisation", ratio_init), "final": ("at the end of training", ratio_final)}
    rests = [key for key, (_, value) in points.items() if math.isfinite(value) and value < VANISHING_RATIO]
    numbers["vanishing_rests_on"] = "both" if len(rests) == 2 else rests[0]
    reasons = [f"{words}, the first hidden layer learns {1 / value:.3g}× slower than the last (speed ratio "
               f"first/last {value:.3g}, below {VANISHING_RATIO:g}; measured on the fixed batch, mean over seeds)"
               for key, (words, value) in points.items() if key in rests]
    if rests == ["init"]:
        first = _mean([run["final"][0]["speed"] for run in runs if _finite(run["final"][0]["speed"])])
        last = _mean([run["final"][-1]["speed"] for run in runs if _finite(run["final"][-1]["speed"])])
        speeds = "" if not (math.isfinite(first) and math.isfinite(last)) else (
            f" (hidden layer 1 {first:.3g} {'>' if first > last else '≤'} hidden layer {len(runs[0]['final'])} "
            f"{last:.3g})")
        if math.isfinite(ratio_final) and ratio_final >= 1:
            reasons.append(f"training reversed it: at the end the first hidden layer learns {ratio_final:.3g}× as "
                           f"fast as the last{speeds}; the verdict rests on the initialisation only")
        else:
            reasons.append(f"at the end of training the ratio is {ratio_final:.3g}{speeds}, above the threshold: "
                           "the verdict rests on the initialisation only")
    return reasons
