"""actlab: a lab for choosing and understanding neural-network activation functions.

>>> import actlab
>>> spec = actlab.get("gelu")
>>> layer = spec.module()
"""
from __future__ import annotations

from actlab.catalog import BUILTIN as _BUILTIN
from actlab.errors import ActlabError, ParameterError, UnknownNameError
from actlab.layers import Maxout
from actlab.registry import all_specs, get, names, register, unregister
from actlab.spec import ActivationSpec, Init, Param

__all__ = [
    "ActivationSpec",
    "ActlabError",
    "Init",
    "Maxout",
    "Param",
    "ParameterError",
    "UnknownNameError",
    "all_specs",
    "get",
    "names",
    "register",
    "unregister",
    "__version__",
]
__version__ = "0.1.0"

for _spec in _BUILTIN:
    register(_spec)
del _spec
