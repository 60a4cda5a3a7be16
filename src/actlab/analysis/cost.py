"""The relative cost of an activation: forward + backward timed side by side with torch's native ReLU
(``torch.utils.benchmark``), with its spread."""
from __future__ import annotations

import math
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from actlab.analysis.fields import COST_REPEATS, COST_SHAPE
from actlab.compile_policy import compiling
from actlab.nn import create
from actlab.spec import ActivationSpec


# ---------------------------------------------------------------------- cost
def _timer(module: torch.nn.Module, x: torch.Tensor) -> Any:
    """A ``torch.utils.benchmark.Timer`` of forward + backward through ``module``."""
    from torch.utils.benchmark import Timer

    x = x.detach().clone().requires_grad_(True)
    y = module(x)
    grad = torch.ones_like(y)
    y.backward(grad)  # warm-up
    return Timer("module(x).backward(grad)", globals={"module": module, "x": x, "grad": grad},
                 num_threads=torch.get_num_threads())


def _relative_cost(spec: ActivationSpec, values: dict[str, Any]) -> tuple[float | None, float | None]:
    """(median ratio, half its range) of the module's time to native ReLU's, in interleaved rounds."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(COST_SHAPE, generator=generator, dtype=torch.float32)
    try:
        with compiling(False):
            mine = _timer(create(spec.with_params(**values)).eval(), x)
            relu = _timer(create("relu", impl="native").eval(), x)
            ratios = []
            for _ in range(COST_REPEATS):
                ratios.append(mine.blocked_autorange(min_run_time=0.02).median
                              / relu.blocked_autorange(min_run_time=0.02).median)
    except RuntimeError:  # an activation that cannot run on a 1000×1000 float32 tensor
        return None, None
    return round(statistics.median(ratios), 2), round((max(ratios) - min(ratios)) / 2, 2)


def _fmt(value: float) -> str:
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return f"{value:.6g}"


def time_modules(items: Sequence[tuple[str, Mapping[str, Any]]], shape: tuple[int, int], *, rounds: int = 9,
                 calls: int = 10) -> list[list[float] | None]:
    """Seconds per forward + backward call of each (activation, params) module, per round (None: not timed)."""
    import torch

    import actlab
    from actlab.nn.modules import ActivationModule

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=generator).requires_grad_(True)
    modules: list[Any] = []
    grads: list[Any] = []  # the output's shape: a gated unit or maxout returns fewer features than it takes
    for activation, params in items:
        try:
            module = ActivationModule(actlab.get(activation), **dict(params))
            y = module(x)
            grads.append(torch.ones(y.shape))
            y.backward(grads[-1])  # warm-up
        except Exception:  # noqa: BLE001 — an activation that cannot be rebuilt or run here is not timed, not fatal
            module = None
            grads.append(None)
        modules.append(module)
    out: list[list[float] | None] = [[] if m is not None else None for m in modules]
    threads = torch.get_num_threads()
    # one thread: on a loaded machine, intra-op threads make transcendental ops (exp, tanh) far slower while a
    # plain max stays fast, which would rank activations by thread contention, not by their work
    torch.set_num_threads(1)
    try:
        live = [i for i, m in enumerate(modules) if m is not None]
        for r in range(rounds):
            shift = r % max(len(live), 1)
            for i in live[shift:] + live[:shift]:
                module, times, grad = modules[i], out[i], grads[i]
                if times is None:
                    continue
                try:
                    start = time.perf_counter()
                    for _ in range(calls):
                        module(x).backward(grad)
                    times.append((time.perf_counter() - start) / calls)
                except RuntimeError:
                    out[i] = None
    finally:
        torch.set_num_threads(threads)
    return out
