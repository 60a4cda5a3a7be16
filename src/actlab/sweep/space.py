"""The search space of ``actlab tune``: ``name=lo:hi[:log]`` ranges and ``name=a|b|c`` choices.

Names are the options table's training options (:data:`SEARCHABLE`, ``-`` or ``_``);
a range is of whole numbers when both ends are (``width=32:256``), else of floats
(``lr=1e-4:1e-1:log``); an option of whole numbers (width, depth, batch size) takes
whole numbers only.  Every problem raises :class:`ActlabError` naming the item, with
close matches for an unknown name.  Nothing heavy is imported (``--help`` reads it).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from actlab.errors import ActlabError, suggest
from actlab.sweep.options import OPTIONS

__all__ = ["Dimension", "SEARCHABLE", "DEFAULT_SPACE", "parse_space", "format_space", "sample", "corners", "check_fixed"]

DEFAULT_SPACE = "lr=1e-4:1e-1:log,width=32:256,depth=1:4,dropout=0:0.5"
# training options a search may vary: the model, the epoch budget (the pruner's clock), the precision and
# the measurements stay fixed
_FIXED = ("model", "epochs", "precision", "diagnostics")
SEARCHABLE: dict[str, str] = {o.key: o.type for o in OPTIONS if o.train_field is not None and o.key not in _FIXED}


@dataclass(frozen=True)
class Dimension:
    """One searched option: a range (``low``..``high``, whole numbers or floats, maybe log-uniform) or choices."""

    name: str  # the options table key (batch_size, not batch-size)
    kind: str  # "int" | "float" | "categorical"
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def text(self) -> str:
        """The dimension as ``--space`` spells it (parsed back to the same dimension)."""
        flag = self.name.replace("_", "-")
        if self.kind == "categorical":
            return f"{flag}=" + "|".join(_word(c) for c in self.choices)
        return f"{flag}={_word(self.low)}:{_word(self.high)}" + (":log" if self.log else "")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.kind == "categorical":
            data["choices"] = list(self.choices)
        else:
            data.update(low=self.low, high=self.high, log=self.log)
        return data


def _word(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _number(text: str, item: str) -> int | float:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise ActlabError(f"--space item {item!r}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ActlabError(f"--space item {item!r}: {text!r} is not a finite number")
    return value


def _key(name: str, item: str) -> str:
    key = name.strip().lower().replace("-", "_")
    if key in SEARCHABLE:
        return key
    shown = [k.replace("_", "-") for k in SEARCHABLE]
    if key in {o.key for o in OPTIONS}:
        raise ActlabError(f"--space item {item!r}: {name.strip()} cannot be searched (searchable: {', '.join(shown)})")
    matches = suggest(name.strip().replace("_", "-"), shown)
    hint = f"; did you mean {' or '.join(matches)}?" if matches else ""
    raise ActlabError(f"--space item {item!r}: unknown option {name.strip()!r}{hint} (searchable: {', '.join(shown)})")


def _choice(key: str, text: str, item: str) -> Any:
    kind = SEARCHABLE[key]
    text = text.strip()
    if not text:
        raise ActlabError(f"--space item {item!r}: an empty choice")
    if kind == "str":
        return text
    value = _number(text, item)
    if kind == "int" and not isinstance(value, int):
        raise ActlabError(f"--space item {item!r}: {key.replace('_', '-')} takes whole numbers, got {text!r}")
    return float(value) if kind != "int" else value


def _dimension(item: str) -> Dimension:
    name, equals, body = item.partition("=")
    if not equals or not name.strip() or not body.strip():
        raise ActlabError(f"--space item {item!r}: write name=lo:hi, name=lo:hi:log or name=a|b|c "
                          f"(e.g. {DEFAULT_SPACE})")
    key = _key(name, item)
    kind = SEARCHABLE[key]
    if "|" in body:
        choices = tuple(_choice(key, part, item) for part in body.split("|"))
        if len(set(choices)) != len(choices):
            raise ActlabError(f"--space item {item!r}: a choice is listed twice")
        return Dimension(key, "categorical", choices=choices)
    parts = body.split(":")
    if len(parts) == 3 and parts[2].strip().lower() == "log":
        log, parts = True, parts[:2]
    elif len(parts) == 3:
        raise ActlabError(f"--space item {item!r}: the third part can only be 'log', got {parts[2].strip()!r}")
    else:
        log = False
    if len(parts) != 2:
        if len(parts) == 1:  # one value: a single choice (the option fixed; say so)
            raise ActlabError(f"--space item {item!r}: a range needs two ends (lo:hi); to fix {key.replace('_', '-')} "
                              f"give it as an option (--{key.replace('_', '-')} {body.strip()})")
        raise ActlabError(f"--space item {item!r}: write name=lo:hi or name=lo:hi:log")
    if kind == "str":
        raise ActlabError(f"--space item {item!r}: {key} takes words; list them as {key}=a|b")
    low, high = (_number(p, item) for p in parts)
    whole = isinstance(low, int) and isinstance(high, int)
    if kind == "int" and not whole:
        raise ActlabError(f"--space item {item!r}: {key.replace('_', '-')} takes whole numbers, got {body.strip()!r}")
    if not low < high:
        raise ActlabError(f"--space item {item!r}: the low end must be below the high end")
    if log and low <= 0:
        raise ActlabError(f"--space item {item!r}: a log range needs a positive low end")
    if whole and kind == "int":
        return Dimension(key, "int", int(low), int(high), log)
    return Dimension(key, "float", float(low), float(high), log)


def parse_space(space: str | Sequence[str] | None) -> list[Dimension]:
    """``"lr=1e-4:1e-1:log,width=32:256"`` (or a list of items) → dimensions; None: :data:`DEFAULT_SPACE`."""
    if space is None:
        space = DEFAULT_SPACE
    items = [part.strip() for text in ([space] if isinstance(space, str) else space) for part in str(text).split(",")]
    if not any(items):
        raise ActlabError(f"--space is empty; e.g. --space {DEFAULT_SPACE}")
    if not all(items):
        raise ActlabError(f"--space has an empty item: {','.join(items)!r}")
    dims = [_dimension(item) for item in items]
    seen: set[str] = set()
    for dim in dims:
        if dim.name in seen:
            raise ActlabError(f"--space names {dim.name.replace('_', '-')} twice")
        seen.add(dim.name)
    return dims


def format_space(dims: Sequence[Dimension]) -> str:
    return ",".join(dim.text() for dim in dims)


def sample(trial: Any, dims: Sequence[Dimension]) -> dict[str, Any]:
    """The settings an Optuna ``trial`` suggests for ``dims`` (parameter names: the option keys)."""
    values: dict[str, Any] = {}
    for dim in dims:
        if dim.kind == "categorical":
            values[dim.name] = trial.suggest_categorical(dim.name, list(dim.choices))
        elif dim.kind == "int":
            values[dim.name] = trial.suggest_int(dim.name, int(dim.low), int(dim.high), log=dim.log)
        else:
            values[dim.name] = trial.suggest_float(dim.name, float(dim.low), float(dim.high), log=dim.log)
    return values


def corners(dims: Sequence[Dimension]) -> list[dict[str, Any]]:
    """Settings that visit each end of every range and every choice (to check them before training)."""
    out: list[dict[str, Any]] = []
    for dim in dims:
        values = list(dim.choices) if dim.kind == "categorical" else [dim.low, dim.high]
        out += [{dim.name: value} for value in values]
    return out


def check_fixed(dims: Sequence[Dimension], given: Mapping[str, Any]) -> None:
    """An option both searched and given a value is refused."""
    for dim in dims:
        if given.get(dim.name) is not None:
            flag = dim.name.replace("_", "-")
            raise ActlabError(f"--{flag} is searched (--space {dim.text()}); give it a value or a range, not both")
