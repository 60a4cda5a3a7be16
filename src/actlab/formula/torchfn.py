"""Torch functions built by walking trees: the checked formula tree (forward) and
the SymPy derivative (derivative, vjp).  No code is generated from text; each node
becomes a small closure over torch ops.

:class:`Fused` wraps such a function with ``torch.compile`` (one fused kernel),
compiled lazily on the first call with a large tensor, with a one-time warning
and eager fallback where compilation is unavailable or fails.
``ACTLAB_COMPILE=0`` turns compilation off.
"""
from __future__ import annotations

import logging
import math
import os
import types
import warnings
from collections.abc import Callable
from typing import Any

import sympy
import torch
import torch.nn.functional as F
from torch import Tensor

from actlab.formula import symbolic
from actlab.formula.parse import FormulaError, Node

__all__ = [
    "forward_function", "node_function", "sympy_function", "sympy_plan", "plan_function", "Fused",
    "compile_enabled", "COMPILE_MIN_NUMEL",
]

log = logging.getLogger(__name__)

# below this many elements the eager composition is used (compiling costs seconds)
COMPILE_MIN_NUMEL = 1 << 16

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
    return torch.full_like(env["x"], float(value))


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
        return torch.pow(base, int(exponent) if float(exponent).is_integer() else exponent)
    return torch.pow(base, exponent)


def _where(condition: Any, a: Any, b: Any, env: Env) -> Any:
    if not isinstance(condition, Tensor):
        return a if condition else b
    return torch.where(condition, _tensor(a, env), _tensor(b, env))


# ------------------------------------------------------------ formula tree
def _build(node: Node) -> Fn:
    kind = node.kind
    if kind in ("num", "const"):
        value = node.value
        return lambda env: value
    if kind == "x":
        return lambda env: env["x"]
    if kind == "param":
        name = node.text
        return lambda env: env[name]
    args = [_build(arg) for arg in node.args]
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


def _finish(fn: Fn) -> Callable[..., Tensor]:
    def run(x: Tensor, **params: Any) -> Tensor:
        env: Env = {"x": x}
        for name, value in params.items():
            if isinstance(value, Tensor) and (value.dtype != x.dtype or value.device != x.device):
                value = value.to(dtype=x.dtype, device=x.device)
            env[name] = value
        result = fn(env)
        if not isinstance(result, Tensor):
            return torch.full_like(x, float(result))
        if result.dtype != x.dtype:
            result = result.to(x.dtype)
        if result.shape != x.shape:
            result = result.expand(torch.broadcast_shapes(result.shape, x.shape)).clone()
        return result

    return run


# ------------------------------------------------------------ SymPy tree
class Untranslatable(Exception):
    """A SymPy node with no torch counterpart (the caller falls back)."""


# SymPy function -> name of the torch op (the plan stores names, so it pickles)
_SYMPY_UNARY: dict[Any, str] = {
    sympy.exp: "exp", sympy.log: "log", sympy.sin: "sin", sympy.cos: "cos",
    sympy.tan: "tan", sympy.tanh: "tanh", sympy.sinh: "sinh", sympy.cosh: "cosh",
    sympy.atan: "arctan", sympy.erf: "erf", sympy.erfc: "erfc", sympy.Abs: "abs",
    sympy.sign: "sign", symbolic.sigmoid: "sigmoid", symbolic.softplus: "softplus",
    symbolic.log1p: "log1p", symbolic.expm1: "expm1", symbolic.abs_: "abs",
    symbolic.sign_: "sign", sympy.sec: "sec", sympy.csc: "csc", sympy.cot: "cot",
    sympy.sech: "sech", sympy.csch: "csch", sympy.coth: "coth",
}
_PLAN_UNARY: dict[str, Callable[[Tensor], Tensor]] = {
    **_UNARY,
    "sec": lambda t: torch.reciprocal(torch.cos(t)), "csc": lambda t: torch.reciprocal(torch.sin(t)),
    "cot": lambda t: torch.reciprocal(torch.tan(t)), "sech": lambda t: torch.reciprocal(torch.cosh(t)),
    "csch": lambda t: torch.reciprocal(torch.sinh(t)), "coth": lambda t: torch.reciprocal(torch.tanh(t)),
}
_SYMPY_RELATION = {
    sympy.StrictLessThan: "<", sympy.LessThan: "<=", sympy.StrictGreaterThan: ">",
    sympy.GreaterThan: ">=", sympy.Eq: "==", sympy.Ne: "!=",
}
EXACT_INTEGER = 2**53  # larger integers become floats (torch cannot take Python ints beyond 64 bits)

