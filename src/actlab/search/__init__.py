"""Activation search: generate formulas (:mod:`~actlab.search.space`), screen them before training
(:mod:`~actlab.search.screen`), race the survivors by successive halving on the grid engine
(:mod:`~actlab.search.plan`, :mod:`~actlab.search.race`), compare the finalists with baselines
(:mod:`~actlab.search.results`) and report (:mod:`~actlab.search.report`); :func:`search` runs it all
(:mod:`~actlab.search.run`).  Re-exports are lazy: importing this package pulls in neither torch nor SymPy.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = ["search", "summarize", "write_report"]

_LAZY = {"search": "actlab.search.run", "summarize": "actlab.search.results", "write_report": "actlab.search.report"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'actlab.search' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
