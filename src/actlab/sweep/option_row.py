"""One row of the options table (:class:`Option`) and the predicates rows use to say when they apply.

Light, like :mod:`actlab.sweep.options` (the table itself), which re-exports them.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from actlab.sweep.command_help import COMMAND_HELP

__all__ = ["Option", "TRAINING_COMMANDS"]

# the commands that train, each taking its training flags from the rows that name it
TRAINING_COMMANDS = ("compare", "tune", "diagnose", "boundary", "selfnorm")
_SWEEPS = ("compare", "tune")  # the commands a row reaches unless it says otherwise


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Option:
    """One training option: a TOML key, and a flag of each training command the row names (``commands``)."""

    key: str
    type: str  # "int", "float", "str", "bool" (a flag), "acts" (a list of names/formulas), "floats" (a list of numbers),
    # "dropouts" (one rate, or the cnn's two: after the pooling, after the dense layer)
    default: Any
    help: str
    identity: bool = True  # part of the fingerprint: changing it changes the results
    train_field: str | None = None  # the TrainConfig field it sets (None: used by planning only)
    default_text: str | None = None  # how --help shows the default (None: the default itself, or nothing)
    # whether the option means anything for this config (momentum only for SGD); the reproduce command
    # spells out every option that applies and is set
    applies: Callable[[Mapping[str, Any]], bool] | None = None
    # the fingerprint leaves the option out while it has its default (options added after stores existed:
    # those stores keep their fingerprint, so they still resume)
    omit_default: bool = False
    # the TrainConfig value from the option's value (None: the value itself)
    to_train: Callable[[Any], Any] | None = None
    applies_text: str = ""  # the configs it is for, for the message when it is given where it does not apply
    commands: tuple[str, ...] = _SWEEPS  # the training commands whose flags include it
    negation: str | None = None  # a flag that sets a bool option back to false (--bias for --no-bias)
    short: str | None = None  # a one-letter alias (-o)

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")

    def help_text(self, command: str = "compare") -> str:
        own = COMMAND_HELP.get(self.key, {}).get(command)  # the command's own help, where the row's does not fit
        if own is not None:
            return own
        shown = self.default_text
        if shown is None and self.default is not None:
            shown = ",".join(self.default) if isinstance(self.default, (list, tuple)) else _number(self.default)
        return f"{self.help} [default: {shown}]" if shown else self.help

    def format(self, value: Any) -> str:
        """The value as the command line spells it (parsed back to the same value by :func:`coerce`)."""
        if self.type == "acts":
            return ",".join(value)
        if self.type == "floats" or (self.type == "dropouts" and isinstance(value, (list, tuple))):
            return ",".join(repr(float(v)) for v in value)
        if self.type == "dropouts":
            return repr(float(value))
        if self.type == "float":
            return repr(float(value))
        if self.type == "bool":
            return "true" if value else "false"
        return str(value)


def _sgd(config: Mapping[str, Any]) -> bool:
    return config.get("optimizer") == "sgd"


def _no_grid(config: Mapping[str, Any]) -> bool:
    return config.get("lr_grid") is None


def _adam(config: Mapping[str, Any]) -> bool:
    return config.get("optimizer") == "adam"


def _rmsprop(config: Mapping[str, Any]) -> bool:
    return config.get("optimizer") == "rmsprop"


def _adaptive(config: Mapping[str, Any]) -> bool:
    return config.get("optimizer") in ("adam", "rmsprop")


def _steps(config: Mapping[str, Any]) -> bool:
    return config.get("steps") is None  # --epochs means nothing with a step budget


def _not(value: Any) -> Any:
    return not value
