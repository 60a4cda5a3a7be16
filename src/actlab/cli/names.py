"""Checks of activation names and lists that run before anything heavy is imported.

A command that takes activation names (``show``, ``eval``, ``props``, ``plot``, ``compare --acts``,
``tune --acts``) calls :func:`check_names` / :func:`check_acts` first, so a typo is refused in the time it
takes Python to start, not after torch has loaded.  They read only the catalog's plain-data index
(:mod:`actlab.catalog.index`) and the saved formulas' file; anything that is not a plain identifier is left to
the formula parser later.  The messages are the library's (:class:`~actlab.errors.UnknownNameError`).
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from actlab.errors import ActlabError, UnknownNameError

__all__ = ["check_acts", "check_names", "known_names"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # as actlab.registry.is_identifier


def known_names() -> dict[str, str]:
    """Lower-case name or alias → canonical name, for the catalog and the saved formulas (no torch)."""
    from actlab.catalog.index import INDEX

    known: dict[str, str] = {}
    for name, aliases, _, _ in INDEX:
        known[name.lower()] = name
        for alias in aliases:
            known.setdefault(alias.lower(), name)
    try:
        from actlab.formula.store import read_saved

        for name in read_saved():
            known.setdefault(str(name).lower(), str(name))
    except ActlabError as error:  # a broken file or location warns, as the registry does
        import warnings

        warnings.warn(f"actlab: ignoring saved formulas: {error}", RuntimeWarning, stacklevel=2)
    return known


def check_names(names: Iterable[str] | None) -> None:
    """Refuse a plain identifier that names no activation (the message ``actlab.get`` would give)."""
    known: dict[str, str] | None = None
    for raw in names or ():
        text = str(raw).strip()
        if not text or text == "x" or not _IDENTIFIER.match(text):
            continue  # empty (the command says so), the identity formula, or a formula: parsed later
        known = known if known is not None else known_names()
        if text.lower() not in known:
            raise UnknownNameError("activation", text, known)


def check_acts(text: str | None, option: str = "--acts") -> None:
    """``--acts`` before the sweep is planned: a list without commas gets a hint, then each name is checked."""
    if text is None or not isinstance(text, str):
        return
    items = _split(text)
    if len(items) == 1 and " " in text.strip():
        words = text.split()
        known = known_names()
        if all(_IDENTIFIER.match(w) for w in words) and any(w.lower() in known for w in words):
            raise ActlabError(f"{option} {text!r}: separate activations with commas, e.g. {option} "
                              f"{','.join(words)} (a space-separated list reads as one formula)")
    check_names(items)


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses (a formula may hold commas: ``max(x, 0)``)."""
    items, depth, current = [], 0, []
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        if char == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    items.append("".join(current).strip())
    return [item for item in items if item]
