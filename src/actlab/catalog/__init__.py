"""The built-in catalog: every definition file contributes its ``SPECS`` list."""
from __future__ import annotations

from actlab.catalog import gated, rectifiers, shapes, sigmoids, vector
from actlab.spec import ActivationSpec

__all__ = ["BUILTIN", "builtin"]

BUILTIN: tuple[ActivationSpec, ...] = tuple(
    spec for module in (rectifiers, sigmoids, gated, shapes, vector) for spec in module.SPECS
)


def builtin(name: str) -> ActivationSpec:
    """The built-in record called ``name`` (exact canonical name; for code that must not go through the registry)."""
    for spec in BUILTIN:
        if spec.name == name:
            return spec
    raise KeyError(name)
