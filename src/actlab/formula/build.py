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

import gc
import math
import re
import time
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import sympy
import torch

from actlab.errors import ActlabError
from actlab.formula import budget, chainrule, symbolic
from actlab.formula.chainrule import MAX_DERIVATIVE_NODES
from actlab.formula.checks import check_param_names, check_usable, float32_problem
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
from actlab.formula.scan import KINK_SEARCH, ScanDeadline, _boundaries, _domain, _KinkFinder, scan_deadline
from actlab.formula.store import config_path, read_saved, save_formula
from actlab.formula.sympyfn import Untranslatable, plan_function, sympy_plan
from actlab.formula.torchfn import Fused, derivative_function, forward_function, vjp_function
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
    "check_formula",
    "float32_problem",
]

_CACHE: OrderedDict[tuple, ActivationSpec] = OrderedDict()
_CACHE_SIZE = 256

_CONVENTIONS = {
    "abs": "abs'(0) = 0 (the derivative of |u| is sign(u), and sign(0) = 0)",
    "sign": "sign(0) = 0 and sign' = 0 (the jump at 0 is a kink)",
    "relu": "relu'(0) = 0, as PyTorch's autograd",
    "maximum": "maximum/minimum take the first argument's derivative at a tie",
    "minimum": "maximum/minimum take the first argument's derivative at a tie",
    "clip": "clip(u, low, high) = minimum(maximum(u, low), high) passes u' at u = low and u = high, and is high "
            "(with high's derivative) wherever low > high (as torch.clamp)",
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
    check_param_names(params)
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
    spec = _build_spec(text.strip(), values, name, seconds, time.monotonic())
    _CACHE[key] = spec
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return spec


def register_formula(
    name: str, formula: str, params: Mapping[str, Any] | None = None, *, save: bool = False
) -> ActivationSpec:
    """Register ``formula`` under ``name`` in this process (and, with ``save=True``, for later ones).

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
    check_usable(spec)  # everything a later command does with it, before it is registered or saved
    existing = registry.lookup(name)
    if existing is not None and existing.source != "formula":
        raise ActlabError(f"activation name {name!r} is taken by the catalog entry {existing.name!r}")
    registry.register(spec, replace=existing is not None)
    if save:
        save_formula(name, spec.expression or formula, spec.defaults())
    return spec


# ------------------------------------------------------------------- build
def _build_spec(text: str, values: dict[str, float], name: str | None, symbolic_seconds: float,
                started: float) -> ActivationSpec:
    """The spec; SymPy's share of the time is what is left of the formula's budget (``started`` is when the
    work on this formula began, ``time.monotonic()``), at most ``symbolic_seconds``."""
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
    _warm_up()
    total = max(budget.FORMULA_SECONDS, symbolic_seconds + budget.NUMERIC_SECONDS)
    seconds = budget.symbolic_share(started, symbolic_seconds, total)
    derivative_eager, shown, derivative_notes = _symbolic(tree, names, text, seconds)
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
        # Everything loaded so far (torch, SymPy, numpy: ~200 000 objects) lives as long as the process. Moved
        # out of the collector's reach, a full garbage collection no longer scans it (100 ms of CPU each, measured
        # on this machine; several times that in wall time under load, in the middle of a formula), and the
        # forked worker does not copy those pages by touching them (what gc.freeze is documented for).
        gc.collect()
        gc.freeze()


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _symbolic(tree: Node, names: tuple[str, ...], text: str, seconds: float):
    """(derivative function, display forms, notes): SymPy within ``seconds``, else the chain rule."""
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
    return derivative_function(derivative_tree), shown, notes


def _init(forward, params: dict[str, float]) -> Init:
    with torch.no_grad():
        y = forward(torch.tensor([-2.0, 2.0], dtype=torch.float64), **params).tolist()
    if all(math.isfinite(v) for v in y) and abs(y[0]) < 0.5 * abs(y[1]):
        return Init("he", "rectifier-like (|f(-2)| < |f(2)|/2): He initialisation (heuristic for formulas)")
    return Init("glorot", "not rectifier-like: Glorot initialisation (heuristic for formulas)")


def load_saved_formulas(path: Path | None = None) -> list[str]:
    """Register every saved formula; returns their names.

    Never raises: a broken file, or a saved formula that no longer parses, gives
    a warning naming the file (and the entry) and is skipped.
    """
    try:
        path = path or config_path()
        formulas = read_saved(path)
    except ActlabError as error:  # a broken file or an unusable location (too long a name, no permission)
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
        except ActlabError as error:  # register_formula turns every failure of the formula into a FormulaError
            warnings.warn(f"actlab: skipping saved formula {name!r} in {path}: {error}", RuntimeWarning, stacklevel=2)
            continue
        loaded.append(str(name))
    return loaded


# ------------------------------------------------------------ entry point
def check_formula(
    text: str, params: Mapping[str, Any] | None = None, *, seconds: float = budget.FORMULA_SECONDS
):
    """Text → an ActivationSpec (with its kinks found), or FormulaError, within about ``seconds``.

    For callers that take formulas from strangers (a web page): the symbolic
    stage gets a hard deadline of at most ``min(budget.SYMBOLIC_SECONDS, seconds / 2)``
    (less when time was lost before it: :func:`~actlab.formula.budget.symbolic_share`);
    the kink search stops at ``seconds`` after the start (checked between grid
    evaluations) and the formula is then refused with
    :class:`~actlab.formula.budget.BudgetExceeded`, as it is when the whole took
    longer than ``seconds`` (both only happen on a heavily loaded machine).
    """
    start = time.monotonic()
    spec = from_formula(text, params, symbolic_seconds=min(budget.SYMBOLIC_SECONDS, seconds / 2))
    try:
        with scan_deadline(start + seconds):
            spec.kink_points()
    except ScanDeadline:
        raise budget.BudgetExceeded(f"the kink search of {_short(text)!r} ran past the formula's budget of "
                                    f"{seconds:g} s") from None
    elapsed = time.monotonic() - start
    if elapsed > seconds:
        raise budget.BudgetExceeded(f"the formula took {elapsed:.2f} s, more than its budget of {seconds:g} s")
    return spec
