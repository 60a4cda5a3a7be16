"""The exact derivative by the chain rule on the checked formula tree, without SymPy.

This is the bounded fallback of the symbolic pipeline (:mod:`actlab.formula.build`):
when SymPy does not finish within the time budget (:mod:`actlab.formula.budget`),
the derivative is still exact — each node's rule is applied once, in the formula
language itself — only not simplified.  It runs in microseconds: the result
shares sub-trees with the input, and its size (counted as a tree) is checked
against :data:`MAX_DERIVATIVE_NODES`.

The rules follow the conventions of the SymPy path: ``relu'(0) = 0``,
``abs' = sign`` (0 at 0), ``sign' = 0``, ``maximum``/``minimum`` take the first
argument's derivative at a tie, ``clip`` passes ``u'`` at its boundaries (and is ``high`` wherever
``low > high``, as ``torch.clamp``), powers follow ``torch.pow``'s autograd (0 where the exponent is 0 or does
not change) and
``where`` takes the derivative of the branch its condition selects.

Also here: plain-text and LaTeX printers for trees (the text parses back).
"""
from __future__ import annotations

import math

from actlab.formula.parse import FormulaError, Node, constant_value, tree_size

__all__ = ["MAX_DERIVATIVE_NODES", "derivative", "latex", "text", "tree_size"]

MAX_DERIVATIVE_NODES = 20_000  # nodes of a derivative tree (counted with repetition: the cost per evaluation)

_CONDITIONS = ("<", "<=", ">", ">=", "==", "!=")
ZERO = Node("num", text="0", value=0.0)
ONE = Node("num", text="1", value=1.0)
TWO = Node("num", text="2", value=2.0)


def _num(value: float) -> Node:
    return Node("num", text=repr(float(value)) if not float(value).is_integer() else str(int(value)), value=float(value))


def _is(node: Node, value: float) -> bool:
    return node.kind == "num" and node.value == value


def _add(a: Node, b: Node) -> Node:
    if _is(a, 0):
        return b
    if _is(b, 0):
        return a
    return Node("+", (a, b), text="+")


def _sub(a: Node, b: Node) -> Node:
    if _is(b, 0):
        return a
    if _is(a, 0):
        return _neg(b)
    return Node("-", (a, b), text="-")


def _neg(a: Node) -> Node:
    if a.kind == "num":
        return _num(-a.value)
    if a.kind == "neg":
        return a.args[0]
    return Node("neg", (a,), text="-")


def _mul(a: Node, b: Node) -> Node:
    if _is(a, 0) or _is(b, 0):
        return ZERO
    if _is(a, 1):
        return b
    if _is(b, 1):
        return a
    return Node("*", (a, b), text="*")


def _div(a: Node, b: Node) -> Node:
    if _is(a, 0):
        return ZERO
    if _is(b, 1):
        return a
    return Node("/", (a, b), text="/")


def _pow(a: Node, b: Node) -> Node:
    if _is(b, 1):
        return a
    return Node("**", (a, b), text="**")


def _call(name: str, *args: Node) -> Node:
    return Node("call", tuple(args), text=name)


def _has_x(node: Node, memo: dict[int, bool]) -> bool:
    key = id(node)
    if key not in memo:
        memo[key] = node.kind == "x" or any(_has_x(arg, memo) for arg in node.args)
    return memo[key]


def derivative(tree: Node) -> Node:
    """d tree / dx as a tree in the formula language (exact, not simplified)."""
    memo: dict[int, Node] = {}
    has_x: dict[int, bool] = {}
    return _d(tree, memo, has_x)


def _d(node: Node, memo: dict[int, Node], has_x: dict[int, bool]) -> Node:
    key = id(node)
    if key in memo:
        return memo[key]
    if not _has_x(node, has_x) or node.kind in _CONDITIONS:  # a condition has no derivative; where() uses its branches'
        result = ZERO
    elif node.kind == "x":
        result = ONE
    else:
        result = _rule(node, [_d(arg, memo, has_x) for arg in node.args], has_x)
    memo[key] = result
    return result


