"""The relative cost of an activation: forward + backward timed side by side with ReLU."""
from __future__ import annotations

import math
import statistics
import time
from typing import Any

import torch

from actlab.analysis.fields import COST_REPEATS, COST_SHAPE
from actlab.resolve import get
from actlab.spec import ActivationSpec


# ---------------------------------------------------------------------- cost
def _time(spec: ActivationSpec, values: dict[str, Any], x: torch.Tensor) -> float:
    """Best-of-5 seconds of forward + backward through actlab's autograd Function (min: least disturbed by load)."""
    from actlab.nn import apply

    x = x.detach().clone().requires_grad_(True)
    y = apply(spec, x, **values)
    grad = torch.ones_like(y)
    y.backward(grad)  # warm-up
    times = []
    for _ in range(COST_REPEATS):
        x.grad = None
        start = time.perf_counter()
        y = apply(spec, x, **values)
        y.backward(grad)
        times.append(time.perf_counter() - start)
    return min(times)


def _relative_cost(spec: ActivationSpec, values: dict[str, Any]) -> float | None:
    """Timed side by side with ReLU on the same tensor (both now, so machine load affects both alike)."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(COST_SHAPE, generator=generator, dtype=torch.float32)
    try:
        relu = get("relu")
        ratios = []
        for _ in range(3):
            ratios.append(_time(spec, values, x) / _time(relu, {}, x))
        return round(statistics.median(ratios), 2)
    except RuntimeError:  # an activation that cannot run on a 1000×1000 float32 tensor
        return None


def _fmt(value: float) -> str:
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return f"{value:.6g}"
