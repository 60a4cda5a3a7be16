"""What the page draws beside the boundary: the learned feature space of a 2–3 unit layer with the output's
line or plane, and per-layer gradient flow (speed, dead and saturated units), plus the compact heat-map encoding.
"""
from __future__ import annotations

import base64
from typing import Any

import torch
from torch import nn


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
    if h.shape[1] not in (2, 3):
        return None
    result: dict[str, Any] = {"layer": layer, "dims": h.shape[1], "points": [[round(v, 4) for v in row] for row in h.tolist()]}
    if layer == len(hidden) - 1:
        result["plane"] = {"w": net[-1].weight.view(-1).tolist(), "b": float(net[-1].bias)}
    return result


def gradient_flow(net: nn.Sequential, x: torch.Tensor, before: list[torch.Tensor]) -> list[dict[str, float]]:
    """Per hidden layer: learning speed (‖ΔW‖/‖W‖ over the last epoch), dead and saturated fractions.

    A unit is dead when its activation's derivative is 0 at every training point;
    a (unit, point) pair is saturated when the derivative there is below 5 % of
    the layer's largest derivative, counted over live units.
    """
    rows = []
    linears = [m for m in net if isinstance(m, nn.Linear)]
    z_list = []
    with torch.no_grad():
        h = x
        for i in range(0, len(net) - 1, 2):
            z = net[i](h)
            z_list.append(z)
            h = net[i + 1](z)
    for index, z in enumerate(z_list):
        z = z.detach().requires_grad_(True)
        with torch.enable_grad():
            y = net[2 * index + 1](z)
            (derivative,) = torch.autograd.grad(y.sum(), z)
        magnitude = derivative.abs()
        dead_units = (magnitude <= 1e-8).all(dim=0)
        live = magnitude[:, ~dead_units]
        scale = float(live.max()) if live.numel() else 0.0
        saturated = float((live < 0.05 * scale).float().mean()) if live.numel() and scale > 0 else 0.0
        weight = linears[index].weight.detach()
        change = float((weight - before[index]).norm() / weight.norm().clamp(min=1e-12))
        rows.append({"layer": index, "speed": change, "dead": float(dead_units.float().mean()), "saturated": saturated,
                     "mean_derivative": float(magnitude.mean())})
    return rows


def encode_grid(values: torch.Tensor) -> str:
    """Values in [-1, 1] → base64 of uint8 (0 ↔ -1, 255 ↔ 1), row-major."""
    q = ((values.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return base64.b64encode(q.numpy().tobytes()).decode("ascii")


