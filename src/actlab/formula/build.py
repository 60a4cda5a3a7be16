"""Building formula activations: text → parsed tree → SymPy → an :class:`ActivationSpec`.

>>> spec = from_formula("x*sigmoid(1.702*x)")
>>> spec.derivative_formula
'(1 - 1.702*x*(-1 + sigmoid(1.702*x)))*sigmoid(1.702*x)'

The text is parsed into a whitelisted tree (:mod:`actlab.formula.parse`; never
``eval``-ed), differentiated symbolically (:mod:`actlab.formula.symbolic`) and
turned into torch functions by walking the trees (:mod:`actlab.formula.torchfn`),
compiled with ``torch.compile`` into one fused kernel for large inputs.
"""
from __future__ import annotations

import math
import re
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import sympy
import torch
from scipy.optimize import brentq

from actlab.errors import ActlabError
from actlab.formula import symbolic
from actlab.formula.parse import (
    CONSTANTS,
    FUNCTIONS,
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_LENGTH,
    MAX_NODES,
    FormulaError,
    Node,
    parse,
)
from actlab.formula.store import config_path, read_saved, save_formula
from actlab.formula.torchfn import (
    Fused,
    Untranslatable,
    forward_function,
    node_function,
    sympy_function,
    vjp_function,
)
from actlab.spec import ActivationSpec, Init, Param

__all__ = [
    "FormulaError",
    "from_formula",
    "register_formula",
    "load_saved_formulas",
    "config_path",
    "parse",
    "FUNCTIONS",
    "CONSTANTS",
    "MAX_LENGTH",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_EXPONENT",
    "KINK_SEARCH",
]

KINK_SEARCH = 50.0  # kinks (and the domain) are searched for numerically on [-50, 50]
_GRID = np.linspace(-KINK_SEARCH, KINK_SEARCH, 20001)  # step 0.005; contains 0 and the integers
_MAX_KINKS = 64
_CACHE: OrderedDict[tuple, ActivationSpec] = OrderedDict()
_CACHE_SIZE = 256

_CONVENTIONS = {
    "abs": "abs'(0) = 0 (the derivative of |u| is sign(u), and sign(0) = 0)",
    "sign": "sign(0) = 0 and sign' = 0 (the jump at 0 is a kink)",
    "relu": "relu'(0) = 0, as PyTorch's autograd",
    "maximum": "maximum/minimum take the first argument's derivative at a tie",
    "minimum": "maximum/minimum take the first argument's derivative at a tie",
    "clip": "clip(u, low, high) passes u' at u = low and u = high (as torch.clamp)",
    "where": "where() takes the derivative of the branch its condition selects at the boundary",
}


def from_formula(
    text: str, params: Mapping[str, Any] | None = None, *, name: str | None = None
) -> ActivationSpec:
    """An :class:`ActivationSpec` for a formula in ``x``.

    Names other than ``x``, the functions and ``pi``/``e`` are parameters; each
    needs a value in ``params`` (which become the spec's defaults).  Every
    problem raises :class:`FormulaError` naming the token and its column.
    """
    params = dict(params or {})
    if not isinstance(text, str):
        raise FormulaError(f"a formula is a string, got {type(text).__name__}")
    values: dict[str, float] = {}
    for key, value in params.items():
        try:
            values[key] = float(value)
        except (TypeError, ValueError):
            raise FormulaError(f"parameter {key!r} must be a number, got {value!r}") from None
        if math.isnan(values[key]):
            raise FormulaError(f"parameter {key!r} must be a number, got NaN")
    key = (text.strip(), name, tuple(sorted(values.items())))
    cached = _CACHE.get(key)
    if cached is not None:
        _CACHE.move_to_end(key)
        return cached
    spec = _build_spec(text.strip(), values, name)
    _CACHE[key] = spec
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return spec


