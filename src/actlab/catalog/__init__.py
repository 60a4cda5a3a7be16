"""The built-in catalog: every definition file contributes its ``SPECS`` list.

``BUILTIN`` is built on first access (PEP 562), so the plain-data modules of this package
(``index``, ``equivalents``) import without torch (``actlab list`` and ``--help`` start fast).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actlab.spec import ActivationSpec

__all__ = ["BUILTIN", "builtin"]


def __getattr__(name: str) -> Any:
    if name == "BUILTIN":
        from actlab.catalog import gated, glu, modern, rational, rectifiers, shapes, sigmoids, simplex, vector

        modules = (rectifiers, sigmoids, gated, shapes, vector, modern, simplex, rational, glu)
        value = tuple(spec for module in modules for spec in module.SPECS)
        globals()["BUILTIN"] = value
        return value
    raise AttributeError(f"module 'actlab.catalog' has no attribute {name!r}")


def builtin(name: str) -> ActivationSpec:
    """The built-in record called ``name`` (exact canonical name; for code that must not go through the registry)."""
    for spec in globals().get("BUILTIN") or __getattr__("BUILTIN"):
        if spec.name == name:
            return spec
    raise KeyError(name)
