"""Comparison sweeps: the options table, planning, running into the store (re-exports only).

The CLI (``actlab compare``) is a thin layer over this package; from Python::

    import actlab.sweep
    outcome = actlab.sweep.compare(dataset="moons", acts=["relu", "tanh"], seeds=2, epochs=3, out="runs/moons")

Config resolution, lowest priority first: the options table's defaults
(:data:`DEFAULTS`) → the stored config of the output directory (only with
``resume=True``) → a TOML file (``config_file``, same keys as the CLI options) →
explicit options.  The resolved config is saved in the store with every result;
the options marked as part of the identity are fingerprinted.
"""
from __future__ import annotations

from actlab.sweep.options import (
    CONFIG_KEYS,
    DEFAULT_ACTIVATIONS,
    DEFAULT_EPOCHS,
    DEFAULTS,
    IDENTITY_EXCLUDED,
    OPTIONS,
    Option,
    config_fingerprint,
    default_out,
    identity_of,
    load_toml,
    reproduce_command,
    resolve_config,
    split_list,
    train_options,
)

# planning and running load the store and more: imported on first use, so that the command line's option
# table (actlab.sweep.options) costs no more than itself
_LAZY = {"Activation": "plan", "Plan": "plan", "plan_from_options": "plan", "plan_sweep": "plan",
         "Outcome": "run", "compare": "run", "open_store": "run", "run_sweep": "run", "StoreSink": "sink"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"actlab.sweep.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'actlab.sweep' has no attribute {name!r}")


__all__ = [
    "CONFIG_KEYS",
    "DEFAULTS",
    "DEFAULT_ACTIVATIONS",
    "DEFAULT_EPOCHS",
    "IDENTITY_EXCLUDED",
    "OPTIONS",
    "Activation",
    "Option",
    "Outcome",
    "Plan",
    "StoreSink",
    "compare",
    "config_fingerprint",
    "default_out",
    "identity_of",
    "load_toml",
    "open_store",
    "plan_from_options",
    "plan_sweep",
    "reproduce_command",
    "resolve_config",
    "run_sweep",
    "split_list",
    "train_options",
]
