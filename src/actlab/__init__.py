"""actlab: a lab for choosing and understanding neural-network activation functions.

>>> import actlab
>>> spec = actlab.get("gelu")
>>> layer = spec.module()
>>> actlab.properties("relu").sparsity
0.5
"""
from __future__ import annotations

from actlab.catalog import BUILTIN as _BUILTIN
from actlab.errors import ActlabError, ParameterError, UnknownNameError
from actlab.formula import FormulaError, load_saved_formulas, register_formula
from actlab.layers import Maxout
from actlab.registry import all_specs, get, names, register, unregister
from actlab.spec import ActivationSpec, Init, Param
from actlab.properties import Properties, properties  # the function; the module stays in sys.modules

__all__ = [
    "ActivationSpec",
    "ActlabError",
    "FormulaError",
    "Init",
    "Maxout",
    "Param",
    "ParameterError",
    "Properties",
    "UnknownNameError",
    "all_specs",
    "get",
    "names",
    "properties",
    "register",
    "register_formula",
    "unregister",
    "__version__",
]
__version__ = "0.1.0"

for _spec in _BUILTIN:
    register(_spec)
del _spec
# the user's saved formulas are registered lazily, on the first lookup (actlab.registry.lookup)
