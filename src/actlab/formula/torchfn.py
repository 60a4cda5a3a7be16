"""Torch functions built by walking trees: the checked formula tree (forward) and
the SymPy derivative (derivative, vjp).  No code is generated from text; each node
becomes a small closure over torch ops.

:class:`actlab.fused.Fused` (re-exported here) wraps such a function with ``torch.compile``
(one fused kernel), compiled lazily on the first call with a large tensor, with a one-time warning
and eager fallback where compilation is unavailable or fails.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from actlab.compile_policy import compile_enabled
from actlab.formula.parse import FormulaError, Node
from actlab.fused import Fused

__all__ = [
    "forward_function", "node_function", "derivative_function", "vjp_function", "Fused",
    "compile_enabled",
]

log = logging.getLogger(__name__)


Env = dict[str, Any]  # "x" and the parameter values
Fn = Callable[[Env], Any]

_UNARY: dict[str, Callable[[Tensor], Tensor]] = {
    "exp": torch.exp, "log": torch.log, "log1p": torch.log1p, "expm1": torch.expm1,
    "sqrt": torch.sqrt, "abs": torch.abs, "sign": torch.sign, "sin": torch.sin, "cos": torch.cos,
    "tan": torch.tan, "tanh": torch.tanh, "sinh": torch.sinh, "cosh": torch.cosh,
    "arctan": torch.atan, "erf": torch.erf, "erfc": torch.erfc, "sigmoid": torch.sigmoid,
    "softplus": F.softplus, "relu": torch.relu,
}
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


def _tensor(value: Any, env: Env) -> Tensor:
    if isinstance(value, Tensor):
        return value
    return _full(env["x"], value)


def _full(x: Tensor, value: Any) -> Tensor:
    """A tensor like ``x`` filled with ``value``, rounded to x's dtype as an operation on tensors would round it: a
    constant beyond the dtype's range (1e308 in float32) becomes ±inf, as ``1e308 * x`` does, not an error."""
    value = float(value)
    if x.dtype.is_floating_point and math.isfinite(value) and abs(value) > torch.finfo(x.dtype).max:
        value = math.copysign(math.inf, value)
    return torch.full_like(x, value)


def _power(base: Any, exponent: Any) -> Any:
    if isinstance(exponent, (int, float)) and not isinstance(base, Tensor):
        try:
            return math.pow(base, exponent)
        except OverflowError:
            return math.inf if base > 0 or float(exponent) % 2 == 0 else -math.inf
        except (ValueError, ZeroDivisionError):  # negative base, fractional exponent; 0 ** -1
            return math.nan
    if isinstance(exponent, (int, float)):
        if exponent == 2:
            return base * base
        if exponent == 1:
            return base
        if exponent == -1:
            return torch.reciprocal(base)
        if exponent == 0.5:
            return torch.sqrt(base)
        if exponent == -0.5:
            return torch.rsqrt(base)
        exponent = float(exponent)
        return torch.pow(base, int(exponent) if exponent.is_integer() and abs(exponent) < 2**53 else exponent)
    return torch.pow(base, exponent)


def _where(condition: Any, a: Any, b: Any, env: Env) -> Any:
    if not isinstance(condition, Tensor):
        return a if condition else b
    return torch.where(condition, _tensor(a, env), _tensor(b, env))


