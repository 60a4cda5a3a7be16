"""The built-in catalog: every definition file contributes its ``SPECS`` list."""
from __future__ import annotations

from actlab.catalog import gated, rectifiers, shapes, sigmoids, vector
from actlab.spec import ActivationSpec

__all__ = ["BUILTIN"]

BUILTIN: tuple[ActivationSpec, ...] = tuple(
    spec for module in (rectifiers, sigmoids, gated, shapes, vector) for spec in module.SPECS
)
