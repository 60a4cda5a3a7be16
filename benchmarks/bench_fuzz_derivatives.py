"""Derivative fuzz: f' of ≥ 2 000 generated formulas against float64 autograd of the same expression and an
mpmath reference (50 digits, numerical differentiation of the formula tree) at smooth points.

A point is *smooth* for a formula when every kink boundary of the formula (abs, sign, relu, maximum/minimum,
clip, where: the u with u(x) = 0 at a switch) is away from 0 there (|u| > 1e-12 (1 + |x|) in mpmath), f is real
and finite in a neighbourhood, and mpmath's derivative is finite and below 1e300.  There the numbers compared:

* ours vs mpmath, at the points where float64 can compute f' at all (autograd of the float64 forward agrees with
  mpmath within 1e-6 relative): a difference beyond 1e-6 relative (or a NaN/inf) is a *disagreement*;
* ours vs autograd at every smooth point where both are finite: a difference beyond 1e-6 relative is counted
  too (float64 round-off of the two different expressions is the only expected source).

The generator is ``tests/formula/fuzz_strategies.py`` (derandomised).  Both derivative paths are checked: the
one the spec uses (SymPy's, or the chain rule when SymPy was late) and the chain rule on the formula tree.

    PYTHONPATH=src python benchmarks/bench_fuzz_derivatives.py [N]
"""
from __future__ import annotations

import math
import os
import signal
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "formula"))

import fuzz_strategies
import mpmath
import torch
from hypothesis.errors import HypothesisWarning

from actlab.formula import FormulaError, chainrule, from_formula, parse
from actlab.formula.parse import Node
from actlab.formula.scan import _boundaries
from actlab.formula.torchfn import derivative_function, forward_function

mpmath.mp.dps = 50
POINTS = (-2.7, -1.3, -0.45, 0.3, 0.85, 1.9, 3.3)
TOLERANCE = 1e-6


class Undefined(Exception):
    """The formula is not real (or not finite) at the point."""


HUGE = mpmath.mpf("1e300")  # an intermediate beyond this is inf in float64: no comparison there (and mpmath's
# sin/tan of a number with a huge exponent needs that many bits of precision: minutes)


def _real(value):
    if isinstance(value, mpmath.mpc):
        if value.imag != 0:
            raise Undefined
        value = value.real
    if not mpmath.isfinite(value) or abs(value) > HUGE:
        raise Undefined
    return value


_UNARY = {
    "exp": mpmath.exp, "log": mpmath.log, "log1p": mpmath.log1p, "expm1": mpmath.expm1, "sqrt": mpmath.sqrt,
    "abs": abs, "sign": mpmath.sign, "sin": mpmath.sin, "cos": mpmath.cos, "tan": mpmath.tan,
    "tanh": mpmath.tanh, "sinh": mpmath.sinh, "cosh": mpmath.cosh, "arctan": mpmath.atan, "erf": mpmath.erf,
    "erfc": mpmath.erfc, "sigmoid": lambda u: 1 / (1 + mpmath.exp(-u)), "softplus": lambda u: mpmath.log1p(mpmath.exp(u)),
    "relu": lambda u: max(u, 0),
}
_COMPARE = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
            "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def mp_eval(node: Node, x, params: dict):
    """The tree in mpmath (raises Undefined where it is not a finite real)."""
    kind = node.kind
    if kind == "num":
        return mpmath.mpf(node.text) if node.text and node.text[0].isdigit() else mpmath.mpf(node.value)
    if kind == "const":
        return mpmath.pi if node.text == "pi" else mpmath.e
    if kind == "x":
        return x
    if kind == "param":
        return mpmath.mpf(params[node.text])
    if kind in _COMPARE:
        return _COMPARE[kind](mp_eval(node.args[0], x, params), mp_eval(node.args[1], x, params))
    if kind == "call" and node.text == "where":
        chosen = mp_eval(node.args[0], x, params)
        return mp_eval(node.args[1] if chosen else node.args[2], x, params)
    args = [mp_eval(arg, x, params) for arg in node.args]
    try:
        if any(not isinstance(a, bool) and abs(a) > HUGE for a in args):
            raise Undefined
        if kind == "neg":
            return -args[0]
        if kind == "+":
            return _real(args[0] + args[1])
        if kind == "-":
            return _real(args[0] - args[1])
        if kind == "*":
            return _real(args[0] * args[1])
        if kind == "/":
            if args[1] == 0:
                raise Undefined
            return _real(args[0] / args[1])
        if kind == "**":
            base, exponent = args
            if base == 0 and exponent <= 0:
                raise Undefined
            if base < 0 and exponent != int(exponent):
                raise Undefined
            return _real(mpmath.power(base, exponent))
        name = node.text
        if name in ("log", "sqrt") and args[0] < 0 or name == "log" and args[0] == 0:
            raise Undefined
        if name == "log1p" and args[0] <= -1:
            raise Undefined
        if name in _UNARY:
            return _real(_UNARY[name](args[0]))
        if name == "maximum":
            return max(args[0], args[1])
        if name == "minimum":
            return min(args[0], args[1])
        if name == "clip":
            return min(max(args[0], args[1]), args[2])
    except (ZeroDivisionError, ValueError, OverflowError):
        raise Undefined from None
    raise AssertionError(f"no mpmath rule for {kind} {node.text}")


