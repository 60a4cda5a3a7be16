"""Formula tree → SymPy: the symbolic derivative, simplified within a bounded budget, and its LaTeX.

``sigmoid``, ``softplus``, ``log1p``, ``expm1``, ``abs`` and ``sign`` become small
SymPy functions of our own whose derivatives stay in the same vocabulary
(sigmoid' = sigmoid (1 - sigmoid), softplus' = sigmoid, abs' = sign, sign' = 0
almost everywhere), so the derivative translates back to numerically stable
torch ops.  ``relu``, ``maximum``, ``minimum``, ``clip`` and ``where`` become
``Piecewise``.
"""
from __future__ import annotations

import sympy
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from actlab.formula.parse import MAX_EXPONENT, FormulaError, Node, constant_value, tree_size

__all__ = ["X", "to_sympy", "derivative", "tree_size", "latex", "text", "FUNCTIONS"]

X = sympy.Symbol("x", real=True)
SIMPLIFY_MAX_OPS = 40  # sympy.simplify only below this size (it can take very long on big trees)
SIMPLIFY_MAX_POWER = 16  # ... and only when no integer power is larger


class sigmoid(sympy.Function):  # noqa: N801  (printed name is the formula-language name)
    """The logistic function 1 / (1 + exp(-u))."""

    @classmethod
    def eval(cls, arg):
        if arg.is_zero:
            return sympy.S.Half

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0]) * (1 - sigmoid(self.args[0]))

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_evalf(self, prec):
        return (1 / (1 + sympy.exp(-self.args[0])))._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        return _power_latex(r"\sigma\left(%s\right)" % printer._print(self.args[0]), exp)


class softplus(sympy.Function):  # noqa: N801
    """log(1 + exp(u)), computed stably."""

    @classmethod
    def eval(cls, arg):
        if arg.is_zero:
            return sympy.log(2)

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_evalf(self, prec):
        return sympy.log(1 + sympy.exp(self.args[0]))._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        return _power_latex(r"\operatorname{softplus}\left(%s\right)" % printer._print(self.args[0]), exp)


class log1p(sympy.Function):  # noqa: N801
    @classmethod
    def eval(cls, arg):
        if arg.is_zero:
            return sympy.S.Zero

    def fdiff(self, argindex=1):
        return 1 / (1 + self.args[0])

    def _eval_evalf(self, prec):
        return sympy.log(1 + self.args[0])._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        return _power_latex(r"\log\left(1 + %s\right)" % printer._print(self.args[0]), exp)


class expm1(sympy.Function):  # noqa: N801
    @classmethod
    def eval(cls, arg):
        if arg.is_zero:
            return sympy.S.Zero

    def fdiff(self, argindex=1):
        return sympy.exp(self.args[0])

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_evalf(self, prec):
        return (sympy.exp(self.args[0]) - 1)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        return _power_latex(r"\left(e^{%s} - 1\right)" % printer._print(self.args[0]), exp)


class abs_(sympy.Function):  # noqa: N801
    """|u| for real u; derivative sign(u) (0 at u = 0)."""

    @classmethod
    def eval(cls, arg):
        if arg.is_Number:
            return abs(arg)

    def fdiff(self, argindex=1):
        return sign_(self.args[0])

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_evalf(self, prec):
        return sympy.Abs(self.args[0])._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        return _power_latex(r"\left|%s\right|" % printer._print(self.args[0]), exp)


class sign_(sympy.Function):  # noqa: N801
    """sign(u) with sign(0) = 0; derivative 0 (almost everywhere; the jump is a reported kink)."""

    @classmethod
    def eval(cls, arg):
        if arg.is_Number:
            return sympy.sign(arg)

    def fdiff(self, argindex=1):
        return sympy.S.Zero

    def _eval_is_extended_real(self):
        return True

    def _eval_evalf(self, prec):
        return sympy.sign(self.args[0])._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        return _power_latex(r"\operatorname{sgn}\left(%s\right)" % printer._print(self.args[0]), exp)


