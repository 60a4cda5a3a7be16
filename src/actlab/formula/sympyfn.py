"""SymPy expressions (the derivative) → torch functions, through a picklable plan of nested tuples
(so the plan can come back from the bounded worker process).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import sympy
import torch
from torch import Tensor

from actlab.formula import symbolic
from actlab.formula.torchfn import _COMPARE, _UNARY, Env, Fn, _finish, _power, _tensor, _where

__all__ = ["Untranslatable", "sympy_plan", "plan_function", "sympy_function", "EXACT_INTEGER"]


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
    if func is sympy.Pow or func is symbolic.power:
        return ("pow", args)
    if func is symbolic.power_slope:
        return ("power_slope", args)
    if func is symbolic.power_exponent_term:
        return ("power_exponent_term", args)
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
        gates = [gate for gate in (_zero_gate(arg) for arg in plan[-1]) if gate is not None]

        def mul(env, args=args, gates=gates):
            total = args[0](env)
            for a in args[1:]:
                total = total * a(env)
            for gate in gates:  # a factor that is exactly 0 where a piece selects 0: the product is 0 there
                total = _where(gate(env), 0.0, total, env)
            return total
        return mul
    if kind == "power_slope":  # exponent * base**(exponent - 1), 0 where exponent = 0 (torch.pow's autograd)
        base, exponent = args

        def power_slope(env, base=base, exponent=exponent):
            b, p = base(env), exponent(env)
            return _where(_compare_zero(p, "=="), 0.0, p * _power(b, p - 1), env)
        return power_slope
    if kind == "power_exponent_term":  # base**exponent * log(base) * exponent', 0 where exponent' = 0 or base = 0 <= exponent
        base, exponent, slope = args

        def power_exponent_term(env, base=base, exponent=exponent, slope=slope):
            b, p, d = base(env), exponent(env), slope(env)
            value = _power(b, p) * _PLAN_UNARY["log"](_tensor(b, env)) * d
            zero = _compare_zero(d, "==") | (_compare_zero(b, "==") & _compare_zero(p, ">="))
            return _where(zero, 0.0, value, env)
        return power_exponent_term
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


def _compare_zero(value: Any, relation: str) -> Any:
    return _COMPARE[relation](value, 0)


def _zero_gate(plan: Plan) -> Fn | None:
    """For a factor of a product: a function giving where the factor is the literal 0 of a piece (a ``Piecewise``
    branch or a Heaviside step that selects 0), else None.

    In such a product the other factors may be infinite or undefined (sqrt'(0) in the derivative of
    sqrt(maximum(x, 0)) for x < 0); the derivative there is 0, as autograd's masked backward of the piece gives.
    Only literal zeros count: a factor that underflowed to 0 times an overflowed one stays NaN.
    """
    kind = plan[0]
    if kind == "piecewise":
        pieces = [(value == ("num", 0), _build_plan(condition)) for value, condition in plan[1]]
        if not any(zero for zero, _ in pieces):
            return None

        def gate(env, pieces=pieces):
            mask: Any = False
            for zero, condition in reversed(pieces):
                mask = _boolean_where(condition(env), zero, mask)
            return mask
        return gate
    if kind == "heaviside":
        a = _build_plan(plan[-1][0])
        return lambda env: _compare_zero(a(env), "<=")
    return None


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