# ------------------------------------------------------------ formula tree
def _build(node: Node, gate: bool = False) -> Fn:
    """``gate``: the tree is a derivative, where a factor ``where(c, 0, ...)`` (a piece that selects the literal
    0) makes a product 0 even where the other factor is infinite or undefined (as autograd's masked backward)."""
    kind = node.kind
    if kind in ("num", "const"):
        value = node.value
        return lambda env: value
    if kind == "x":
        return lambda env: env["x"]
    if kind == "param":
        name = node.text
        return lambda env: env[name]
    args = [_build(arg, gate) for arg in node.args]
    if kind in ("*", "/") and gate:  # a quotient: only its numerator
        gates = [_zero_gate(arg) for arg in (node.args if kind == "*" else node.args[:1])]
        gates = [g for g in gates if g is not None]
        if gates:
            a, b = args

            def product(env, a=a, b=b, gates=gates, divide=kind == "/"):
                total = _divide(a(env), b(env)) if divide else a(env) * b(env)
                for g in gates:
                    total = _where(g(env), 0.0, total, env)
                return total
            return product
    if kind == "neg":
        (a,) = args
        return lambda env: -a(env)
    if kind in ("+", "-", "*", "/", "**"):
        a, b = args
        if kind == "+":
            return lambda env: a(env) + b(env)
        if kind == "-":
            return lambda env: a(env) - b(env)
        if kind == "*":
            return lambda env: a(env) * b(env)
        if kind == "/":
            return lambda env: _divide(a(env), b(env))
        return lambda env: _power(a(env), b(env))
    if kind in _COMPARE:
        a, b = args
        compare = _COMPARE[kind]
        return lambda env: compare(a(env), b(env))
    name = node.text
    if name in _UNARY:
        (a,) = args
        op = _UNARY[name]
        return lambda env: op(_tensor(a(env), env))
    if name == "maximum":
        a, b = args
        return lambda env: torch.maximum(_tensor(a(env), env), _tensor(b(env), env))
    if name == "minimum":
        a, b = args
        return lambda env: torch.minimum(_tensor(a(env), env), _tensor(b(env), env))
    if name == "clip":
        a, low, high = args
        return lambda env: torch.minimum(
            torch.maximum(_tensor(a(env), env), _tensor(low(env), env)), _tensor(high(env), env)
        )
    if name == "where":
        condition, a, b = args
        return lambda env: _where(condition(env), a(env), b(env), env)
    raise FormulaError(f"internal: no torch translation for {name!r}")  # pragma: no cover


def _zero_gate(node: Node) -> Fn | None:
    """Where the factor ``node`` is a ``where`` that selects a literal 0 (see :func:`_build`), else None."""
    if node.kind != "call" or node.text != "where":
        return None
    condition, a, b = node.args
    zero_a, zero_b = _literal_zero(a), _literal_zero(b)
    if not (zero_a or zero_b):
        return None
    test = _build(condition)
    inner_a = None if zero_a else _zero_gate(a)
    inner_b = None if zero_b else _zero_gate(b)

    def gate(env):
        chosen = test(env)
        left = True if zero_a else (inner_a(env) if inner_a else False)
        right = True if zero_b else (inner_b(env) if inner_b else False)
        if not isinstance(chosen, Tensor):
            return left if chosen else right
        return torch.where(chosen, _as_mask(left, chosen), _as_mask(right, chosen))
    return gate


def _literal_zero(node: Node) -> bool:
    return node.kind == "num" and node.value == 0


def _as_mask(value: Any, like: Tensor) -> Tensor:
    return value if isinstance(value, Tensor) else torch.full_like(like, bool(value))


def _divide(a: Any, b: Any) -> Any:
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        return a / b if b != 0 else math.nan
    return a / b


def forward_function(tree: Node) -> Callable[..., Tensor]:
    """f(x, **params) as torch ops, following the tree as the user wrote it."""
    return _finish(_build(tree))


def node_function(tree: Node) -> Callable[..., Tensor]:
    """Any sub-tree (e.g. a kink's boundary expression) as a torch function of x."""
    return _finish(_build(tree))


def derivative_function(tree: Node) -> Callable[..., Tensor]:
    """A derivative tree (from :mod:`actlab.formula.chainrule`) as a torch function of x: a product with a piece
    that selects 0 is 0 (see :func:`_build`)."""
    return _finish(_build(tree, gate=True))


def _finish(fn: Fn) -> Callable[..., Tensor]:
    def run(x: Tensor, **params: Any) -> Tensor:
        env: Env = {"x": x}
        for name, value in params.items():
            if isinstance(value, Tensor) and (value.dtype != x.dtype or value.device != x.device):
                value = value.to(dtype=x.dtype, device=x.device)
            env[name] = value
        result = fn(env)
        if not isinstance(result, Tensor):
            return _full(x, result)
        if result.dtype != x.dtype:
            result = result.to(x.dtype)
        if result.shape != x.shape:
            result = result.expand(torch.broadcast_shapes(result.shape, x.shape)).clone()
        return result

    return run


def vjp_function(derivative: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """grad_output * f'(x): the elementwise vector-Jacobian product (one fused kernel when compiled)."""

    def vjp(x: Tensor, grad_output: Tensor, **params: Any) -> Tensor:
        return grad_output * derivative(x, **params)

    return vjp