def _rule(node: Node, d: list[Node], has_x: dict[int, bool]) -> Node:
    kind, args = node.kind, node.args
    if kind == "neg":
        return _neg(d[0])
    if kind == "+":
        return _add(d[0], d[1])
    if kind == "-":
        return _sub(d[0], d[1])
    if kind == "*":
        return _add(_mul(d[0], args[1]), _mul(args[0], d[1]))
    if kind == "/":  # (a'b - ab') / b**2
        return _div(_sub(_mul(d[0], args[1]), _mul(args[0], d[1])), _pow(args[1], TWO))
    if kind == "**":
        # as torch.pow's autograd: b a**(b - 1) a' (0 where b = 0) + a**b log(a) b' (0 where b' = 0, or a = 0 <= b)
        base, exponent = args
        return _add(_mul(_power_slope(base, exponent), d[0]), _power_exponent_term(node, base, exponent, d[1]))
    if kind != "call":  # pragma: no cover - comparisons only appear inside where()
        raise FormulaError(f"internal: no derivative rule for {kind!r}")
    name = node.text
    u = args[0]
    du = d[0]
    if name == "exp":
        return _mul(node, du)
    if name == "log":
        return _div(du, u)
    if name == "log1p":
        return _div(du, _add(ONE, u))
    if name == "expm1":
        return _mul(_call("exp", u), du)
    if name == "sqrt":  # 0 where u' = 0 (as autograd through a flat inner piece), not 0/0 at u = 0
        slope = _div(du, _mul(TWO, node))
        return slope if du.kind == "num" else _where(Node("==", (du, ZERO), text="=="), ZERO, slope)
    if name == "abs":
        return _mul(_call("sign", u), du)
    if name == "sign":
        return ZERO
    if name == "sin":
        return _mul(_call("cos", u), du)
    if name == "cos":
        return _neg(_mul(_call("sin", u), du))
    if name == "tan":
        return _mul(_add(ONE, _pow(node, TWO)), du)
    if name == "tanh":
        return _mul(_sub(ONE, _pow(node, TWO)), du)
    if name == "sinh":
        return _mul(_call("cosh", u), du)
    if name == "cosh":
        return _mul(_call("sinh", u), du)
    if name == "arctan":
        return _div(du, _add(ONE, _pow(u, TWO)))
    if name in ("erf", "erfc"):  # 2/sqrt(pi) exp(-u**2) u'
        rate = _mul(_num(2 / math.sqrt(math.pi)), _call("exp", _neg(_pow(u, TWO))))
        return _mul(rate if name == "erf" else _neg(rate), du)
    if name == "sigmoid":
        return _mul(_mul(node, _sub(ONE, node)), du)
    if name == "softplus":
        return _mul(_call("sigmoid", u), du)
    if name == "relu":
        return _where(Node(">", (u, ZERO), text=">"), du, ZERO)
    if name == "maximum":
        return _where(Node(">=", (args[0], args[1]), text=">="), d[0], d[1])
    if name == "minimum":
        return _where(Node("<=", (args[0], args[1]), text="<="), d[0], d[1])
    if name == "clip":
        value, low, high = args  # minimum(maximum(value, low), high): high wherever low > high (torch.clamp)
        inner = _where(Node(">", (value, high), text=">"), d[2], d[0])
        return _where(Node(">", (low, high), text=">"), d[2], _where(Node("<", (value, low), text="<"), d[1], inner))
    if name == "where":
        return _where(args[0], d[1], d[2])
    raise FormulaError(f"internal: no derivative rule for {name!r}")  # pragma: no cover


def _power_slope(base: Node, exponent: Node) -> Node:
    if exponent.kind == "num":
        return ZERO if exponent.value == 0 else _mul(exponent, _pow(base, _num(exponent.value - 1)))
    return _where(Node("==", (exponent, ZERO), text="=="), ZERO, _mul(exponent, _pow(base, _sub(exponent, ONE))))


def _power_exponent_term(node: Node, base: Node, exponent: Node, slope: Node) -> Node:
    if _is(slope, 0):
        return ZERO
    term = _mul(_mul(node, _call("log", base)), slope)
    if base.kind != "x" and not _has_x(base, {}) and (constant_value(base) or 0) != 0:
        return term if slope.kind == "num" else _where(Node("==", (slope, ZERO), text="=="), ZERO, term)
    at_zero = _where(Node("==", (base, ZERO), text="=="), _where(Node(">=", (exponent, ZERO), text=">="), ZERO, term), term)
    return at_zero if slope.kind == "num" else _where(Node("==", (slope, ZERO), text="=="), ZERO, at_zero)


def _where(condition: Node, a: Node, b: Node) -> Node:
    if a.kind == "num" and b.kind == "num" and a.value == b.value:
        return a
    return _call("where", condition, a, b)




