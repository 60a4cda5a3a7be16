"""Parsing a sweep's option values: comma lists (formulas keep their commas), TOML files, dropout rates and
learning-rate lists.  Light: the CLI reads it to build ``--help``."""
from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from actlab.errors import ActlabError

__all__ = ["split_list", "load_toml", "check_type"]


def split_list(text: str) -> list[str]:
    """Split a comma-separated list at parenthesis depth 0: formulas keep their commas.

    >>> split_list("relu, maximum(x, 0),gelu")
    ['relu', 'maximum(x, 0)', 'gelu']
    """
    items, depth, current = [], 0, []
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                raise ActlabError(f"unbalanced ')' in activation list {text!r}")
        if char == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if depth != 0:
        raise ActlabError(f"unbalanced '(' in activation list {text!r}")
    items.append("".join(current).strip())
    if any(not item for item in items):
        raise ActlabError(f"empty item in activation list {text!r}")
    return items


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a run config (flat keys, same names as the CLI options; '-' or '_')."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ActlabError(f"config file {path} not found") from None
    except IsADirectoryError:
        raise ActlabError(f"config file {path} is a directory, not a TOML file") from None
    except UnicodeDecodeError:
        raise ActlabError(f"config file {path} is not UTF-8 text (is it a TOML file?)") from None
    except tomllib.TOMLDecodeError as error:
        raise ActlabError(f"config file {path} is not valid TOML: {error}") from None
    except OSError as error:
        raise ActlabError(f"cannot read config file {path}: {error}") from None
    return {key.replace("-", "_"): value for key, value in raw.items()}


def _dropouts(key: str, value: Any, where: str) -> float | list[float]:
    """One rate (a float) or two (a list): numbers, "0.25,0.5", [0.25, 0.5] or {pool = 0.25, dense = 0.5}."""
    if isinstance(value, Mapping):
        unknown = set(value) - {"pool", "dense"}
        if unknown:
            raise ActlabError(f"{key}: the places are pool and dense{where}, got {sorted(unknown)}")
        value = [value.get("pool", 0.0), value.get("dense", 0.0)]
    if isinstance(value, str):
        value = [item.strip() for item in value.split(",")]
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    rates = []
    for item in items:
        try:
            rate = float(item)
        except (TypeError, ValueError):
            raise ActlabError(f"{key}: {item!r} is not a number{where}") from None
        if isinstance(item, bool) or not math.isfinite(rate):
            raise ActlabError(f"{key} must be a number{where}, got {item!r}")
        rates.append(rate)
    if not 1 <= len(rates) <= 2:
        raise ActlabError(f"{key}: one rate, or two for the cnn (after the pooling, after the dense layer){where}")
    return rates[0] if len(rates) == 1 else rates


def _rates(key: str, value: Any, where: str) -> list[float]:
    if isinstance(value, str):
        value = [item.strip() for item in value.split(",")]
    if not isinstance(value, (list, tuple)) or not value:
        raise ActlabError(f"{key} must be a list of learning rates{where}, got {value!r}")
    rates = []
    for item in value:
        try:
            rate = float(item)
        except (TypeError, ValueError):
            raise ActlabError(f"{key}: {item!r} is not a number{where}") from None
        if not (math.isfinite(rate) and rate > 0):
            raise ActlabError(f"{key}: learning rates must be positive, got {item!r}{where}")
        rates.append(rate)
    if len(set(rates)) != len(rates):
        raise ActlabError(f"{key} lists a learning rate twice{where}: {value!r}")
    return rates


def check_type(key: str, kind: str, value: Any, source: str = "") -> Any:
    """``value`` checked (and normalised) as the options table's type ``kind`` ("int", "float", "bool", "str",
    "acts", "dropouts", "floats"); a message names the key and where it came from."""
    where = f" (in {source})" if source else ""
    if value is None:
        return None
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ActlabError(f"{key} must be a whole number{where}, got {value!r}")
        return int(value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ActlabError(f"{key} must be a number{where}, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ActlabError(f"{key} must be finite{where}, got {value!r}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ActlabError(f"{key} must be true or false{where}, got {value!r}")
        return value
    if kind == "str":
        if not isinstance(value, (str, os.PathLike)):
            raise ActlabError(f"{key} must be a string{where}, got {value!r}")
        return os.fspath(value)
    if kind == "acts":
        if isinstance(value, str):
            return split_list(value)
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
            return [v.strip() for v in value]
        raise ActlabError(f"acts must be a list of activation names or formulas{where}, got {value!r}")
    if kind == "dropouts":
        return _dropouts(key, value, where)
    return _rates(key, value, where)
