"""The per-layer gradient-flow measures and the verdict, as used by the diagnostics.

They are pure functions of a model's tensors and live in :mod:`actlab.analysis.layer_measures`
(below the trainer, which calls them through probes); this module re-exports them.
"""
from __future__ import annotations

from actlab.analysis.layer_measures import (
    COLLAPSED_RUNS,
    DYING_GROWTH,
    EXPLODING_GROWTH,
    EXPLODING_RATIO,
    SATURATION_FRACTION,
    VANISHING_RATIO,
    LayerMeasures,
    Snapshot,
    check_saturation_threshold,
    collapsed,
    collect,
    hidden_layers,
    layer_measures,
    max_abs_derivative,
    module_params,
    verdict,
)

__all__ = [
    "COLLAPSED_RUNS",
    "DYING_GROWTH",
    "EXPLODING_GROWTH",
    "EXPLODING_RATIO",
    "SATURATION_FRACTION",
    "VANISHING_RATIO",
    "LayerMeasures",
    "Snapshot",
    "check_saturation_threshold",
    "collapsed",
    "collect",
    "hidden_layers",
    "layer_measures",
    "max_abs_derivative",
    "module_params",
    "verdict",
]
