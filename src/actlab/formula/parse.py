"""The safe formula language: text → a small, checked expression tree (:class:`Node`).

The text is parsed with :func:`ast.parse` (which only builds a syntax tree; it
never runs anything) and every node is checked against a whitelist.  Nothing
the user typed is ever passed to ``eval``, ``exec`` or ``compile``.

Grammar (Python expression syntax, restricted)::

    expr   := number | x | pi | e | PARAM | expr OP expr | -expr | +expr | (expr)
            | FUNC(expr, ...) | where(expr CMP expr, expr, expr)
    OP     := + | - | * | / | **
    CMP    := < | <= | > | >= | == | !=

Limits: :data:`MAX_LENGTH` characters, :data:`MAX_DEPTH` levels of nesting,
:data:`MAX_NODES` nodes, constant exponents with ``|p| <=`` :data:`MAX_EXPONENT`
(so ``x**9**9**9`` is rejected before anything is computed).  Exponents that
depend on ``x`` or a parameter (``2**x``, ``x**a``) are allowed: they are
evaluated in floating point, where they saturate to ``inf`` instead of growing
without bound.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass

from actlab.errors import ActlabError, suggest
from actlab.formula.names import RESERVED_NAMES, is_reserved, reserved_message

__all__ = [
    "FormulaError",
    "Node",
    "parse",
    "FUNCTIONS",
    "CONSTANTS",
    "MAX_LENGTH",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_EXPONENT",
    "RESERVED_NAMES",
]

MAX_LENGTH = 500  # characters of formula text
MAX_DEPTH = 32  # nesting of the syntax tree
MAX_NODES = 256  # syntax-tree nodes
MAX_EXPONENT = 16  # largest |p| for a constant exponent in u**p

# function name -> number of arguments
FUNCTIONS: dict[str, int] = {
    "exp": 1, "log": 1, "log1p": 1, "expm1": 1, "sqrt": 1, "abs": 1, "sign": 1,
    "sin": 1, "cos": 1, "tan": 1, "tanh": 1, "sinh": 1, "cosh": 1, "arctan": 1,
    "erf": 1, "erfc": 1, "sigmoid": 1, "softplus": 1, "relu": 1,
    "maximum": 2, "minimum": 2, "where": 3, "clip": 3,
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
VARIABLE = "x"
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_REJECTED_BINARY = {
    ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_REJECTED_COMPARE = {ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}
_DESCRIBE = {
    ast.Attribute: "attribute access", ast.Subscript: "subscript", ast.Lambda: "lambda",
    ast.IfExp: "'... if ... else ...'", ast.BoolOp: "'and'/'or'", ast.List: "list", ast.Tuple: "tuple",
    ast.Dict: "dict", ast.Set: "set", ast.ListComp: "comprehension", ast.SetComp: "comprehension",
    ast.DictComp: "comprehension", ast.GeneratorExp: "generator", ast.Starred: "starred argument",
    ast.JoinedStr: "f-string", ast.NamedExpr: "':='", ast.Await: "await", ast.Yield: "yield",
    ast.YieldFrom: "yield", ast.Slice: "slice", ast.FormattedValue: "f-string",
}


class FormulaError(ActlabError):
    """A formula that is not in the formula language; the message names the token and its column."""

    def __init__(self, message: str, column: int | None = None, token: str | None = None):
        self.column = column  # 1-based column in the formula text
        self.token = token
        super().__init__(message)


@dataclass(frozen=True)
class Node:
    """One node of a checked formula.

    ``kind`` is one of ``num`` (``value``; ``text`` is the literal), ``x``,
    ``param`` / ``const`` (``text`` is the name), ``+ - * / **`` (two ``args``),
    ``neg`` (one arg), ``call`` (``text`` is the function), and ``< <= > >= == !=``
    (only as where()'s first argument).
    """

    kind: str
    args: tuple[Node, ...] = ()
    text: str = ""
    value: float = 0.0
    column: int = 0  # 1-based

    def walk(self):
        """Every node of the tree, parents first."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.args))

    @property
    def params(self) -> tuple[str, ...]:
        """Parameter names, in order of first appearance."""
        seen: dict[str, None] = {}
        for node in self.walk():
            if node.kind == "param":
                seen.setdefault(node.text)
        return tuple(seen)


def parse(text: str) -> Node:
    """Check ``text`` and return its tree; every problem raises :class:`FormulaError`."""
    if not isinstance(text, str):
        raise FormulaError(f"a formula is a string, got {type(text).__name__}")
    text = text.strip()
    if not text:
        raise FormulaError("empty formula")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula too long: {len(text)} characters (at most {MAX_LENGTH})", MAX_LENGTH + 1)
    for index, char in enumerate(text):
        if not (" " <= char <= "~"):
            raise FormulaError(
                f"character {char!r} at column {index + 1} is not allowed (formulas are plain ASCII)",
                index + 1, char,
            )
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        column = error.offset or 1
        near = text[column - 1: column + 9].split(" ")[0] if column <= len(text) else "end of formula"
        raise FormulaError(
            f"syntax error at column {column} near {near!r}: {error.msg}", column, near
        ) from None
    except (RecursionError, MemoryError, ValueError) as error:
        raise FormulaError(f"formula cannot be parsed: {error}") from None
    _check_size(tree.body, text)
    return _Builder(text).build(tree.body, condition_allowed=False)


def _check_size(root: ast.AST, text: str) -> None:
    """Depth and node count, iteratively (before any recursive walk)."""
    count = 0
    stack: list[tuple[ast.AST, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise FormulaError(f"formula too large: more than {MAX_NODES} syntax nodes")
        if depth > MAX_DEPTH:
            column = getattr(node, "col_offset", 0) + 1
            raise FormulaError(
                f"formula nested too deeply at column {column} near {text[column - 1:column + 9]!r} "
                f"(at most {MAX_DEPTH} levels)",
                column, text[column - 1:column + 9],
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


class _Builder:
    def __init__(self, text: str):
        self.text = text

    # ------------------------------------------------------------ helpers
    def _col(self, node: ast.AST) -> int:
        return getattr(node, "col_offset", 0) + 1

    def _token(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.text, node) or ""
        return segment if len(segment) <= 30 else segment[:27] + "..."

    def _fail(self, node: ast.AST, what: str, hint: str = "", token: str | None = None) -> FormulaError:
        token = self._token(node) if token is None else token
        column = self._col(node)
        message = f"{what} {token!r} at column {column} is not allowed"
        if hint:
            message += f"; {hint}"
        return FormulaError(message, column, token)

    def _operator_column(self, left: ast.AST, right: ast.AST, symbol: str) -> int:
        start = getattr(left, "end_col_offset", 0)
        stop = getattr(right, "col_offset", len(self.text))
        found = self.text.find(symbol, start, stop)
        return (found if found >= 0 else start) + 1

    # -------------------------------------------------------------- build
    def build(self, node: ast.AST, condition_allowed: bool) -> Node:
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.BinOp):
            return self._binary(node)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Compare):
            return self._compare(node, condition_allowed)
        if isinstance(node, ast.Attribute):
            column = self._operator_column(node.value, node, ".")
            token = "." + node.attr
            raise FormulaError(
                f"attribute access {token!r} at column {column} is not allowed", column, token
            )
        what = _DESCRIBE.get(type(node), type(node).__name__)
        hint = "use where(condition, a, b)" if isinstance(node, ast.IfExp) else ""
        raise self._fail(node, what, hint)

    def _constant(self, node: ast.Constant) -> Node:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._fail(node, "constant", "only real numbers are allowed")
        number = float(value) if isinstance(value, float) or abs(value) < 10**308 else math.inf
        if not math.isfinite(number):
            raise FormulaError(
                f"number {self._token(node)!r} at column {self._col(node)} is too large", self._col(node), self._token(node)
            )
        return Node("num", text=self._token(node), value=number, column=self._col(node))

    def _name(self, node: ast.Name) -> Node:
        name = node.id
        if name == VARIABLE:
            return Node("x", text=name, column=self._col(node))
        if name in CONSTANTS:
            return Node("const", text=name, value=CONSTANTS[name], column=self._col(node))
        if name in FUNCTIONS:
            raise FormulaError(
                f"function {name!r} at column {self._col(node)} needs arguments, e.g. {name}(x)", self._col(node), name
            )
        if name.startswith("_"):
            raise self._fail(node, "name", "parameter names may not start with '_'")
        if is_reserved(name):
            raise FormulaError(reserved_message(name, self._col(node)), self._col(node), name)
        return Node("param", text=name, column=self._col(node))

    def _binary(self, node: ast.BinOp) -> Node:
        symbol = _BINARY.get(type(node.op))
        if symbol is None:
            bad = _REJECTED_BINARY.get(type(node.op), type(node.op).__name__)
            column = self._operator_column(node.left, node.right, bad)
            hint = "; use ** for powers" if bad == "^" else ""
            raise FormulaError(
                f"operator {bad!r} at column {column} is not allowed (allowed: + - * / **){hint}", column, bad
            )
        left = self.build(node.left, False)
        right = self.build(node.right, False)
        column = self._operator_column(node.left, node.right, symbol)
        result = Node(symbol, (left, right), text=symbol, column=column)
        value = constant_value(result)  # checks finiteness of constant parts
        if symbol == "**":
            exponent = constant_value(right)
            if exponent is not None and abs(exponent) > MAX_EXPONENT:
                raise FormulaError(
                    f"exponent {self._token(node.right)!r} of '**' at column {column} is too large "
                    f"(|p| <= {MAX_EXPONENT} for constant exponents)",
                    column, "**",
                )
        if value is not None and not math.isfinite(value):
            raise FormulaError(
                f"constant {self._token(node)!r} at column {self._col(node)} is not a finite number",
                self._col(node), self._token(node),
            )
        return result

    def _unary(self, node: ast.UnaryOp) -> Node:
        operand = self.build(node.operand, False)
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.USub):
            return Node("neg", (operand,), text="-", column=self._col(node))
        symbol = {ast.Not: "not", ast.Invert: "~"}.get(type(node.op), type(node.op).__name__)
        raise self._fail(node, "operator", token=symbol)

    def _call(self, node: ast.Call) -> Node:
        if not isinstance(node.func, ast.Name):
            self.build(node.func, False)  # names the attribute / subscript / lambda being called
            raise self._fail(node.func, "call of", "only the formula functions can be called")
        name = node.func.id
        column = self._col(node)
        if name not in FUNCTIONS:
            message = f"unknown function {name!r} at column {column}"
            close = suggest(name, FUNCTIONS)
            if close:
                message += f"; did you mean {' or '.join(close)}?"
            else:
                message += f"; the functions are {', '.join(sorted(FUNCTIONS))}"
            raise FormulaError(message, column, name)
        for keyword in node.keywords:
            token = f"{keyword.arg}=" if keyword.arg else "**"
            raise FormulaError(
                f"keyword argument {token!r} at column {self._col(keyword)} is not allowed", self._col(keyword), token
            )
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self._fail(arg, "starred argument")
        arity = FUNCTIONS[name]
        if len(node.args) != arity:
            raise FormulaError(
                f"{name}() at column {column} takes {arity} argument{'s' if arity > 1 else ''}, got {len(node.args)}",
                column, name,
            )
        args = tuple(self.build(arg, condition_allowed=(name == "where" and i == 0)) for i, arg in enumerate(node.args))
        if name == "where" and args[0].kind not in _COMPARE.values():
            raise self._fail(node.args[0], "condition", "where()'s first argument must be a comparison such as x > 0")
        result = Node("call", args, text=name, column=column)
        value = constant_value(result)
        if value is not None and not math.isfinite(value):
            raise FormulaError(
                f"constant {self._token(node)!r} at column {column} is not a finite real number", column, self._token(node)
            )
        return result

    def _compare(self, node: ast.Compare, condition_allowed: bool) -> Node:
        if not condition_allowed:
            raise self._fail(node, "comparison", "comparisons are only allowed as where()'s first argument")
        if len(node.ops) != 1:
            raise self._fail(node, "chained comparison", "use one comparison per where()")
        symbol = _COMPARE.get(type(node.ops[0]))
        right_node = node.comparators[0]
        if symbol is None:
            bad = _REJECTED_COMPARE.get(type(node.ops[0]), "?")
            column = self._operator_column(node.left, right_node, bad.split()[0])
            raise FormulaError(f"operator {bad!r} at column {column} is not allowed", column, bad)
        left = self.build(node.left, False)
        right = self.build(right_node, False)
        return Node(symbol, (left, right), text=symbol, column=self._operator_column(node.left, right_node, symbol))


# ---------------------------------------------------------------- constants
def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


def _softplus(v: float) -> float:
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


_SCALAR = {
    "exp": math.exp, "log": math.log, "log1p": math.log1p, "expm1": math.expm1, "sqrt": math.sqrt,
    "abs": abs, "sign": lambda v: float((v > 0) - (v < 0)), "sin": math.sin, "cos": math.cos,
    "tan": math.tan, "tanh": math.tanh, "sinh": math.sinh, "cosh": math.cosh, "arctan": math.atan,
    "erf": math.erf, "erfc": math.erfc, "sigmoid": _sigmoid, "softplus": _softplus,
    "relu": lambda v: max(v, 0.0), "maximum": max, "minimum": min,
    "clip": lambda v, low, high: min(max(v, low), high),
}
_SCALAR_BINARY = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b, "**": lambda a, b: math.pow(a, b),
}
_SCALAR_COMPARE = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