def smooth(tree: Node, boundaries, x) -> bool:
    for _, u in boundaries:
        try:
            if abs(mp_eval(u, x, {})) <= mpmath.mpf("1e-12") * (1 + abs(x)):
                return False
        except Undefined:
            return False
    return True


def reference(tree: Node, x: float):
    """(f(x), f'(x)) in mpmath, or None where f is not smooth and finite around x."""
    point = mpmath.mpf(x)
    boundaries = _boundaries(tree)
    if not smooth(tree, boundaries, point):
        return None
    try:
        value = mp_eval(tree, point, {})
        for side in (-1, 1):  # defined on both sides
            mp_eval(tree, point + side * mpmath.mpf("1e-20"), {})
        slope = mpmath.diff(lambda t: mp_eval(tree, t, {}), point)
    except (Undefined, ZeroDivisionError, ValueError, OverflowError):
        return None
    if not (mpmath.isfinite(slope) and abs(slope) < 1e300 and abs(value) < 1e300):
        return None
    return float(value), float(slope)


def close(a: float, b: float) -> bool:
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    return abs(a - b) <= TOLERANCE * max(abs(a), abs(b), 1e-300) or abs(a - b) <= 1e-300


def generate(count: int) -> list[str]:
    """``count`` formulas from the hypothesis strategy (derandomised: the same list every time)."""
    return fuzz_strategies.sample(count)


REFERENCE_SECONDS = 20  # the mpmath reference of one formula at all its points may take at most this


class _Late(Exception):
    pass


def _alarm(signum, frame):
    raise _Late


def check(text: str, counts: dict, report: list) -> None:
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(REFERENCE_SECONDS)
    try:
        _check(text, counts, report)
    except _Late:
        counts["reference too slow"] = counts.get("reference too slow", 0) + 1
        report.append(f"  (mpmath reference past {REFERENCE_SECONDS} s, skipped): {text}")
    finally:
        signal.alarm(0)


def _check(text: str, counts: dict, report: list) -> None:
    try:
        spec = from_formula(text)
    except FormulaError:
        counts["refused"] += 1
        return
    counts["accepted"] += 1
    tree = parse(text)
    chain = derivative_function(chainrule.derivative(tree))
    forward = forward_function(tree)
    x = torch.tensor(POINTS, dtype=torch.float64)
    ours = {"spec": spec.derivative(x).tolist(), "chain rule": chain(x).tolist()}
    xg = x.clone().requires_grad_(True)
    y = forward(xg)
    auto = (torch.autograd.grad(y.sum(), xg)[0].tolist() if y.requires_grad else [0.0] * len(POINTS))
    for i, point in enumerate(POINTS):
        ref = reference(tree, point)
        if ref is None:
            continue
        counts["smooth points"] += 1
        _, slope = ref
        capable = close(auto[i], slope)
        counts["comparable points"] += capable
        for path, values in ours.items():
            if capable and not close(values[i], slope):
                counts["disagreements with mpmath"] += 1
                report.append(f"  mpmath  {path:10s} x={point}: ours {values[i]!r}, mpmath {slope!r}, autograd "
                              f"{auto[i]!r}: {text}")
            if math.isfinite(values[i]) and math.isfinite(auto[i]) and not close(values[i], auto[i]):
                counts["disagreements with autograd"] += 1
                report.append(f"  autograd {path:10s} x={point}: ours {values[i]!r}, autograd {auto[i]!r}, mpmath "
                              f"{slope!r}: {text}")
            if not math.isfinite(values[i]) and math.isfinite(auto[i]):
                counts["ours non-finite, autograd finite"] += 1
                report.append(f"  nonfinite {path:10s} x={point}: ours {values[i]!r}, autograd {auto[i]!r}, mpmath "
                              f"{slope!r}: {text}")


HOSTILE = ["clip(x, 2*x, -x)", "clip(17, exp(pi), exp(x))", "x**2*where(x > 0, 1, 1)", "0**(x*x + 1)",
           "x**maximum(x, 17)", "sqrt(maximum(x, 0))", "x**(x + 2)", "sinh(x)/cosh(x)", "log(erfc(x))",
           "clip(x, x*x, 1)", "maximum(x, 17)**0.5", "relu(x)**0.5*x"]


def main(count: int) -> int:
    warnings.filterwarnings("ignore", category=HypothesisWarning)
    texts = HOSTILE + generate(count)
    counts = dict.fromkeys(["accepted", "refused", "crashed", "smooth points", "comparable points",
                            "disagreements with mpmath", "disagreements with autograd",
                            "ours non-finite, autograd finite"], 0)
    report: list[str] = []
    from_formula("x*tanh(x)")
    loads = [os.getloadavg()[0]]
    start = time.perf_counter()
    for n, text in enumerate(texts, 1):
        try:
            check(text, counts, report)
        except Exception as error:  # noqa: BLE001 - a crash is what this benchmark looks for: count and show it
            counts["crashed"] += 1
            report.append(f"  CRASH {type(error).__name__}: {error}: {text}")
        if n % 250 == 0:
            loads.append(os.getloadavg()[0])
            print(f"  ... {n}: {counts}", flush=True)
    print(f"{len(texts)} formulas ({len(HOSTILE)} hand-written hostile ones first) in {time.perf_counter() - start:.0f} s, "
          f"load {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} CPUs")
    for key, value in counts.items():
        print(f"  {key}: {value}")
    for line in report[:60]:
        print(line)
    return 0 if counts["disagreements with mpmath"] == 0 and counts["crashed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
