"""An elementwise torch function that runs as one ``torch.compile``-d kernel on large tensors.

Used by formula activations (forward, derivative, vjp) and by the modules of catalog entries that have no
native PyTorch op (``impl="auto"``: forward and the analytic backward each one fused kernel).  Eager for
tensors of fewer than :data:`MIN_NUMEL` elements, when the running job decided not to compile
(:func:`actlab.compile_policy.job_compiles`: ``--compile off``, a small ``--compile auto`` job,
``ACTLAB_COMPILE=0``), inside another compilation, and after a failed compilation (one warning per context;
the eager function gives the same values and a real bug raises from it).  The first compiled call's time
and every call that recompiled (a new shape or stride) count as compile time (``compare --json``).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from actlab.compile_policy import (
    ELEMENTWISE_MIN_NUMEL,
    add_compile_seconds,
    compile_errors,
    job_compiles,
    own_code,
    warn_once,
)

__all__ = ["Fused", "MIN_NUMEL"]

MIN_NUMEL = ELEMENTWISE_MIN_NUMEL  # below this many elements the eager function runs (compiling costs seconds)
_CONSEQUENCE = {"formula": "formula activations run eagerly (slower, same values)",
                "module": "activation modules without a native op run eagerly (slower, same values)"}


class Fused:
    """``eager`` compiled (inductor) on its first call with a large tensor; a second shape recompiles once
    with dynamic shapes (``dynamic=None``).  ``label`` names the compiled code (one code object each)."""

    def __init__(self, eager: Callable[..., Tensor], label: str, context: str = "formula"):
        self.eager = eager
        self.label = label
        self.context = context
        self._compiled: Callable[..., Tensor] | None = None
        self._failed = False

    def compiled(self) -> Callable[..., Tensor]:
        if self._compiled is None:
            self._compiled = torch.compile(own_code(self.eager, self.label), dynamic=None)
        return self._compiled

    def use_compiled(self, x: Tensor) -> bool:
        # tracing (torch.compile, torch.export) first: comparing a symbolic size would put a guard on it, and
        # torch.export with a dynamic batch refuses a graph that holds only below MIN_NUMEL elements
        return (
            not torch.compiler.is_compiling()
            and not self._failed
            and x.numel() >= MIN_NUMEL
            and job_compiles()
        )

    def __call__(self, x: Tensor, *args: Any, **params: Any) -> Tensor:
        if not self.use_compiled(x):
            return self.eager(x, *args, **params)
        first = self._compiled is None
        graphs = _graphs_compiled()
        start = time.perf_counter()
        try:
            result = self.compiled()(x, *args, **params)
        except compile_errors() as error:
            result = self.eager(x, *args, **params)  # a real bug in the function raises here
            self._failed = True
            warn_once(self.context, error, _CONSEQUENCE.get(self.context, "it runs eagerly (same values)"))
            return result
        if first or _graphs_compiled() != graphs:  # this call compiled (the first call, or a recompile)
            add_compile_seconds(time.perf_counter() - start)
        return result


def _graphs_compiled() -> int:
    """Graphs Dynamo compiled in this process so far (0 before it was first imported)."""
    import sys

    utils = sys.modules.get("torch._dynamo.utils")
    return utils.counters["stats"]["unique_graphs"] if utils is not None else 0