def register_formula(
    name: str, formula: str, params: Mapping[str, Any] | None = None, *, save: bool = False
) -> ActivationSpec:
    """Register ``formula`` under ``name`` for this session (and, with ``save=True``, for later ones).

    ``params`` are the parameter defaults.  A name taken by a catalog activation
    raises :class:`ActlabError`; a name taken by an earlier formula is replaced.
    Saved formulas live in ``formulas.json`` under :func:`config_path`'s folder and
    are registered again by :func:`load_saved_formulas` on the first lookup that needs them.
    """
    from actlab import registry
    from actlab.formula.parse import FUNCTIONS as _functions

    if not isinstance(name, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name or ""):
        raise ActlabError(f"activation name {name!r} must be an identifier (letters, digits, _), not empty")
    taken = registry.lookup(name)
    if taken is not None and taken.source != "formula":
        raise ActlabError(f"activation name {name!r} is taken by the catalog entry {taken.name!r}")
    if name.lower() in {"x", "pi", "e"} | {f.lower() for f in _functions}:
        raise ActlabError(f"activation name {name!r} is reserved by the formula language (x, pi, e and its functions)")
    spec = from_formula(formula, params, name=name)
    existing = registry.lookup(name)
    if existing is not None and existing.source != "formula":
        raise ActlabError(f"activation name {name!r} is taken by the catalog entry {existing.name!r}")
    registry.register(spec, replace=existing is not None)
    if save:
        save_formula(name, spec.expression or formula, spec.defaults())
    return spec


# ------------------------------------------------------------------- build
def _build_spec(text: str, values: dict[str, float], name: str | None) -> ActivationSpec:
    tree = parse(text)
    names = tree.params
    for node in tree.walk():
        if node.kind == "param" and node.text not in values:
            raise FormulaError(
                f"unbound name {node.text!r} at column {node.column}; pass it with --param {node.text}=VALUE "
                f"(or {node.text}=VALUE in actlab.get / register_formula)",
                node.column, node.text,
            )
    unused = sorted(set(values) - set(names))
    if unused:
        raise FormulaError(
            f"parameter {unused[0]!r} does not appear in the formula {text!r}"
            + (f" (its parameters are {', '.join(names)})" if names else " (it has no parameters)"),
            None, unused[0],
        )
    symbols = {p: sympy.Symbol(p, real=True) for p in names}
    try:
        expression = symbolic.to_sympy(tree, symbols)
        raw, simplified = symbolic.derivative(expression)
    except (TypeError, ValueError, ZeroDivisionError, RecursionError, NotImplementedError) as error:
        raise FormulaError(f"SymPy could not handle the formula {text!r}: {error}") from None
    if expression.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise FormulaError(f"the formula {text!r} divides by zero or takes log(0): SymPy reduces it to "
                           f"{expression}, which is not a finite number")

    forward_eager = forward_function(tree)
    derivative_eager, derivative_note = _derivative_function(raw, simplified, forward_eager)
    label = "formula_" + "".join(c if c.isalnum() else "_" for c in (name or text))[:40]
    forward = Fused(forward_eager, label + "_forward")
    derivative = Fused(derivative_eager, label + "_derivative")
    vjp = Fused(vjp_function(derivative_eager), label + "_vjp")

    defaults = dict(values)
    boundaries = _boundaries(tree)
    kinks = _KinkFinder(boundaries, forward_eager, derivative_eager)
    domain, domain_note = _domain(forward_eager, defaults)
    used = sorted({kind for kind, _ in boundaries}, key=list(_CONVENTIONS).index)
    convention = "; ".join(dict.fromkeys(_CONVENTIONS[k] for k in used))
    notes = [f"formula activation, parsed from {text!r}; derivative by SymPy"]
    if derivative_note:
        notes.append(derivative_note)
    if domain_note:
        notes.append(domain_note)
    if boundaries:
        notes.append(f"kinks are searched for numerically on [-{KINK_SEARCH:g}, {KINK_SEARCH:g}]")
    trainable = not (simplified.is_number and simplified == 0)
    try:
        expression_text = symbolic.latex(expression)
        derivative_latex = symbolic.latex(simplified)
        derivative_text = symbolic.text(simplified)
    except (TypeError, ValueError, RecursionError) as error:  # pragma: no cover - printer limits
        raise FormulaError(f"SymPy could not print the formula {text!r}: {error}") from None
    return ActivationSpec(
        name=name or text,
        summary=f"formula activation f(x) = {text}",
        family="formula",
        forward=forward,
        derivative=derivative,
        vjp=vjp,
        formula=text,
        derivative_formula=derivative_text,
        latex=expression_text,
        derivative_latex=derivative_latex,
        init=_init(forward_eager, defaults),
        params=tuple(
            Param(p, defaults[p], source="formula", doc=f"parameter {p} of the formula") for p in names
        ),
        kinks=kinks,
        kink_convention=convention,
        notes=tuple(notes),
        kind="elementwise",
        trainable=trainable,
        domain=domain,
        source="formula",
        expression=text,
    )