# ----------------------------------------------------------------- printing
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4}


def _number_text(value: float) -> str:
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def text(node: Node) -> str:
    """The tree in the formula language (parses back to the same function)."""
    return _text(node)[0]


def _text(node: Node) -> tuple[str, int]:
    kind = node.kind
    if kind == "num":
        body = _number_text(node.value)
        return (f"({body})", 5) if node.value < 0 else (body, 5)
    if kind in ("x", "param", "const"):
        return node.text, 5
    if kind == "call":
        return f"{node.text}({', '.join(_text(arg)[0] for arg in node.args)})", 5
    if kind == "neg":
        inner, precedence = _text(node.args[0])
        return "-" + (inner if precedence > 3 else f"({inner})"), 3
    precedence = _PRECEDENCE.get(kind, 0)  # comparisons: 0
    left, left_precedence = _text(node.args[0])
    right, right_precedence = _text(node.args[1])
    if kind == "**":  # right-associative; -x**2 is -(x**2), so a negation base needs brackets
        left = left if left_precedence > 4 else f"({left})"
        right = right if right_precedence >= 4 else f"({right})"
    else:
        left = left if left_precedence >= precedence else f"({left})"
        right = right if right_precedence > precedence else f"({right})"
    separator = kind if kind in ("*", "/", "**") else f" {kind} "
    return left + separator + right, precedence


_LATEX_FUNCTIONS = {
    "exp": r"\exp", "log": r"\log", "sin": r"\sin", "cos": r"\cos", "tan": r"\tan", "tanh": r"\tanh",
    "sinh": r"\sinh", "cosh": r"\cosh", "arctan": r"\operatorname{atan}", "erf": r"\operatorname{erf}",
    "erfc": r"\operatorname{erfc}", "sigmoid": r"\sigma", "softplus": r"\operatorname{softplus}",
    "relu": r"\operatorname{relu}", "sign": r"\operatorname{sgn}", "log1p": r"\operatorname{log1p}",
    "expm1": r"\operatorname{expm1}", "maximum": r"\max", "minimum": r"\min", "clip": r"\operatorname{clip}",
}
_LATEX_COMPARE = {"<": "<", "<=": r"\leq", ">": ">", ">=": r"\geq", "==": "=", "!=": r"\neq"}


def latex(node: Node) -> str:
    """The tree as LaTeX (a plain rendering: no simplification)."""
    return _latex(node)[0]


def _latex(node: Node) -> tuple[str, int]:
    kind = node.kind
    if kind == "num":
        body = _number_text(node.value).replace("e+", r"\cdot 10^{").replace("e-", r"\cdot 10^{-")
        body = body + "}" if r"10^{" in body else body
        return (rf"\left({body}\right)", 5) if node.value < 0 else (body, 5)
    if kind == "x" or kind == "param":
        return node.text, 5
    if kind == "const":
        return (r"\pi" if node.text == "pi" else "e"), 5
    if kind == "call":
        args = [_latex(arg)[0] for arg in node.args]
        if node.text == "sqrt":
            return rf"\sqrt{{{args[0]}}}", 5
        if node.text == "abs":
            return rf"\left|{args[0]}\right|", 5
        if node.text == "where":
            return rf"\begin{{cases}} {args[1]} & \text{{for}}\: {args[0]} \\ {args[2]} & \text{{otherwise}} \end{{cases}}", 5
        return rf"{_LATEX_FUNCTIONS[node.text]}\left({', '.join(args)}\right)", 5
    if kind == "neg":
        inner, precedence = _latex(node.args[0])
        return "-" + (inner if precedence > 3 else rf"\left({inner}\right)"), 3
    left, left_precedence = _latex(node.args[0])
    right, right_precedence = _latex(node.args[1])
    if kind in _LATEX_COMPARE:
        return f"{left} {_LATEX_COMPARE[kind]} {right}", 0
    if kind == "/":
        return rf"\frac{{{left}}}{{{right}}}", 5
    if kind == "**":
        base = left if left_precedence > 4 else rf"\left({left}\right)"
        return f"{base}^{{{right}}}", 4
    precedence = _PRECEDENCE[kind]
    left = left if left_precedence >= precedence else rf"\left({left}\right)"
    right = right if right_precedence > precedence else rf"\left({right}\right)"
    separator = {"+": " + ", "-": " - ", "*": r" \cdot "}[kind]
    return left + separator + right, precedence
