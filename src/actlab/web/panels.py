"""What the page draws beside the boundary: the learned feature space of a 2–3 unit layer with the output's
line or plane, and per-layer gradient flow (speed, dead and saturated units: the measures of
:mod:`actlab.analysis.layer_measures`), plus the compact heat-map encoding.
"""
from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from actlab.nn.per_neuron import PerNeuron


# ------------------------------------------------------------------ panels
def _hidden(net: nn.Sequential, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(pre-activation, activation) of each hidden layer."""
    out = []
    h = x
    for i in range(0, len(net) - 1, 2):
        z = net[i](h)
        h = net[i + 1](z)
        out.append((z, h))
    return out


def feature_space(net: nn.Sequential, x: torch.Tensor, layer: int) -> dict[str, Any] | None:
    """Points in hidden layer ``layer``'s activation space (2–3 units) and the output's separating line/plane.

    Valid when ``layer`` is the last hidden layer (then output = w·h + b, and the
    boundary is w·h + b = 0); for an earlier layer only the points are given.
    """
    hidden = _hidden(net, x)
    if not 0 <= layer < len(hidden):
        return None
    with torch.no_grad():
        h = hidden[layer][1]
    if h.shape[1] > 3 and layer == len(hidden) - 1:
        return projected_feature_space(net, h, layer)
    if h.shape[1] not in (2, 3):
        return None
    result: dict[str, Any] = {"layer": layer, "dims": h.shape[1], "points": [[round(v, 4) for v in row] for row in h.tolist()]}
    if layer == len(hidden) - 1:
        result["plane"] = {"w": net[-1].weight.view(-1).tolist(), "b": float(net[-1].bias)}
    return result


def projected_feature_space(net: nn.Sequential, h: torch.Tensor, layer: int) -> dict[str, Any] | None:
    """The last hidden layer's space when it has more than 3 units, in 2-D: across, the output's own direction
    (the logit w·h + b, so the boundary is the vertical line at 0); up, the direction of largest spread
    perpendicular to w (first principal component of h with its w-component removed)."""
    weight = net[-1].weight
    if weight.shape[0] != 1:
        return None
    with torch.no_grad():
        w = weight.view(-1).to(h.dtype)
        norm = torch.linalg.vector_norm(w)
        if not torch.isfinite(h).all() or not torch.isfinite(w).all() or norm == 0:
            return None
        logit = h @ w + net[-1].bias.to(h.dtype)
        direction = w / norm
        rest = h - torch.outer(h @ direction, direction)
        rest = rest - rest.mean(dim=0)
        _, _, vh = torch.linalg.svd(rest, full_matrices=False)
        across = rest @ vh[0]
    points = [[round(float(a), 4), round(float(b), 4)] for a, b in zip(logit.tolist(), across.tolist())]
    return {"layer": layer, "dims": 2, "units": int(h.shape[1]), "points": points, "plane": {"w": [1.0, 0.0], "b": 0.0},
            "axes": ["w·h + b (the output)", "largest spread ⟂ w"]}


def gradient_flow(net: nn.Sequential, x: torch.Tensor, loss_fn: Callable[[torch.Tensor], torch.Tensor],
                  before: list[torch.Tensor]) -> list[dict[str, Any]]:
    """Per hidden layer, the gradient-flow measures of :mod:`actlab.analysis.layer_measures` on the points ``x``.

    The same definitions and thresholds as ``actlab compare --diagnostics`` (see that module):
    ``speed`` = ‖∂C/∂b_l‖ (the mean loss ``loss_fn(net(x))``'s bias gradient, Nielsen's speed of learning),
    ``dead`` = share of units with f′ exactly 0 at every point, ``saturated`` = share of (point, unit)
    pairs with |f′| below 1 % (``SATURATION_FRACTION``) of the activation's max |f′|; plus
    ``update_ratio`` = ‖W_l(now) − W_l(before)‖ / ‖W_l(before)‖ over the last epoch (``before``: the
    hidden layers' weights then).  A per-neuron layer mixes activations: the measures are taken for each
    group of units sharing one (:func:`~actlab.analysis.layer_measures.layer_measures` takes one activation per
    call) and pooled exactly (norms as root sum of squares, fractions weighted by units); units without a
    saturation threshold (unbounded f′) are left out of ``saturated`` (None when no unit has one).
    """
    from actlab.analysis.layer_measures import layer_measures

    linears = [m for m in net if isinstance(m, nn.Linear)][:-1]
    if not linears:  # no hidden layer: nothing to measure
        return []
    pre: list[torch.Tensor] = []
    with torch.enable_grad():
        h = x
        for i in range(0, len(net) - 1, 2):
            z = net[i](h)
            pre.append(z)
            h = net[i + 1](z)
        loss = loss_fn(net[-1](h))
        tensors = [t for linear in linears for t in (linear.bias, linear.weight)]
        grads = torch.autograd.grad(loss, tensors, allow_unused=True)
    grads = [g if g is not None else torch.zeros_like(t) for g, t in zip(grads, tensors)]
    rows = []
    for index, (z, layer) in enumerate(zip(pre, (net[i] for i in range(1, len(net) - 1, 2)))):
        bias_grad, weight_grad = grads[2 * index], grads[2 * index + 1]
        weight = linears[index].weight.detach()
        old = before[index]
        ratio = float((weight - old).norm() / old.norm()) if float(old.norm()) > 0 else None
        parts = []
        for group, (item, units) in enumerate(_groups(layer)):
            cols = torch.tensor(units, dtype=torch.long)
            (m,) = layer_measures([z.detach()[:, cols]], item.spec, [bias_grad[cols]], [weight_grad[cols]],
                                  params=[_params(layer, group, item)], max_derivative=_max_derivative(item.spec))
            parts.append(m)
        units = sum(m.units for m in parts)
        with_threshold = [m for m in parts if m.saturated_fraction is not None]
        rows.append({
            "layer": index,
            "speed": math.sqrt(sum(m.speed ** 2 for m in parts)),
            "update_ratio": ratio,
            "dead": sum(m.dead_fraction * m.units for m in parts) / units,
            "saturated": (sum(m.saturated_fraction * m.units for m in with_threshold) / sum(m.units for m in with_threshold)
                          if with_threshold else None),
        })
    return rows


def _groups(layer: PerNeuron) -> list[tuple[Any, list[int]]]:
    """(activation item, its units) of a per-neuron layer: the units sharing one activation."""
    return list(layer.groups)


def _params(layer: nn.Module, group: int, item: Any) -> dict[str, Any]:
    """The group's parameter values: its spec's fixed values and its learnable ones (PReLU's slope) as tensors."""
    values: dict[str, Any] = dict(item.resolved)
    if isinstance(layer, PerNeuron):
        for name, value in layer.learnable[group].items():
            values[name] = value.detach().reshape(()) if value.numel() == 1 else value.detach()
    return values


_MAX_DERIVATIVE: dict[str, float | None] = {}
_SAMPLED = torch.linspace(-10.0, 10.0, 4001, dtype=torch.float64)


def _max_derivative(spec: Any) -> float | None:
    """max |f′| for the saturation threshold: the property table's, as the diagnostics take it, for a catalog
    activation (computed once per process, ~0.1 s); for a typed formula the largest |f′| sampled on [-10, 10]
    (the property table takes 6-16 s for a formula on this machine, too slow for a live page).
    None when unbounded or zero (then saturation is not measured)."""
    key = f"{spec.source}:{spec.name}:{spec.formula}"
    if key not in _MAX_DERIVATIVE:
        if spec.source == "catalog":
            from actlab.analysis.layer_measures import max_abs_derivative

            value = max_abs_derivative(spec)
        else:
            with torch.no_grad():
                d = spec.derivative(_SAMPLED, **spec.resolve()).abs()
            finite = d[torch.isfinite(d)]
            value = float(finite.max()) if finite.numel() and bool(torch.isfinite(d).all()) else None
            value = value if value is not None and 0 < value < 1e6 else None  # f′ that keeps growing: unbounded
        if len(_MAX_DERIVATIVE) > 256:
            _MAX_DERIVATIVE.clear()
        _MAX_DERIVATIVE[key] = value
    return _MAX_DERIVATIVE[key]


def encode_grid(values: torch.Tensor) -> str:
    """Values in [-1, 1] → base64 of uint8 (0 ↔ -1, 255 ↔ 1), row-major."""
    q = ((values.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return base64.b64encode(q.numpy().tobytes()).decode("ascii")


