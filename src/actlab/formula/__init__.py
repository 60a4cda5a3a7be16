"""Formula activations: a safe formula language → SymPy → derivative, LaTeX and torch functions.

>>> spec = from_formula("x*sigmoid(1.702*x)")
>>> spec.derivative_formula
'(1 - 1.702*x*(-1 + sigmoid(1.702*x)))*sigmoid(1.702*x)'

The text is parsed into a whitelisted tree (:mod:`actlab.formula.parse`; never
``eval``-ed), differentiated symbolically (:mod:`actlab.formula.symbolic`),
turned into torch functions by walking the trees (:mod:`actlab.formula.torchfn`)
and assembled into a spec (:mod:`actlab.formula.build`).  Saved formulas live in
:mod:`actlab.formula.store`.

This module holds re-exports only, resolved lazily so that ``import actlab``
pulls in neither SymPy nor SciPy.
"""
from __future__ import annotations

import importlib
from typing import Any

from actlab.formula.parse import (
    CONSTANTS,
    FUNCTIONS,
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_LENGTH,
    MAX_NODES,
    FormulaError,
    parse,
)

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

_LAZY = {
    "from_formula": "actlab.formula.build",
    "register_formula": "actlab.formula.build",
    "KINK_SEARCH": "actlab.formula.build",
    "load_saved_formulas": "actlab.formula.build",
    "config_path": "actlab.formula.store",
    "check_formula": "actlab.formula.build",
    "float32_problem": "actlab.formula.checks",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'actlab.formula' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
