"""The exploding-gradient preset: a chain of one-unit layers with large weights, and clipping bringing the
update back to size."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

import actlab
from actlab.analysis.layer_measures import SATURATION_FRACTION, max_abs_derivative
from actlab.diagnostics.presets import EXPLODING_WEIGHT
from actlab.errors import ActlabError
from actlab.nn import create

__all__ = ["clip_gradients", "exploding_chain", "run_exploding"]


def clip_gradients(parameters: list[nn.Parameter], clip_value: float | None, clip_norm: float | None) -> bool:
    """Clip the ``.grad`` of ``parameters`` in place (by value, or by global norm); True when clipping changed them."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if clip_value is not None:
        changed = any(bool((g.abs() > clip_value).any()) for g in grads)
        nn.utils.clip_grad_value_(parameters, clip_value)
        return changed
    if clip_norm is not None:
        norm = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])))
        nn.utils.clip_grad_norm_(parameters, clip_norm)
        return norm > clip_norm
    return False


def exploding_chain(depth: int, activation: str = "sigmoid", weight: float = EXPLODING_WEIGHT,
                    x: float = 1.0) -> tuple[list[nn.Parameter], list[nn.Parameter], Callable[[], Tensor]]:
    """Weights and biases of a one-unit chain with every z_l = 0, and a function giving the cost ½(a_L − 1)²."""
    spec = actlab.get(activation)
    f0 = float(spec(torch.zeros((), dtype=torch.float64)))
    weights = [nn.Parameter(torch.tensor(weight, dtype=torch.float64)) for _ in range(depth)]
    biases = [nn.Parameter(torch.tensor(-weight * (x if i == 0 else f0), dtype=torch.float64)) for i in range(depth)]
    module = create(spec)

    def cost() -> Tensor:
        a = torch.tensor(x, dtype=torch.float64)
        for w, b in zip(weights, biases):
            a = module(w * a + b)
        return 0.5 * (a - 1.0) ** 2

    return weights, biases, cost


def run_exploding(depth: int, activation: str = "sigmoid", *, weight: float = EXPLODING_WEIGHT, lr: float = 0.1,
                  clip_value: float | None = None, clip_norm: float | None = None,
                  saturation_threshold: float = SATURATION_FRACTION) -> dict[str, Any]:
    """Bias gradients layer by layer, their growth factor, and the update unclipped / clipped by value / by norm."""
    spec = actlab.get(activation)
    if spec.kind != "elementwise":
        raise ActlabError(f"the exploding chain needs an elementwise activation, not {spec.name}")
    value = clip_value if clip_value is not None else 1.0
    norm = clip_norm if clip_norm is not None else 1.0
    weights, biases, cost = exploding_chain(depth, activation, weight)
    parameters = [*weights, *biases]
    loss = cost()
    grads = torch.autograd.grad(loss, parameters)
    bias_grads = [float(g) for g in grads[depth:]]
    growth = [abs(bias_grads[i]) / abs(bias_grads[i + 1]) if bias_grads[i + 1] != 0 else math.inf
              for i in range(depth - 1)]
    derivative = float(spec.grad(torch.zeros((), dtype=torch.float64)))
    updates = {}
    for method in ("none", "value", "norm"):
        for p, g in zip(parameters, grads):
            p.grad = g.clone()
        changed = clip_gradients(parameters, value if method == "value" else None, norm if method == "norm" else None)
        step = torch.stack([lr * p.grad for p in parameters])
        updates[method] = {"max_abs": float(step.abs().max()), "norm": float(torch.linalg.vector_norm(step)),
                           "first_bias": float(step[depth]), "changed": bool(changed),
                           "elements_changed": int(sum(bool(p.grad != g) for p, g in zip(parameters, grads)))}
    speeds = [abs(g) for g in bias_grads]
    biggest = max_abs_derivative(spec)
    saturated = None if biggest is None else float(abs(derivative) < saturation_threshold * biggest)
    return {
        "activation": spec.name,
        "depth": depth,
        "weight": weight,
        "derivative_at_zero": derivative,
        "expected_growth": weight * derivative,
        "bias_gradients": bias_grads,
        "growth_factor": growth,
        "lr": lr,
        "clip_value": value,
        "clip_norm": norm,
        "updates": updates,
        "layers": [{"layer": i + 1, "speed_at_init": s, "speed_at_init_std": 0.0, "speed_final": None,
                    "dead_fraction_final": float(spec.grad(torch.zeros(())) == 0),
                    "saturated_fraction_final": saturated} for i, s in enumerate(speeds)],
    }