def constant_value(node: Node) -> float | None:
    """The value of a sub-tree without ``x`` or parameters (NaN when undefined), else None.

    Bounded: constant exponents are checked before they are used, so this never
    computes anything larger than a float.
    """
    if node.kind in ("num", "const"):
        return node.value
    if node.kind in ("x", "param"):
        return None
    values = [constant_value(arg) for arg in node.args]
    if any(v is None for v in values):
        return None
    try:
        if node.kind == "neg":
            return -values[0]
        if node.kind in _SCALAR_BINARY:
            return float(_SCALAR_BINARY[node.kind](*values))
        if node.kind in _SCALAR_COMPARE:
            return float(_SCALAR_COMPARE[node.kind](*values))
        if node.text == "where":
            return values[1] if values[0] else values[2]
        return float(_SCALAR[node.text](*values))
    except (ValueError, ZeroDivisionError, OverflowError, TypeError):
        return math.nan


def tree_size(node: object, limit: int) -> int:
    """Nodes of a tree (a parsed :class:`Node` or a SymPy expression: anything with ``.args``), counted with
    repetition, stopping at ``limit + 1``."""
    count = 0
    stack = [node]
    while stack:
        current = stack.pop()
        count += 1
        if count > limit:
            return count
        stack.extend(current.args)
    return count
