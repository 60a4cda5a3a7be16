"""Per-activation cost, measured: forward + backward of the activation on the shape it had in the sweep.

The grid engine trains all runs together and splits an epoch's wall time evenly, so the stored
``s / epoch`` says nothing about an activation.  Here each activation module (the one the trainer
builds, native op where one exists) is timed on a ``batch_size × width`` tensor, side by side in one
process on one thread; its cost per epoch is that time × hidden layers × steps per epoch (the step count the store
recorded at epoch 1).  It is the time the activation itself adds, not the whole step.
"""

import time
from typing import Any

from actlab.report.summary import ReportData

REPEATS = 5  # best of REPEATS blocks of CALLS calls (the minimum is least disturbed by load; 15 took 0.6 s of a digits job)
CALLS = 10


def _seconds_per_call(activation: str, params: dict[str, Any], shape: tuple[int, int]) -> float | None:
    import torch

    import actlab
    from actlab.nn.modules import ActivationModule

    try:
        module = ActivationModule(actlab.get(activation), **params)
    except Exception:  # noqa: BLE001 — an activation that cannot be rebuilt here is not timed, not fatal
        return None
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=generator).requires_grad_(True)
    grad = torch.ones(shape)
    try:
        module(x).backward(grad)  # warm-up
        best = float("inf")
        for _ in range(REPEATS):
            start = time.perf_counter()
            for _ in range(CALLS):
                module(x).backward(grad)
            best = min(best, (time.perf_counter() - start) / CALLS)
    except RuntimeError:
        return None
    return best


def steps_per_epoch(data: ReportData) -> int | None:
    steps = [e.step for rows in data.epochs.values() for e in rows if e.epoch == 1 and e.step]
    return max(steps) if steps else None


def measure_costs(data: ReportData) -> dict[str, float | None]:
    """Seconds per epoch each activation accounts for (None where it could not be timed)."""
    config = data.sweep["config"]
    shape = (int(config.get("batch_size") or 128), int(config.get("width") or 128))
    layers = int(config.get("depth") or 1)
    steps = steps_per_epoch(data) or 1
    import torch

    out: dict[str, float | None] = {}
    threads = torch.get_num_threads()
    # one thread: on a loaded machine, intra-op threads make transcendental ops (exp, tanh) up to 1000× slower
    # while a plain max stays fast, which would rank activations by thread contention, not by their work
    torch.set_num_threads(1)
    try:
        for s in data.summaries:
            params = dict(s.runs[0].params) if s.runs and s.runs[0].params else {}
            per_call = _seconds_per_call(s.activation, params, shape)
            out[s.label] = None if per_call is None else per_call * layers * steps
    finally:
        torch.set_num_threads(threads)
    return out
