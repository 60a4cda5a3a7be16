"""The search space: Ramachandran, Zoph & Le's (2017) core units written in the formula language.

A core unit is ``b(u1(x), u2(x))`` for a binary function ``b`` and unary functions ``u1``, ``u2``
(:data:`UNARY`, :data:`BINARY`).  Depth 1 is one core unit; depth 2 feeds a first unit ``c(x)``
into a second: ``b2(u3(c(x)), u4(x))``.  ``beta`` is a formula parameter (default 1; the grid
engine trains it at that value, it does not learn it).  ``eps`` of the paper is ``1e-3``.

Every candidate is formula-language text: it is parsed by :func:`actlab.formula.parse` (a whitelist,
never ``eval``) and turned into SymPy by :func:`actlab.formula.symbolic.to_sympy`, whose automatic
canonical form (sorted sums and products, ``x - x`` → 0, ``x*x`` → ``x**2``, ``sigmoid(0)`` → 1/2)
is the key that removes duplicates.  What SymPy's canonical form misses (``maximum(x, relu(x))`` is
``relu(x)``) the screen's equivalence rule catches numerically (:mod:`actlab.search.screen`).
"""
from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from actlab.errors import ActlabError, suggest

__all__ = ["UNARY", "BINARY", "SPACES", "BASELINES", "CATALOG_SEEDS", "Candidate", "Generated", "parse_set",
           "generate", "canonical_key", "MAX_DEPTH2"]

EPS = "0.001"
# Ramachandran et al. (2017), Sec. 3: the unary functions (name → formula of x): x, −x, |x|, x², x³, √x, βx,
# x + β, log(|x| + ε), eˣ, sin, cos, sinh, cosh, tanh, asinh, atan, sinc, max(x, 0), min(x, 0), σ, softplus,
# exp(−x²), erf, β
UNARY: dict[str, str] = {
    "x": "x", "neg": "-x", "abs": "abs(x)", "square": "x**2", "cube": "x**3", "sqrt": "sqrt(x)",
    "beta_x": "beta*x", "x_plus_beta": "x + beta", "log_abs": f"log(abs(x) + {EPS})", "exp": "exp(x)",
    "sin": "sin(x)", "cos": "cos(x)", "sinh": "sinh(x)", "cosh": "cosh(x)", "tanh": "tanh(x)",
    "asinh": "sign(x)*log(abs(x) + sqrt(x**2 + 1))", "atan": "arctan(x)",
    "sinc": "where(x == 0, 1, sin(x)/x)", "relu": "relu(x)", "min0": "minimum(x, 0)",
    "sigmoid": "sigmoid(x)", "softplus": "softplus(x)", "gauss": "exp(-x**2)", "erf": "erf(x)",
    "beta": "beta",
}
# the binary functions (name → formula of {a}, {b}): x1 + x2, x1·x2, x1 − x2, x1/(x2 + ε), max, min, σ(x1)·x2,
# exp(−β(x1 − x2)²), exp(−β|x1 − x2|), βx1 + (1 − β)x2
BINARY: dict[str, str] = {
    "add": "{a} + {b}", "mul": "({a})*({b})", "sub": "{a} - ({b})", "div": f"({{a}})/(({{b}}) + {EPS})",
    "max": "maximum({a}, {b})", "min": "minimum({a}, {b})", "gate": "sigmoid({a})*({b})",
    "gauss_diff": "exp(-beta*(({a}) - ({b}))**2)", "laplace_diff": "exp(-beta*abs(({a}) - ({b})))",
    "mix": "beta*({a}) + (1 - beta)*({b})",
}
SPACES = ("ramachandran",)
BASELINES = ("relu", "gelu", "silu")
# catalog activations that enter the race as seeds beside the generated ones (their formula text)
CATALOG_SEEDS: dict[str, str] = {
    "silu": "x*sigmoid(x)", "gelu": "x*(1 + erf(x/sqrt(2)))/2", "relu": "relu(x)", "tanh": "tanh(x)",
    "elu": "where(x > 0, x, exp(x) - 1)", "softplus": "softplus(x)", "mish": "x*tanh(softplus(x))",
}
MAX_DEPTH2 = 5000  # depth 2 has ~39 million units: this many are drawn at random (with the seed)
BETA = 1.0


