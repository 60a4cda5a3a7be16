"""actlab: a lab for choosing and understanding neural-network activation functions.

>>> import actlab
>>> spec = actlab.get("gelu")
>>> layer = actlab.nn.create(spec)
>>> actlab.properties("relu").sparsity
0.5

Public names are re-exported lazily: ``import actlab`` does no I/O and imports
neither torch's heavier companions (SymPy, SciPy, matplotlib) nor the catalog
until a name is used.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "ActivationSpec": "actlab.spec",
    "Init": "actlab.spec",
    "Param": "actlab.spec",
    "ActlabError": "actlab.errors",
    "ParameterError": "actlab.errors",
    "UnknownNameError": "actlab.errors",
    "FormulaError": "actlab.formula.parse",
    "register_formula": "actlab.formula.build",
    "load_saved_formulas": "actlab.formula.build",
    "Maxout": "actlab.nn.maxout",
    "ActivationModule": "actlab.nn.modules",
    "PerNeuron": "actlab.nn.per_neuron",
    "AlphaDropout": "actlab.nn.alpha_dropout",
    "all_specs": "actlab.resolve",
    "get": "actlab.resolve",
    "names": "actlab.resolve",
    "register": "actlab.resolve",
    "unregister": "actlab.resolve",
    "Properties": "actlab.analysis.fields",
    "properties": "actlab.analysis.table",
    "swap": "actlab.nn.swap",
    "compare": "actlab.api",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        # a subpackage (actlab.data, actlab.train, ...) reached as an attribute
        try:
            return importlib.import_module(f"actlab.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"actlab.{name}":
                raise
            raise AttributeError(f"module 'actlab' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
