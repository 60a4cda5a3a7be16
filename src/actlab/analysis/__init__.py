"""Analysis of activation specs: the computed property table, Gaussian expectations, self-normalisation, plots.

Re-exports only (plots are imported from :mod:`actlab.analysis.plots`, so that
the table does not pull in matplotlib).
"""
from __future__ import annotations

from actlab.analysis.fields import FIELDS, Properties
from actlab.analysis.gaussian import (
    GaussianMoments,
    expectation,
    moments,
    normal_probability,
)
from actlab.analysis.learned import learned_specs, plot_learned
from actlab.analysis.table import clear_cache, evaluate, properties

__all__ = [
    "FIELDS",
    "GaussianMoments",
    "Properties",
    "clear_cache",
    "evaluate",
    "expectation",
    "learned_specs",
    "moments",
    "normal_probability",
    "plot_learned",
    "properties",
]