Plan = tuple  # nested tuples of str / float / int / bool: picklable, no SymPy objects


def _integer(value: int) -> int | float:
    if abs(value) < EXACT_INTEGER:
        return value
    try:
        return float(value)
    except OverflowError:  # beyond float's range (~1.8e308)
        return math.inf if value > 0 else -math.inf


def sympy_plan(expr: sympy.Basic) -> Plan:
    """A SymPy expression as a plan: nested tuples naming torch operations (raises Untranslatable).

    Constants are evaluated to floats here (SymPy's high-precision evaluation), so
    that turning the plan into torch closures (:func:`plan_function`) runs no SymPy
    at all: the plan can be computed in a worker process under a deadline
    (:mod:`actlab.formula.budget`) and sent back.
    """
    if expr.is_Symbol:
        return ("sym", expr.name)
    if expr is sympy.true or expr is sympy.false:
        return ("bool", bool(expr))
    if expr.is_number:  # any constant: 2, 1/2, pi, sqrt(2), and I*pi or zoo (not real: NaN)
        if expr.is_Integer:
            return ("num", _integer(int(expr)))
        try:
            value = float(expr)
        except (TypeError, ValueError):
            value = math.nan
        except OverflowError:
            value = math.inf if expr.is_positive else -math.inf if expr.is_negative else math.nan
        return ("num", value)
    func = expr.func
    if func is sympy.Piecewise:
        return ("piecewise", tuple((sympy_plan(value), sympy_plan(condition)) for value, condition in expr.args))
    args = tuple(sympy_plan(arg) for arg in expr.args)
    if func is sympy.Add:
        return ("add", args)
    if func is sympy.Mul:
        return ("mul", args)
    if func is sympy.Pow:
        return ("pow", args)
    if func in _SYMPY_UNARY:
        return ("unary", _SYMPY_UNARY[func], args)
    if func in _SYMPY_RELATION:
        return ("rel", _SYMPY_RELATION[func], args)
    if func is sympy.ITE:
        return ("ite", args)
    if func is sympy.Xor:
        return ("xor", args)
    if func is sympy.And:
        return ("and", args)
    if func is sympy.Or:
        return ("or", args)
    if func is sympy.Not:
        return ("not", args)
    if func is sympy.DiracDelta:  # zero almost everywhere; the point itself is a reported kink
        return ("num", 0)
    if func is sympy.Heaviside:
        return ("heaviside", args[:1])
    if func is sympy.Max:
        return ("max", args)
    if func is sympy.Min:
        return ("min", args)
    raise Untranslatable(str(func))


def _build_plan(plan: Plan) -> Fn:
    kind = plan[0]
    if kind == "sym":
        name = plan[1]
        return lambda env: env[name]
    if kind in ("bool", "num"):
        value = plan[1]
        return lambda env: value
    if kind == "piecewise":
        pieces = [(_build_plan(value), _build_plan(condition)) for value, condition in plan[1]]

        def piecewise(env, pieces=pieces):
            result: Any = math.nan
            for value, condition in reversed(pieces):
                result = _where(condition(env), value(env), result, env)
            return result
        return piecewise
    args = [_build_plan(arg) for arg in plan[-1]]
    if kind == "add":
        def add(env, args=args):
            total = args[0](env)
            for a in args[1:]:
                total = total + a(env)
            return total
        return add
    if kind == "mul":
        def mul(env, args=args):
            total = args[0](env)
            for a in args[1:]:
                total = total * a(env)
            return total
        return mul
    if kind == "pow":
        base, exponent = args
        return lambda env: _power(base(env), exponent(env))
    if kind == "unary":
        op = _PLAN_UNARY[plan[1]]
        (a,) = args
        return lambda env: op(_tensor(a(env), env))
    if kind == "rel":
        compare = _COMPARE[plan[1]]
        a, b = args
        return lambda env: compare(a(env), b(env))
    if kind == "ite":
        condition, a, b = args
        return lambda env: _boolean_where(condition(env), a(env), b(env))
    if kind == "xor":
        return lambda env: _fold(args, env, lambda p, q: p ^ q)
    if kind == "and":
        return lambda env: _fold(args, env, lambda p, q: p & q)
    if kind == "or":
        return lambda env: _fold(args, env, lambda p, q: p | q)
    if kind == "not":
        (a,) = args
        return lambda env: ~a(env) if isinstance(a(env), Tensor) else not a(env)
    if kind == "heaviside":
        a = args[0]
        return lambda env: _where(_tensor(a(env), env) > 0, 1.0, 0.0, env)
    if kind in ("max", "min"):
        op = torch.maximum if kind == "max" else torch.minimum

        def extreme(env, args=args, op=op):
            total = _tensor(args[0](env), env)
            for a in args[1:]:
                total = op(total, _tensor(a(env), env))
            return total
        return extreme
    raise Untranslatable(kind)  # pragma: no cover - plans come from sympy_plan


