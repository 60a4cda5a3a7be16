"""Names, aliases and formulas → :class:`ActivationSpec`: what ``actlab.get`` does.

The registry (:mod:`actlab.registry`) is a pure table; this module fills it on
first use — the built-in catalog first, the user's saved formulas on the first
lookup that the catalog cannot answer (or when every name is listed) — so that
``import actlab`` does no I/O and imports neither SymPy nor SciPy.  A string that
names nothing is parsed as a formula in ``x`` (never evaluated as Python).
"""
from __future__ import annotations

import copyreg
from typing import Any

from actlab import registry
from actlab.errors import ActlabError, UnknownNameError
from actlab.spec import ActivationSpec

__all__ = ["get", "names", "all_specs", "register", "unregister", "looks_like_formula", "ensure_catalog",
           "ensure_saved_formulas"]

_state = {"catalog": False, "saved": False}


def ensure_catalog() -> None:
    """Register the built-in catalog (once)."""
    if _state["catalog"]:
        return
    from actlab.catalog import BUILTIN

    for spec in BUILTIN:
        if registry.lookup(spec.name) is None:
            registry.register(spec)
    _state["catalog"] = True


def ensure_saved_formulas() -> None:
    """Register the user's saved formulas (once; a broken file warns, never raises)."""
    ensure_catalog()
    if _state["saved"]:
        return
    _state["saved"] = True
    from actlab.formula.build import load_saved_formulas

    load_saved_formulas()


def reload_saved_formulas() -> None:
    """Read the saved formulas again on the next lookup (after the config location changed)."""
    _state["saved"] = False


def register(spec: ActivationSpec, *, replace: bool = False) -> ActivationSpec:
    """Add ``spec`` to the registry (after the catalog, so built-in names stay taken)."""
    ensure_catalog()
    return registry.register(spec, replace=replace)


def unregister(name: str) -> None:
    ensure_catalog()
    registry.unregister(name)


def looks_like_formula(text: str) -> bool:
    """True when ``text`` is not a plain identifier (so it is meant as a formula)."""
    return not registry.is_identifier(text)


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
    ensure_catalog()
    spec = registry.lookup(identifier)
    if spec is None and not _state["saved"]:
        ensure_saved_formulas()
        spec = registry.lookup(identifier)
    if spec is not None:
        return spec.with_params(**params)
    text = identifier.strip()
    if not text:
        raise ActlabError("empty activation name")
    if looks_like_formula(text) or text == "x":  # a bare "x" is the identity formula
        from actlab.formula.build import from_formula  # formulas are specs built on demand

        return from_formula(text, params=params)
    raise UnknownNameError("activation", identifier, registry.ALIASES)


def names() -> list[str]:
    """Canonical names of every registered activation (catalog and saved formulas), sorted."""
    ensure_saved_formulas()
    return registry.names()


def all_specs() -> list[ActivationSpec]:
    ensure_saved_formulas()
    return registry.all_specs()


def _rebuild(name: str, expression: str | None, values: dict[str, Any]) -> ActivationSpec:
    """The spec a pickle named: the registered record (or the formula), with the pickled parameter values."""
    ensure_catalog()
    spec = registry.lookup(name)
    if spec is None and not _state["saved"]:
        ensure_saved_formulas()
        spec = registry.lookup(name)
    if spec is None or (expression is not None and spec.expression != expression):
        spec = get(expression if expression is not None else name)
    changed = {key: value for key, value in values.items() if spec.defaults().get(key) != value}
    return spec.with_params(**changed)


def _reduce(spec: ActivationSpec) -> Any:
    """How a spec pickles: a registered record (catalog or formula) as its name or formula and parameter values,
    so it comes back as the registry's record; any other spec by value."""
    if spec.source == "catalog" or spec.expression is not None:
        return (_rebuild, (spec.name, spec.expression, spec.defaults()))
    return object.__reduce_ex__(spec, 2)


copyreg.pickle(ActivationSpec, _reduce)  # pickle's own hook for a class it does not define