@dataclass(frozen=True)
class Candidate:
    """One formula of the space: ``formula`` (formula-language text), where it came from, its canonical key."""

    index: int
    formula: str
    origin: str  # "generated", "seed" (catalog) or "user"
    key: str  # SymPy's canonical form (srepr): equal keys are the same function
    duplicate_of: int | None = None  # the index of the first candidate with this key

    @property
    def params(self) -> dict[str, float]:
        return {"beta": BETA} if "beta" in self.formula else {}


@dataclass(frozen=True)
class Generated:
    candidates: tuple[Candidate, ...]  # every generated one, duplicates included (``duplicate_of`` set)

    @property
    def distinct(self) -> list[Candidate]:
        return [c for c in self.candidates if c.duplicate_of is None]


def parse_set(text: str | None, table: Mapping[str, str], option: str) -> dict[str, str]:
    """``"sin,tanh,x"`` → the named entries of ``table`` (all of it for None); unknown names exit 2."""
    if text is None:
        return dict(table)
    chosen: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            raise ActlabError(f"{option}: empty item in {text!r}")
        if item not in table:
            close = suggest(item, table)
            hint = f"; did you mean {' or '.join(close)}?" if close else f"; choose from {', '.join(table)}"
            raise ActlabError(f"{option}: unknown function {item!r}{hint}")
        chosen[item] = table[item]
    return chosen


def _units(unary: Mapping[str, str], binary: Mapping[str, str]) -> list[str]:
    texts = []
    for b in binary.values():
        for u1 in unary.values():
            for u2 in unary.values():
                texts.append(b.replace("{a}", u1).replace("{b}", u2))
    return texts


def _depth2(unary: Mapping[str, str], binary: Mapping[str, str], count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    u, b = list(unary.values()), list(binary.values())
    texts = []
    for _ in range(count):
        inner = rng.choice(b).replace("{a}", rng.choice(u)).replace("{b}", rng.choice(u))
        outer_unary = _compose(rng.choice(u), inner)
        texts.append(rng.choice(b).replace("{a}", outer_unary).replace("{b}", rng.choice(u)))
    return texts


def _compose(unary: str, inner: str) -> str:
    """``unary`` with every ``x`` replaced by ``(inner)`` (names holding an x, like ``exp``, are left alone)."""
    import re

    return re.sub(r"(?<![A-Za-z_])x(?![A-Za-z_0-9])", f"({inner})", unary)


def canonical_key(formula: str) -> str:
    """SymPy's canonical form of ``formula`` (its ``srepr``): equal for formulas SymPy already sees as equal."""
    import sympy

    from actlab.formula import parse
    from actlab.formula.symbolic import to_sympy

    tree = parse(formula)
    symbols = {name: sympy.Symbol(name, real=True) for name in tree.params}
    return sympy.srepr(to_sympy(tree, symbols))


def generate(*, depth: int = 1, unary: Mapping[str, str] | None = None, binary: Mapping[str, str] | None = None,
             seeds: Iterable[str] = CATALOG_SEEDS.values(), extra: Sequence[str] = (), seed: int = 0,
             depth2_count: int = MAX_DEPTH2) -> Generated:
    """The catalog ``seeds``, the user's ``extra`` formulas, then every core unit of ``depth`` (1: all of them;
    2: ``depth2_count`` drawn with ``seed``), each with its canonical key; repeats point at the first."""
    if depth not in (1, 2):
        raise ActlabError(f"--depth must be 1 or 2, got {depth!r}")
    unary = dict(UNARY if unary is None else unary)
    binary = dict(BINARY if binary is None else binary)
    if not unary or not binary:
        raise ActlabError("the space needs at least one unary and one binary function")
    texts = _units(unary, binary) if depth == 1 else _depth2(unary, binary, depth2_count, seed)
    # seeds first: a generated unit equal to a catalog activation is a repeat of the seed, which always races
    rows = [(text, "seed") for text in seeds] + [(text, "user") for text in extra]
    rows += [(text, "generated") for text in texts]
    first: dict[str, int] = {}
    out = []
    for index, (text, origin) in enumerate(rows):
        key = canonical_key(text)
        out.append(Candidate(index, text, origin, key, first.get(key)))
        first.setdefault(key, index)
    return Generated(tuple(out))
