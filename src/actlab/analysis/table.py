"""The computed property table's API: ``properties(spec_or_name, **params)``, cached; ``evaluate``.

Every entry is measured from the spec's forward and derivative (see :mod:`actlab.analysis.fields`
for the definitions, :mod:`actlab.analysis.compute` for how).
"""
from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from actlab.analysis.compute import _compute
from actlab.analysis.cost import _relative_cost
from actlab.analysis.fields import Array, Properties
from actlab.analysis.scalar import _scalar
from actlab.resolve import get
from actlab.spec import ActivationSpec

__all__ = ["Properties", "properties", "evaluate", "clear_cache"]

_CACHE: dict[tuple, Properties] = {}
_COST_CACHE: dict[tuple, tuple[float | None, float | None]] = {}


def clear_cache() -> None:
    _CACHE.clear()
    _COST_CACHE.clear()


def properties(spec_or_name: ActivationSpec | str, *, measure_cost: bool = True, **params: Any) -> Properties:
    """The computed property table of an activation (name, alias, formula or spec), with ``params`` bound.

    ``measure_cost=False`` skips the timing (``relative_cost`` is then None).
    Results are cached per (activation, parameters).

    >>> p = properties("relu", measure_cost=False)
    >>> p.range_min, p.sparsity, p.dead_region
    (0.0, 0.5, True)
    """
    spec = get(spec_or_name, **params)
    values = spec.resolve()
    key = (spec.name, spec.expression, id(spec.forward), id(spec.derivative), tuple(sorted(values.items())))
    result = _CACHE.get(key)
    if result is None:
        with _single_thread():
            result = _compute(spec, values)
        _CACHE[key] = result
    if measure_cost:
        if key not in _COST_CACHE:
            _COST_CACHE[key] = _relative_cost(spec, values)
        cost, spread = _COST_CACHE[key]
        result = dataclasses.replace(result, relative_cost=cost, relative_cost_spread=spread)
    return result


def evaluate(spec: ActivationSpec, x: Array) -> tuple[Array, Array]:
    """f(x) and f'(x) in float64 for an array of scalar inputs (vector/grouped kinds: their scalar slice)."""
    scalar, _ = _scalar(spec, spec.resolve())
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        return scalar.f(x), scalar.df(x)


@contextlib.contextmanager
def _single_thread() -> Iterator[None]:
    """Run torch single-threaded: the grids are small, and intra-op threads oversubscribe a busy machine (5× slower)."""
    previous = torch.get_num_threads()
    if previous == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)