def _boolean_where(condition: Any, a: Any, b: Any) -> Any:
    if not isinstance(condition, Tensor):
        return a if condition else b
    a = a if isinstance(a, Tensor) else torch.full_like(condition, bool(a))
    b = b if isinstance(b, Tensor) else torch.full_like(condition, bool(b))
    return torch.where(condition, a, b)


def _fold(args: list[Fn], env: Env, op: Callable[[Any, Any], Any]) -> Any:
    total = args[0](env)
    for a in args[1:]:
        total = op(total, a(env))
    return total


def plan_function(plan: Plan) -> Callable[..., Tensor]:
    """A plan (from :func:`sympy_plan`) as a torch function of x and the parameters."""
    return _finish(_build_plan(plan))


def sympy_function(expr: sympy.Expr) -> Callable[..., Tensor]:
    """A SymPy expression in x and the parameters as a torch function (raises Untranslatable)."""
    return plan_function(sympy_plan(expr))


def vjp_function(derivative: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """grad_output * f'(x): the elementwise vector-Jacobian product (one fused kernel when compiled)."""

    def vjp(x: Tensor, grad_output: Tensor, **params: Any) -> Tensor:
        return grad_output * derivative(x, **params)

    return vjp


# ------------------------------------------------------------- compilation
def compile_enabled() -> bool:
    """False when ``ACTLAB_COMPILE`` is 0/false/no/off."""
    return os.environ.get("ACTLAB_COMPILE", "1").strip().lower() not in ("0", "false", "no", "off")


_WARNED = False


def _warn_once(error: BaseException) -> None:
    global _WARNED
    if not _WARNED:
        _WARNED = True
        warnings.warn(
            f"actlab: torch.compile is unavailable ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); "
            "formula activations run eagerly (slower, same values). Set ACTLAB_COMPILE=0 to silence this.",
            RuntimeWarning,
            stacklevel=3,
        )
    log.debug("formula compilation failed", exc_info=error)


def _compile_errors() -> tuple[type[BaseException], ...]:
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


def _fresh_code(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
    """``fn`` with its own code object, so torch.compile's per-code cache holds one formula each."""
    code = fn.__code__.replace(co_name=label)
    fresh = types.FunctionType(code, fn.__globals__, label, fn.__defaults__, fn.__closure__)
    fresh.__kwdefaults__ = fn.__kwdefaults__
    return fresh


class Fused:
    """A torch function that runs as one ``torch.compile``-d kernel on large inputs.

    Small inputs (fewer than :data:`COMPILE_MIN_NUMEL` elements), ``ACTLAB_COMPILE=0``,
    or a failed compilation run the eager function.  Compilation happens on the
    first large call; a second shape recompiles once with dynamic shapes (``dynamic=None``).
    """

    def __init__(self, eager: Callable[..., Tensor], label: str):
        self.eager = eager
        self.label = label
        self._compiled: Callable[..., Tensor] | None = None
        self._failed = False

    def compiled(self) -> Callable[..., Tensor]:
        if self._compiled is None:
            self._compiled = torch.compile(_fresh_code(self.eager, self.label), dynamic=None)
        return self._compiled

    def use_compiled(self, x: Tensor) -> bool:
        return (
            not self._failed
            and x.numel() >= COMPILE_MIN_NUMEL
            and compile_enabled()
            and not torch.compiler.is_compiling()
        )

    def __call__(self, x: Tensor, *args: Any, **params: Any) -> Tensor:
        if not self.use_compiled(x):
            return self.eager(x, *args, **params)
        try:
            return self.compiled()(x, *args, **params)
        except _compile_errors() as error:
            result = self.eager(x, *args, **params)  # a real bug in the formula raises here
            self._failed = True
            _warn_once(error)
            return result
