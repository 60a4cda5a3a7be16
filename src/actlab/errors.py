"""Errors that actlab raises on bad input.

Every user-facing problem is an :class:`ActlabError` (a ``ValueError``) whose
message names the offending thing; the CLI turns it into exit code 2.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["ActlabError", "UnknownNameError", "ParameterError", "suggest"]


class ActlabError(ValueError):
    """Bad input: the message says what is wrong and, where possible, how to fix it."""


class UnknownNameError(ActlabError, KeyError):
    """An identifier that names nothing known; carries close matches."""

    def __init__(self, kind: str, name: str, choices: Iterable[str]):
        self.kind = kind
        self.name = name
        self.suggestions = suggest(name, choices)
        message = f"unknown {kind} {name!r}"
        if self.suggestions:
            message += "; did you mean " + " or ".join(self.suggestions) + "?"
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.args[0]


class ParameterError(ActlabError):
    """A parameter value outside its allowed range, or a parameter that does not exist."""


def suggest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Close matches for ``name`` among ``choices`` (case-insensitive)."""
    lowered = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[h] for h in hits]
