"""The registry: names and aliases → :class:`ActivationSpec`.

``get`` accepts a catalog name or alias (case-insensitive), a spec (passed
through), or — when the string names nothing in the catalog — a formula in
``x`` (parsed by :mod:`actlab.formula`, never evaluated as Python).
"""
from __future__ import annotations

import re
from typing import Any

from actlab.errors import ActlabError, UnknownNameError
from actlab.spec import ActivationSpec

__all__ = [
    "register", "unregister", "get", "names", "all_specs", "lookup", "looks_like_formula", "load_saved_once",
]

_SPECS: dict[str, ActivationSpec] = {}
_ALIASES: dict[str, str] = {}  # lower-case alias or name -> canonical name

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def register(spec: ActivationSpec, *, replace: bool = False) -> ActivationSpec:
    """Add ``spec`` to the registry. A name or alias already taken raises ``ActlabError``."""
    if not isinstance(spec, ActivationSpec):
        raise TypeError(f"register() takes an ActivationSpec, got {type(spec).__name__}")
    keys = [spec.name.lower(), *(a.lower() for a in spec.aliases)]
    if not _IDENTIFIER.match(spec.name):
        raise ActlabError(f"activation name {spec.name!r} must be an identifier (letters, digits, _)")
    if replace and spec.name.lower() in _ALIASES:
        unregister(spec.name)
    for key in keys:
        if key in _ALIASES:
            owner = _ALIASES[key]
            raise ActlabError(f"activation name {key!r} is already registered (by {owner!r})")
    _SPECS[spec.name] = spec
    for key in keys:
        _ALIASES[key] = spec.name
    return spec


def unregister(name: str) -> None:
    canonical = _ALIASES.get(name.lower())
    if canonical is None:
        raise UnknownNameError("activation", name, _ALIASES)
    spec = _SPECS.pop(canonical)
    for key in [spec.name.lower(), *(a.lower() for a in spec.aliases)]:
        _ALIASES.pop(key, None)


_SAVED = {"loaded": False}  # the user's saved formulas are registered on the first lookup that misses


def load_saved_once() -> None:
    """Register the user's saved formulas (once per process; an unusable file only warns)."""
    if _SAVED["loaded"]:
        return
    _SAVED["loaded"] = True
    from actlab.formula.store import load_saved_formulas

    load_saved_formulas()


def lookup(name: str) -> ActivationSpec | None:
    """The registered spec for a name or alias, or None (saved formulas load on the first miss)."""
    key = name.strip().lower()
    canonical = _ALIASES.get(key)
    if canonical is None and not _SAVED["loaded"]:
        load_saved_once()
        canonical = _ALIASES.get(key)
    return _SPECS[canonical] if canonical else None


def looks_like_formula(text: str) -> bool:
    """True when ``text`` is not a plain identifier (so it is meant as a formula)."""
    return not _IDENTIFIER.match(text.strip())


def get(identifier: Any, **params: Any) -> ActivationSpec:
    """The activation named ``identifier`` (name, alias, spec or formula), with ``params`` bound.

    Names and aliases are case-insensitive; an ``ActivationSpec`` or any other
    callable passes through (as ``keras.activations.get`` does).

    >>> get("swish").name
    'silu'
    >>> get("elu", alpha=0.5).resolve()["alpha"]
    0.5
    """
    if isinstance(identifier, ActivationSpec):
        return identifier.with_params(**params)
    if callable(identifier) and not isinstance(identifier, str):
        # like keras.activations.get: a plain callable passes through unchanged
        if params:
            raise ActlabError("parameters cannot be bound to a plain callable; build an ActivationSpec instead")
        return identifier
    if not isinstance(identifier, str):
        raise ActlabError(
            f"an activation is a name, a formula or an ActivationSpec, got {type(identifier).__name__}"
        )
    spec = lookup(identifier)
    if spec is not None:
        return spec.with_params(**params)
    text = identifier.strip()
    if not text:
        raise ActlabError("empty activation name")
    if looks_like_formula(text) or _formula_variable_in(text):
        from actlab.formula import build  # formulas are specs built on demand

        return build.from_formula(text, params=params)
    raise UnknownNameError("activation", identifier, _ALIASES)


def _formula_variable_in(text: str) -> bool:
    # a bare "x" is the identity formula
    return text == "x"


def names() -> list[str]:
    """Canonical names of every registered activation (saved formulas included), sorted."""
    load_saved_once()
    return sorted(_SPECS)


def all_specs() -> list[ActivationSpec]:
    return [_SPECS[n] for n in names()]
