"""Building formula activations: text → parsed tree → SymPy → an :class:`ActivationSpec`.

>>> spec = from_formula("x*sigmoid(1.702*x)")
>>> spec.derivative_formula
'(1 - 1.702*x*(-1 + sigmoid(1.702*x)))*sigmoid(1.702*x)'

The text is parsed into a whitelisted tree (:mod:`actlab.formula.parse`; never
``eval``-ed), differentiated symbolically (:mod:`actlab.formula.symbolic`) and
turned into torch functions by walking the trees (:mod:`actlab.formula.torchfn`),
compiled with ``torch.compile`` into one fused kernel for large inputs.

Bounded: SymPy runs in a worker process with a deadline
(:mod:`actlab.formula.budget`, 0.45 s); when it is late the derivative is the
exact chain rule on the formula tree (:mod:`actlab.formula.chainrule`),
unsimplified, and the spec's notes say so.  The numerical scans (domain, kinks)
cost a fixed number of grid evaluations per boundary.
"""
from __future__ import annotations

import functools
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import sympy
import torch

from actlab.errors import ActlabError
from actlab.formula import budget, chainrule, symbolic
from actlab.formula.chainrule import MAX_DERIVATIVE_NODES
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
from actlab.formula.store import config_path, load_saved_formulas, save_formula
from actlab.formula.torchfn import (
    Fused,
    Untranslatable,
    forward_function,
    node_function,
    plan_function,
    sympy_plan,
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
    text: str,
    params: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    symbolic_seconds: float | None = None,
) -> ActivationSpec:
    """An :class:`ActivationSpec` for a formula in ``x``.

    SymPy gets ``symbolic_seconds`` (default :data:`~actlab.formula.budget.SYMBOLIC_SECONDS`)
    in a worker process; when it does not finish, the derivative is the exact
    chain rule on the formula tree, unsimplified, and a note says so.

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
    seconds = budget.SYMBOLIC_SECONDS if symbolic_seconds is None else float(symbolic_seconds)
    spec = _build_spec(text.strip(), values, name, seconds)
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
    are registered again by :func:`load_saved_formulas` at ``import actlab``.
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
def _build_spec(text: str, values: dict[str, float], name: str | None, symbolic_seconds: float) -> ActivationSpec:
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
    derivative_eager, shown, derivative_notes = _symbolic(tree, names, text, symbolic_seconds)
    forward_eager = forward_function(tree)
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
    notes = [f"formula activation, parsed from {text!r}; " + ("derivative by SymPy" if shown["by_sympy"] else
                                                             "derivative by the chain rule on the formula tree")]
    notes.extend(derivative_notes)
    if domain_note:
        notes.append(domain_note)
    if boundaries:
        notes.append(f"kinks are searched for numerically on [-{KINK_SEARCH:g}, {KINK_SEARCH:g}]")
    trainable = not shown["zero"]
    expression_text = shown["latex"]
    derivative_latex = shown["derivative_latex"]
    derivative_text = shown["derivative_text"]
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


def symbolic_stages(tree: Node, names: tuple[str, ...], text: str) -> Iterator[dict[str, Any]]:
    """The SymPy stage, run in the worker process under a deadline (:mod:`actlab.formula.budget`).

    Yields (1) the exact derivative as a torch plan with its plain and LaTeX
    forms, then (2) the bounded-simplified display form.  Everything yielded is
    plain data (strings, nested tuples), so it pickles without SymPy objects.
    """
    symbols = {p: sympy.Symbol(p, real=True) for p in names}
    expression = symbolic.to_sympy(tree, symbols)
    if expression.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise FormulaError(f"the formula {text!r} divides by zero or takes log(0): SymPy reduces it to "
                           f"{_short(str(expression))}, which is not a finite number")
    raw = sympy.diff(expression, symbolic.X)
    size = symbolic.tree_size(raw, MAX_DERIVATIVE_NODES)
    if size > MAX_DERIVATIVE_NODES:
        raise FormulaError(f"the derivative of {_short(text)!r} is too large: more than {MAX_DERIVATIVE_NODES} "
                           "nodes (simplify the formula, or split it into parts)")
    try:
        plan = sympy_plan(raw)
    except Untranslatable:  # not expected for the whitelisted functions
        plan = None
    yield {
        "latex": symbolic.latex(expression),
        "derivative_text": symbolic.text(raw),
        "derivative_latex": symbolic.latex(raw),
        "plan": plan,
        "zero": bool(raw.is_number and raw == 0),
        "simplified": False,
    }
    simplified = symbolic.simplify(raw)
    if simplified is not raw:
        yield {
            "derivative_text": symbolic.text(simplified),
            "derivative_latex": symbolic.latex(simplified),
            "zero": bool(simplified.is_number and simplified == 0),
        }
    yield {"simplified": True}


_WARM = False


def _warm_up() -> None:
    """Run SymPy's lazy imports here, once, so that every forked worker starts with them loaded.

    (The first ``simplify`` in a process imports much of SymPy: 0.3 s that would
    otherwise count against each fresh worker's deadline.)
    """
    global _WARM
    if not _WARM and budget.worker_enabled():
        _WARM = True
        for text in ("x*sigmoid(1.702*x)",):
            symbolic.simplify(sympy.diff(symbolic.to_sympy(parse(text), {}), symbolic.X))
        symbolic.latex(symbolic.to_sympy(parse("sqrt(x)/2"), {}))


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _symbolic(tree: Node, names: tuple[str, ...], text: str, seconds: float):
    """(derivative function, display forms, notes): SymPy within ``seconds``, else the chain rule."""
    _warm_up()
    failure = ""
    try:
        stages, _finished = budget.run_stages(
            symbolic_stages, (tree, names, text), seconds, grace=min(budget.SIMPLIFY_SECONDS, seconds)
        )
    except budget.SymbolicFailure as error:  # a SymPy bug on this input: the chain rule still gives f'
        stages, failure = [], str(error)
    notes: list[str] = []
    if stages:
        shown: dict[str, Any] = {"by_sympy": True}
        for stage in stages:
            shown.update(stage)
        if not shown["simplified"]:
            notes.append("the derivative is shown unsimplified: SymPy's simplify did not finish within "
                         f"{min(budget.SIMPLIFY_SECONDS, seconds):g} s")
        if shown["plan"] is not None:
            return plan_function(shown["plan"]), shown, notes
    derivative_tree = chainrule.derivative(tree)
    if chainrule.tree_size(derivative_tree, MAX_DERIVATIVE_NODES) > MAX_DERIVATIVE_NODES:
        raise budget.BudgetExceeded(
            f"the formula {_short(text)!r} is too complex: SymPy did not finish within {seconds:g} s and its "
            f"chain-rule derivative has more than {MAX_DERIVATIVE_NODES} nodes"
        )
    if not stages:
        shown = {
            "by_sympy": False,
            "latex": chainrule.latex(tree),
            "derivative_text": chainrule.text(derivative_tree),
            "derivative_latex": chainrule.latex(derivative_tree),
            "zero": derivative_tree.kind == "num" and derivative_tree.value == 0,
        }
        reason = _short(failure, 160) if failure else f"SymPy did not finish within {seconds:g} s"
        notes.append(f"{reason}: the derivative is the exact chain rule applied to the formula tree, not simplified")
    return node_function(derivative_tree), shown, notes


def _init(forward, params: dict[str, float]) -> Init:
    with torch.no_grad():
        y = forward(torch.tensor([-2.0, 2.0], dtype=torch.float64), **params).tolist()
    if all(math.isfinite(v) for v in y) and abs(y[0]) < 0.5 * abs(y[1]):
        return Init("he", "rectifier-like (|f(-2)| < |f(2)|/2): He initialisation (heuristic for formulas)")
    return Init("glorot", "not rectifier-like: Glorot initialisation (heuristic for formulas)")


# ------------------------------------------------------------------- kinks
_THREADS_LOCK = threading.Lock()
_THREADS = {"users": 0, "saved": 1}


def _single_threaded(function):
    """Run ``function`` with one torch thread (restored after; nested and concurrent calls share it).

    The scans evaluate small tensors (20 001 grid points): torch splits some ops
    over its thread pool, and on a busy machine waiting for the pool's threads
    made each op 1000x slower (25 ms instead of 0.02 ms, measured).
    """
    @functools.wraps(function)
    def run(*args, **kwargs):
        with _THREADS_LOCK:
            if _THREADS["users"] == 0:
                _THREADS["saved"] = torch.get_num_threads()
                if _THREADS["saved"] != 1:
                    torch.set_num_threads(1)
            _THREADS["users"] += 1
        try:
            return function(*args, **kwargs)
        finally:
            with _THREADS_LOCK:
                _THREADS["users"] -= 1
                if _THREADS["users"] == 0 and _THREADS["saved"] != 1:
                    torch.set_num_threads(_THREADS["saved"])
    return run



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
    """kinks(**params): zeros of each boundary u(x) on the search interval where f or f' jumps.

    Bounded: each boundary is evaluated once on the grid; where u vanishes on a
    whole run of grid points (``maximum(x, x)``, ``where(x == x, ...)``: the
    condition does not change there) only the run's ends are candidates; sign
    changes are refined by a bisection of all intervals at once; and the jump
    test runs on all candidates in one call.
    """

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

    @_single_threaded
    def _find(self, params: dict[str, Any]) -> tuple[float, ...]:
        grid = torch.from_numpy(_GRID)
        candidates: set[float] = set()
        limit = 4 * _MAX_KINKS
        with torch.no_grad():
            for u in self.functions:
                values = u(grid, **params).numpy()
                found: list[float] = []
                for start, stop in _runs(values == 0)[:limit]:
                    if stop - start == 1:
                        found.append(float(_GRID[start]))
                        continue
                    if start > 0:  # u becomes identically zero here
                        found.append(float(_GRID[start]))
                    if stop < len(_GRID):  # ... and stops being zero here
                        found.append(float(_GRID[stop - 1]))
                signs = np.sign(values)
                finite = np.isfinite(values)
                change = np.nonzero((signs[:-1] * signs[1:] < 0) & finite[:-1] & finite[1:])[0][:limit]
                if len(change):
                    found.extend(self._bisect(u, params, change, signs[change]))
                candidates.update(found[:limit])
        points = sorted(candidates)
        return tuple(self._jumping(points, params)[:_MAX_KINKS])

    @staticmethod
    def _bisect(u, params: dict[str, Any], change: np.ndarray, low_signs: np.ndarray) -> list[float]:
        low = torch.from_numpy(_GRID[change].copy())
        high = torch.from_numpy(_GRID[change + 1].copy())
        low_sign = torch.from_numpy(low_signs.copy())
        for _ in range(56):  # 0.005 / 2**56 is below float64 resolution on [-50, 50]
            middle = (low + high) / 2
            same = torch.sign(u(middle, **params)) == low_sign
            low = torch.where(same, middle, low)
            high = torch.where(same, high, middle)
        return [float(f"{root:.12g}") for root in ((low + high) / 2).tolist()]

    def _jumping(self, points: list[float], params: dict[str, Any]) -> list[float]:
        """The points where f or f' jumps: the one-sided difference does not shrink with the step.

        A smooth g has |g(p+h) - g(p-h)| ~ 2h|g'(p)|, which shrinks 16-fold when h
        does; a jump does not shrink.  So ``where(x > 0, 1000*x, 1000*x)`` (steep,
        continuous) has no kink, and ELU with alpha = 1 (C^1) has none either.
        """
        if not points:
            return []
        p = torch.tensor(points, dtype=torch.float64)
        h = 1e-6 * torch.clamp(p.abs(), min=1.0)
        x = torch.cat([p - h, p + h, p - h / 16, p + h / 16])
        with torch.no_grad():
            y = self.forward(x, **params)
            dy = self.derivative(x, **params)
        n = len(points)
        jumps = torch.zeros(n, dtype=torch.bool)
        for g in (y, dy):
            left, right, near_left, near_right = g[:n], g[n:2 * n], g[2 * n:3 * n], g[3 * n:]
            finite = torch.isfinite(left) & torch.isfinite(right) & torch.isfinite(near_left) & torch.isfinite(near_right)
            wide = (right - left).abs()
            near = (near_right - near_left).abs()
            scale = 1.0 + near_left.abs() + near_right.abs()
            jumps |= ~finite | ((near > 1e-9 * scale) & (near > wide / 4))
        return [point for point, jump in zip(points, jumps.tolist()) if jump]


# ------------------------------------------------------------------ domain
@_single_threaded
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
