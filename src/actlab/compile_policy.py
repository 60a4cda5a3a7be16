"""The one compile policy: when actlab uses ``torch.compile``, and what happens when it cannot.

- ``ACTLAB_COMPILE`` = 0 / false / no / off turns compilation off everywhere (read by
  :func:`compile_enabled`, the only place that parses it).
- Size thresholds: formula activations compile for tensors of at least
  :data:`FORMULA_MIN_NUMEL` elements (one fused elementwise kernel pays above that);
  the grid engine's fused step sections for hidden tensors of at least
  :data:`GRID_MIN_NUMEL` (compiling costs seconds once per process and shape).
- A failed compilation runs the eager function (same values) and warns once per
  context; a real bug raises from the eager run.
- Each compiled function gets a code object of its own (:func:`own_code`): torch
  keeps compiled code per code object and recompiles one at most 8 times, so
  sharing code would silently turn later uses eager.
"""
from __future__ import annotations

import logging
import os
import types
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["compile_enabled", "compile_errors", "own_code", "warn_once", "FORMULA_MIN_NUMEL", "GRID_MIN_NUMEL"]

FORMULA_MIN_NUMEL = 1 << 16
GRID_MIN_NUMEL = 1 << 18
_OFF = ("0", "false", "no", "off")
_WARNED: set[str] = set()
log = logging.getLogger("actlab.compile")


def compile_enabled() -> bool:
    """False when ``ACTLAB_COMPILE`` is 0/false/no/off (any case)."""
    return os.environ.get("ACTLAB_COMPILE", "1").strip().lower() not in _OFF


def compile_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "the compiler could not", as opposed to a bug in the function."""
    errors: list[type[BaseException]] = [OSError, ImportError, NotImplementedError]
    try:
        from torch._dynamo.exc import TorchDynamoException

        errors.append(TorchDynamoException)
    except ImportError:  # pragma: no cover
        pass
    try:
        from torch._inductor.exc import InductorError

        errors.append(InductorError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


def warn_once(context: str, error: BaseException, consequence: str) -> None:
    """One RuntimeWarning per context (``"formula"``, ``"grid"``) naming the error and what runs instead."""
    if context not in _WARNED:
        _WARNED.add(context)
        first = str(error).splitlines()[0] if str(error) else ""
        warnings.warn(f"actlab: torch.compile failed ({type(error).__name__}: {first}); {consequence}. "
                      "Set ACTLAB_COMPILE=0 to silence this.", RuntimeWarning, stacklevel=3)
    log.debug("%s compilation failed", context, exc_info=error)


def own_code(fn: Callable[..., Any], label: str | None = None) -> Callable[..., Any]:
    """``fn`` (a function or a bound method) with a code object of its own, optionally renamed."""
    func = getattr(fn, "__func__", fn)
    code = func.__code__.replace(co_name=label) if label else func.__code__.replace()
    clone = types.FunctionType(code, func.__globals__, label or func.__name__, func.__defaults__, func.__closure__)
    clone.__kwdefaults__ = func.__kwdefaults__
    clone.__qualname__ = label or func.__qualname__
    clone.__dict__.update(func.__dict__)
    bound_to = getattr(fn, "__self__", None)
    return types.MethodType(clone, bound_to) if bound_to is not None and hasattr(fn, "__func__") else clone
