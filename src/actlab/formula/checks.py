"""Checks of a formula beyond its syntax: reserved parameter names, that its functions run (before it is
registered or saved), and whether its constants fit float32 (before training)."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch

from actlab.errors import ActlabError
from actlab.formula.names import is_reserved, reserved_message
from actlab.formula.parse import FormulaError, constant_value, parse
from actlab.spec import ActivationSpec

__all__ = ["FLOAT32_MAX", "check_param_names", "check_usable", "float32_problem"]


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_param_names(names: Iterable[str]) -> None:
    """Raise :class:`FormulaError` for a parameter name the formula language reserves (see :data:`RESERVED_NAMES`)."""
    for name in names:
        if is_reserved(name):
            raise FormulaError(reserved_message(name), None, str(name))


def check_usable(spec: ActivationSpec) -> None:
    """The kink search, and f and f' with the parameter defaults in float64 and float32: a formula
    that fails any of them raises :class:`FormulaError` here, so nothing half-checked is registered or saved."""
    try:
        spec.kink_points()
        for dtype in (torch.float64, torch.float32):
            x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=dtype)
            with torch.no_grad():
                spec.forward(x, **spec.defaults())
                spec.derivative(x, **spec.defaults())
    except ActlabError:
        raise
    except (TypeError, ValueError, ArithmeticError, RuntimeError) as error:
        raise FormulaError(f"the formula {_short(spec.expression or spec.name)!r} cannot be used: "
                           f"{type(error).__name__}: {error}") from None


FLOAT32_MAX = float(torch.finfo(torch.float32).max)


def float32_problem(spec: ActivationSpec, params: Mapping[str, Any] | None = None) -> str | None:
    """Why a formula activation cannot train in float32, or None: a constant of the formula (a number, or a part
    without x and parameters such as ``exp(100)``) or a parameter value beyond float32's range (±3.4e38), which
    becomes ±inf there (``1e308*x`` is inf·x in float32).  Not a formula: None."""
    if spec.source != "formula" or not spec.expression:
        return None
    text = spec.expression
    try:
        tree = parse(text)
    except FormulaError:
        return None
    stack = [tree]  # the largest constant parts: the torch functions fold those in float64 before meeting x
    while stack:
        node = stack.pop()
        if node.kind in ("<", "<=", ">", ">=", "==", "!="):  # x > 1e300 compares the same in float32
            continue
        value = constant_value(node)
        if value is None:
            stack.extend(node.args)
            continue
        if math.isfinite(value) and abs(value) > FLOAT32_MAX:
            what = f"the number {node.text}" if node.kind == "num" else "a constant part of it"
            where = f" at column {node.column}" if node.column else ""
            return (f"the formula {_short(text)!r} cannot train in float32: {what}{where} is {value:.3g}, beyond "
                    f"float32's range (±{FLOAT32_MAX:.3g}), where it becomes infinite; scale the formula so that "
                    "its constants stay within float32")
    values = {**spec.defaults(), **dict(params or {})}
    for name, value in values.items():
        if isinstance(value, (int, float)) and math.isfinite(value) and abs(value) > FLOAT32_MAX:
            return (f"the formula {_short(text)!r} cannot train in float32: its parameter {name} = {value:.3g} is "
                    f"beyond float32's range (±{FLOAT32_MAX:.3g}), where it becomes infinite")
    return None