def _derivative_function(raw, simplified, forward_eager):
    # the raw chain-rule form computes fastest (tanh' = 1 - tanh**2 reuses tanh; simplify may
    # turn it into 1/cosh**2, a second transcendental); the simplified form is for display
    for candidate in (raw, simplified):
        try:
            return sympy_function(candidate), ""
        except Untranslatable:
            continue
    # not expected for the whitelisted functions; kept so an odd SymPy rewrite never breaks a formula

    def by_autograd(x, **params):
        with torch.enable_grad():
            leaf = x.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(forward_eager(leaf, **params).sum(), leaf)
        return grad

    return by_autograd, "derivative computed by torch.autograd (SymPy's form had no torch translation)"


def _init(forward, params: dict[str, float]) -> Init:
    with torch.no_grad():
        y = forward(torch.tensor([-2.0, 2.0], dtype=torch.float64), **params).tolist()
    if all(math.isfinite(v) for v in y) and abs(y[0]) < 0.5 * abs(y[1]):
        return Init("he", "rectifier-like (|f(-2)| < |f(2)|/2): He initialisation (heuristic for formulas)")
    return Init("glorot", "not rectifier-like: Glorot initialisation (heuristic for formulas)")


# ------------------------------------------------------------------- kinks
def _boundaries(tree: Node) -> list[tuple[str, Node]]:
    """(function, u) for each place where f can fail to be differentiable: u(x) = 0."""
    found: list[tuple[str, Node]] = []
    for node in tree.walk():
        if node.kind != "call":
            continue
        name, args = node.text, node.args
        if name in ("abs", "sign", "relu"):
            found.append((name, args[0]))
        elif name in ("maximum", "minimum"):
            found.append((name, Node("-", (args[0], args[1]))))
        elif name == "clip":
            found.append((name, Node("-", (args[0], args[1]))))
            found.append((name, Node("-", (args[0], args[2]))))
        elif name == "where":
            condition = args[0]
            found.append((name, Node("-", condition.args)))
    return found


class _KinkFinder:
    """kinks(**params): zeros of each boundary u(x) on the search interval where f or f' jumps."""

    def __init__(self, boundaries, forward, derivative):
        self.functions = [node_function(u) for _, u in boundaries]
        self.forward = forward
        self.derivative = derivative
        self._memo: dict[tuple, tuple[float, ...]] = {}

    def __call__(self, **params: Any) -> tuple[float, ...]:
        key = tuple(sorted((k, float(v)) for k, v in params.items()))
        if key not in self._memo:
            self._memo[key] = self._find(params)
        return self._memo[key]

    def _find(self, params: dict[str, Any]) -> tuple[float, ...]:
        grid = torch.from_numpy(_GRID)
        candidates: set[float] = set()
        with torch.no_grad():
            for u in self.functions:
                values = u(grid, **params).numpy()
                candidates.update(_GRID[values == 0].tolist())
                signs = np.sign(values)
                change = np.nonzero((signs[:-1] * signs[1:] < 0) & np.isfinite(values[:-1]) & np.isfinite(values[1:]))[0]
                for i in change[: 4 * _MAX_KINKS]:
                    def g(t, u=u):
                        return float(u(torch.tensor([t], dtype=torch.float64), **params))
                    root = brentq(g, _GRID[i], _GRID[i + 1], xtol=1e-14, rtol=4 * np.finfo(float).eps)
                    candidates.add(float(f"{root:.12g}"))
        kinks = sorted(k for k in candidates if self._jumps(k, params))
        return tuple(kinks[:_MAX_KINKS])

    def _jumps(self, point: float, params: dict[str, Any]) -> bool:
        h = 1e-6 * max(1.0, abs(point))
        x = torch.tensor([point - h, point + h], dtype=torch.float64)
        with torch.no_grad():
            y = self.forward(x, **params).tolist()
            dy = self.derivative(x, **params).tolist()
        for left, right in (y, dy):
            if not (math.isfinite(left) and math.isfinite(right)):
                return True
            if abs(left - right) > 1e-4 * (1.0 + abs(left) + abs(right)):
                return True
        return False


