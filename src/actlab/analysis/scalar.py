"""Float64 scalar views of a spec (f and f' on NumPy arrays), including the scalar slice of vector/grouped kinds."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from actlab.analysis.fields import Array
from actlab.spec import ActivationSpec


# ---------------------------------------------------------------- deadline
class PropertyDeadline(Exception):
    """A property computation ran past its share of the time budget (raised by the scalar views' next call)."""


_DEADLINE = threading.local()  # .at: a time.thread_time() the evaluations of f, f', f'' must not start after


def clock() -> float:
    """The budget's clock: this thread's CPU time (the computation is single-threaded), so that a busy machine
    slows a property computation down without making it give up."""
    return time.thread_time()


class deadline:
    """``with deadline(at):`` every evaluation of a scalar view in this thread raises :class:`PropertyDeadline`
    once :func:`clock` passes ``at`` (checked before each evaluation: the overrun is one evaluation)."""

    def __init__(self, at: float) -> None:
        self.at = at

    def __enter__(self) -> None:
        self.saved = getattr(_DEADLINE, "at", None)
        _DEADLINE.at = self.at if self.saved is None else min(self.at, self.saved)

    def __exit__(self, *exc: object) -> None:
        _DEADLINE.at = self.saved


def check_deadline() -> None:
    at = getattr(_DEADLINE, "at", None)
    if at is not None and clock() > at:
        raise PropertyDeadline


# ----------------------------------------------------------- scalar functions
@dataclass
class _Scalar:
    """f, f' and f'' of a scalar function as float64 numpy maps."""

    f: Callable[[Array], Array]
    df: Callable[[Array], Array]
    d2f: Callable[[Array], Array]


def _scalar(spec: ActivationSpec, values: dict[str, Any]) -> tuple[_Scalar, list[str]]:
    notes: list[str] = []
    if spec.kind == "elementwise":
        def lift(x: Array) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
    elif spec.kind == "gated":  # the gate x ↦ act(x): the unit with its value half held at 1
        def lift(x: Array) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))

        def gate_value(t: torch.Tensor, **p: Any) -> torch.Tensor:
            return spec.forward(torch.stack([torch.ones_like(t), t], dim=-1), **p)[..., 0]

        def gate_slope(t: torch.Tensor, **p: Any) -> torch.Tensor:
            return spec.derivative(torch.stack([torch.ones_like(t), t], dim=-1), **p)[..., 1]

        return _make(gate_value, gate_slope, values, lift), notes
    else:
        width = int(values["k"]) if spec.kind == "grouped" else 2
        dim = values.get("dim", -1)
        axis = 0 if spec.kind == "vector" and dim in (0, -2) else -1
        what = f"groups of k = {width}" if spec.kind == "grouped" else "2-element vectors"
        notes.append(
            f"{spec.kind} activation (not element-wise): properties of the scalar slice x ↦ f([x, 0, …])[0] on {what}, the other inputs held at 0"
        )

        def lift(x: Array) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))

        def stack(t: torch.Tensor) -> torch.Tensor:
            others = [torch.zeros_like(t)] * (width - 1)
            return torch.stack([t, *others], dim=axis)

        def first(y: torch.Tensor) -> torch.Tensor:
            return y.select(axis, 0)

        def f_slice(t: torch.Tensor, **p: Any) -> torch.Tensor:
            return first(spec.forward(stack(t), **p))

        def df_slice(t: torch.Tensor, **p: Any) -> torch.Tensor:
            return first(spec.derivative(stack(t), **p))

        return _make(f_slice, df_slice, values, lift), notes
    return _make(spec.forward, spec.derivative, values, lift), notes


def _make(forward: Callable, derivative: Callable, values: dict[str, Any], lift: Callable) -> _Scalar:
    # the eager functions: the grid's 140 000 points would make a Fused function compile (seconds of CPU time)
    forward = getattr(forward, "eager", forward)  # a Fused function's eager form
    derivative = getattr(derivative, "eager", derivative)
    def f(x: Array) -> Array:
        check_deadline()
        with torch.no_grad():
            return forward(lift(x), **values).to(torch.float64).numpy().reshape(np.shape(x))

    def df(x: Array) -> Array:
        check_deadline()
        with torch.no_grad():
            return derivative(lift(x), **values).to(torch.float64).numpy().reshape(np.shape(x))

    def d2f(x: Array) -> Array:
        check_deadline()
        t = lift(x).clone().requires_grad_(True)
        with torch.enable_grad():
            y = derivative(t, **values)
            if not y.requires_grad:
                return np.zeros(np.shape(x))
            (grad,) = torch.autograd.grad(y.sum(), t, allow_unused=True)
        if grad is None:
            return np.zeros(np.shape(x))
        return grad.detach().to(torch.float64).numpy().reshape(np.shape(x))

    return _Scalar(f, df, d2f)


