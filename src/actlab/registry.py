"""The registry: a pure name/alias table of :class:`ActivationSpec` records.

It imports nothing but the spec and the errors; filling it (the built-in
catalog, saved formulas) and turning names, aliases and formulas into specs is
:mod:`actlab.resolve`'s job.
"""
from __future__ import annotations

import re

from actlab.errors import ActlabError, UnknownNameError
from actlab.spec import ActivationSpec

__all__ = ["register", "unregister", "names", "all_specs", "lookup", "is_identifier", "ALIASES"]

_SPECS: dict[str, ActivationSpec] = {}
ALIASES: dict[str, str] = {}  # lower-case alias or name -> canonical name

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def register(spec: ActivationSpec, *, replace: bool = False) -> ActivationSpec:
    """Add ``spec`` to the registry. A name or alias already taken raises ``ActlabError``."""
    if not isinstance(spec, ActivationSpec):
        raise TypeError(f"register() takes an ActivationSpec, got {type(spec).__name__}")
    keys = [spec.name.lower(), *(a.lower() for a in spec.aliases)]
    if not _IDENTIFIER.match(spec.name):
        raise ActlabError(f"activation name {spec.name!r} must be an identifier (letters, digits, _)")
    if replace and spec.name.lower() in ALIASES:
        unregister(spec.name)
    for key in keys:
        if key in ALIASES:
            owner = ALIASES[key]
            raise ActlabError(f"activation name {key!r} is already registered (by {owner!r})")
    _SPECS[spec.name] = spec
    for key in keys:
        ALIASES[key] = spec.name
    return spec


def unregister(name: str) -> None:
    canonical = ALIASES.get(name.lower())
    if canonical is None:
        raise UnknownNameError("activation", name, ALIASES)
    spec = _SPECS.pop(canonical)
    for key in [spec.name.lower(), *(a.lower() for a in spec.aliases)]:
        ALIASES.pop(key, None)


def is_identifier(text: str) -> bool:
    return bool(_IDENTIFIER.match(text.strip()))


def lookup(name: str) -> ActivationSpec | None:
    """The registered spec for a name or alias, or None."""
    canonical = ALIASES.get(name.strip().lower())
    return _SPECS[canonical] if canonical else None


def names() -> list[str]:
    """Canonical names of every registered activation, sorted."""
    return sorted(_SPECS)


def all_specs() -> list[ActivationSpec]:
    return [_SPECS[n] for n in names()]