class power(sympy.Function):  # noqa: N801
    """base**exponent for an exponent that is not a number (``x**a``, ``x**x``, ``0**x``), differentiated as
    PyTorch's autograd differentiates ``torch.pow``: d = slope·base' + :class:`power_exponent_term`, so that
    ``x**a`` has the derivative ``a*x**(a - 1)`` (0 at x = 0 for a = 2, where SymPy's ``a*x**a/x`` is 0/0) and an
    exponent that does not change (exponent' = 0) adds nothing even where log(base) is undefined
    (``x**maximum(x, 17)`` for x < 0)."""

    @classmethod
    def eval(cls, base, exponent):
        if exponent.is_Number or (base.is_number and base.is_positive):
            return base**exponent

    def _eval_derivative(self, s):
        base, exponent = self.args
        return (power_slope(base, exponent) * sympy.diff(base, s)
                + power_exponent_term(base, exponent, sympy.diff(exponent, s)))

    def _eval_evalf(self, prec):
        return sympy.Pow(*self.args)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        return _power_latex(printer._print(sympy.Pow(*self.args, evaluate=False)), exp)


class power_slope(sympy.Function):  # noqa: N801
    """d base**exponent / d base = exponent·base**(exponent - 1), and 0 where exponent = 0 (as torch.pow)."""

    @classmethod
    def eval(cls, base, exponent):
        if exponent.is_zero:
            return sympy.S.Zero
        if exponent.is_Number:
            return exponent * base ** (exponent - 1)

    def display(self):
        base, exponent = self.args
        return sympy.Mul(exponent, sympy.Pow(base, exponent - 1, evaluate=False), evaluate=False)

    def _latex(self, printer, exp=None):
        return _power_latex(printer._print(self.display()), exp)


class power_exponent_term(sympy.Function):  # noqa: N801
    """base**exponent·log(base)·exponent' (the exponent's share of the derivative), and exactly 0 where
    exponent' = 0, or base = 0 with exponent ≥ 0 (as torch.pow's autograd)."""

    @classmethod
    def eval(cls, base, exponent, slope):
        if slope.is_zero or (base.is_zero and exponent.is_nonnegative):
            return sympy.S.Zero

    def display(self):
        base, exponent, slope = self.args
        factors = [sympy.Pow(base, exponent, evaluate=False), sympy.log(base, evaluate=False)]
        return sympy.Mul(*factors, *([] if slope == 1 else [slope]), evaluate=False)

    def _latex(self, printer, exp=None):
        return _power_latex(printer._print(self.display()), exp)


def _power_latex(body: str, exp: str | None) -> str:
    return body if exp is None else r"\left(%s\right)^{%s}" % (body, exp)


_UNARY = {
    "exp": sympy.exp, "log": sympy.log, "log1p": log1p, "expm1": expm1, "sqrt": sympy.sqrt,
    "abs": abs_, "sign": sign_, "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan,
    "tanh": sympy.tanh, "sinh": sympy.sinh, "cosh": sympy.cosh, "arctan": sympy.atan,
    "erf": sympy.erf, "erfc": sympy.erfc, "sigmoid": sigmoid, "softplus": softplus,
}
FUNCTIONS = (sigmoid, softplus, log1p, expm1, abs_, sign_, power, power_slope, power_exponent_term)
_RELATION = {
    "<": sympy.StrictLessThan, "<=": sympy.LessThan, ">": sympy.StrictGreaterThan,
    ">=": sympy.GreaterThan, "==": sympy.Eq, "!=": sympy.Ne,
}


def _number(node: Node) -> sympy.Expr:
    value = node.value
    if value.is_integer() and abs(value) < 2**63:
        return sympy.Integer(int(value))
    if (value * 16).is_integer():  # exact dyadic fractions: 0.5 -> 1/2, so x**0.5 -> sqrt(x)
        return sympy.Rational(value)
    return sympy.Float(value)


def to_sympy(node: Node, symbols: dict[str, sympy.Symbol]) -> sympy.Expr:
    """The SymPy expression of a checked tree (``symbols``: parameter name -> Symbol)."""
    kind = node.kind
    if kind == "num":
        return _number(node)
    if kind == "x":
        return X
    if kind == "const":
        return sympy.pi if node.text == "pi" else sympy.E
    if kind == "param":
        return symbols[node.text]
    args = [to_sympy(arg, symbols) for arg in node.args]
    if kind == "neg":
        return -args[0]
    if kind == "+":
        return args[0] + args[1]
    if kind == "-":
        return args[0] - args[1]
    if kind == "*":
        return args[0] * args[1]
    if kind == "/":
        return args[0] / args[1]
    if kind == "**":
        return _pow(node, *args)
    if kind in _RELATION:
        return _RELATION[kind](args[0], args[1])
    name = node.text
    if name in _UNARY:
        return _UNARY[name](args[0])
    zero = sympy.S.Zero
    if name == "relu":
        return sympy.Piecewise((args[0], args[0] > zero), (zero, True))
    if name == "maximum":  # ties take the first argument
        return sympy.Piecewise((args[0], args[0] >= args[1]), (args[1], True))
    if name == "minimum":
        return sympy.Piecewise((args[0], args[0] <= args[1]), (args[1], True))
    if name == "clip":  # minimum(maximum(value, low), high), as torch.clamp: high wherever low > high
        value, low, high = args
        return sympy.Piecewise((high, low > high), (low, value < low), (high, value > high), (value, True))
    if name == "where":
        return sympy.Piecewise((args[1], args[0]), (args[2], True))
    raise FormulaError(f"internal: no SymPy translation for {name!r}")  # pragma: no cover