# ------------------------------------------------------------------ domain
def _domain(forward, params: dict[str, float]) -> tuple[tuple[float, float], str]:
    """The open interval where f is real and finite (numerical scan), and a note if it is not R.

    NaN marks points outside the domain; ±inf only counts where it does not run
    to the end of the scanned interval (that is overflow, e.g. exp(x**2)).
    """
    grid = torch.from_numpy(_GRID)
    with torch.no_grad():
        y = forward(grid, **params).numpy()
    bad = np.isnan(y)
    infinite = np.isinf(y)
    if infinite.any():
        runs = _runs(infinite)
        for start, stop in runs:
            if start > 0 and stop < len(y):  # isolated inf (a pole or log(0)); tails are overflow
                bad[start:stop] = True
    if not bad.any():
        return (-math.inf, math.inf), ""
    good_runs = _runs(~bad)
    if not good_runs:
        return (0.0, 0.0), f"domain: empty; f is not finite anywhere on [-{KINK_SEARCH:g}, {KINK_SEARCH:g}]"
    zero = len(_GRID) // 2
    containing = [r for r in good_runs if r[0] <= zero < r[1]]
    start, stop = containing[0] if containing else max(good_runs, key=lambda r: (r[1] - r[0], r[0]))

    def finite(t: float) -> bool:
        with torch.no_grad():
            value = float(forward(torch.tensor([t], dtype=torch.float64), **params))
        return math.isfinite(value)

    low = -math.inf if start == 0 else _edge(finite, float(_GRID[start - 1]), float(_GRID[start]))
    high = math.inf if stop == len(_GRID) else _edge(finite, float(_GRID[stop]), float(_GRID[stop - 1]))
    return (low, high), f"domain: f is real and finite on ({low:g}, {high:g}) (numerical scan)"


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _edge(finite, outside: float, inside: float) -> float:
    for _ in range(60):
        middle = (outside + inside) / 2
        if finite(middle):
            inside = middle
        else:
            outside = middle
    edge = (outside + inside) / 2
    snapped = round(edge, 9) + 0.0  # + 0.0 turns -0.0 into 0.0
    return float(snapped if abs(snapped - edge) < 1e-9 else edge)


def load_saved_formulas(path: Path | None = None) -> list[str]:
    """Register every saved formula; returns their names.

    Never raises: a broken file, or a saved formula that no longer parses, gives
    a warning naming the file (and the entry) and is skipped.
    """
    path = path or config_path()
    try:
        formulas = read_saved(path)
    except ActlabError as error:
        warnings.warn(f"actlab: ignoring saved formulas: {error}", RuntimeWarning, stacklevel=2)
        return []
    loaded = []
    for name, entry in formulas.items():
        try:
            if not isinstance(entry, dict) or not isinstance(entry.get("formula"), str):
                raise ActlabError("expected {\"formula\": TEXT, \"params\": {...}}")
            params = entry.get("params") or {}
            if not isinstance(params, dict):
                raise ActlabError("\"params\" must be an object of NAME: number")
            register_formula(str(name), entry["formula"], params)
        except ActlabError as error:
            warnings.warn(f"actlab: skipping saved formula {name!r} in {path}: {error}", RuntimeWarning, stacklevel=2)
            continue
        loaded.append(str(name))
    return loaded