def _pow(node: Node, base: sympy.Expr, exponent: sympy.Expr) -> sympy.Expr:
    if exponent.is_Number:
        if constant_value(node.args[1]) is None and exponent.is_finite and abs(float(exponent)) > MAX_EXPONENT:
            # where(x > 0, 1e20, 1e20) is a constant, though the parser cannot tell
            raise FormulaError(
                f"the exponent of '**' at column {node.column} is the constant {float(exponent):g}: too large "
                f"(|p| <= {MAX_EXPONENT} for constant exponents)", node.column, "**",
            )
        return base**exponent
    return power(base, exponent)


def _small_enough(expr: sympy.Expr) -> bool:
    if expr.has(sympy.Piecewise):  # relational reasoning on conditions is the slow part; skip it
        return False
    if sympy.count_ops(expr) > SIMPLIFY_MAX_OPS:
        return False
    return _largest_degree(expr) <= SIMPLIFY_MAX_POWER


def _largest_degree(expr: sympy.Basic, outer: float = 1.0) -> float:
    """The largest product of nested numeric exponents: ((1+x)**16 - 1)**16 -> 256.

    simplify may expand such powers into polynomials of that degree.
    """
    if expr.is_Pow and expr.exp.is_Number:
        outer *= max(1.0, abs(float(expr.exp)))
        return max(outer, _largest_degree(expr.base, outer))
    return max([outer] + [_largest_degree(arg, outer) for arg in expr.args])


def simplify(expr: sympy.Expr) -> sympy.Expr:
    """A bounded simplification: ``sympy.simplify`` on small trees, else the tree as it is.

    ``sympy.simplify`` has no time limit and can run for minutes on large
    expressions (or expand huge powers), so it only sees trees with at most
    :data:`SIMPLIFY_MAX_OPS` operations, no integer power above
    :data:`SIMPLIFY_MAX_POWER` and no ``Piecewise`` (whose derivative SymPy already
    gives piece by piece); its result is kept only when it is not longer.
    """
    if not _small_enough(expr):
        return expr
    simpler = sympy.simplify(expr)
    if sympy.count_ops(simpler) <= sympy.count_ops(expr):
        return simpler
    return expr




def derivative(expr: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr]:
    """(raw, simplified) d expr / dx."""
    raw = sympy.diff(expr, X)
    return raw, simplify(raw)


# ------------------------------------------------------------------ printing
class _TextPrinter(StrPrinter):
    """Plain text in the formula language itself (so the derivative can be parsed back)."""

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Piecewise(self, expr):
        pieces = list(expr.args)
        value, condition = pieces.pop()
        result = self._print(value) if condition == sympy.true else "nan"
        for value, condition in reversed(pieces):
            result = f"where({self._print(condition)}, {self._print(value)}, {result})"
        return result

    def _print_abs_(self, expr):
        return f"abs({self._print(expr.args[0])})"

    def _print_sign_(self, expr):
        return f"sign({self._print(expr.args[0])})"

    def _print_atan(self, expr):
        return f"arctan({self._print(expr.args[0])})"

    def _print_power(self, expr):
        return self._print(sympy.Pow(*expr.args, evaluate=False))

    def _print_power_slope(self, expr):
        return self._print(expr.display())

    def _print_power_exponent_term(self, expr):
        return self._print(expr.display())

    def _print_Exp1(self, expr):
        return "e"

    def _print_Rational(self, expr):
        return f"({expr.p}/{expr.q})" if expr.q != 1 else str(expr.p)

    def _print_Half(self, expr):
        return "(1/2)"


def text(expr: sympy.Expr) -> str:
    return _TextPrinter({"order": "none"}).doprint(expr)


def latex(expr: sympy.Expr) -> str:
    return LatexPrinter({"full_prec": False}).doprint(expr)
