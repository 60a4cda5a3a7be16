"""The Typer application that every ``actlab`` command registers on, and shared option parsing."""
from __future__ import annotations

import json
import math
import sys
from typing import Any

import typer
from rich.console import Console

from actlab.errors import ActlabError

__all__ = ["app", "console", "err_console", "parse_params", "parse_floats", "print_json", "strict_json", "fail"]

app = typer.Typer(
    name="actlab",
    help="A lab for choosing and understanding neural-network activation functions.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console()


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("actlab")
        except PackageNotFoundError:
            from actlab import __version__ as text
        sys.stdout.write(f"actlab {text}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print actlab's version and exit."),
) -> None:
    """A lab for choosing and understanding neural-network activation functions."""
err_console = Console(stderr=True)


def fail(message: str) -> None:
    """Raise the error the CLI reports with exit code 2."""
    raise ActlabError(message)


def parse_params(pairs: list[str] | None) -> dict[str, Any]:
    """``["alpha=0.1", "beta=2"]`` → ``{"alpha": 0.1, "beta": 2.0}`` (numbers only)."""
    params: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            fail(f"--param expects NAME=VALUE, got {pair!r}")
        key, _, raw = pair.partition("=")
        key, raw = key.strip(), raw.strip()
        if not key:
            fail(f"--param expects NAME=VALUE, got {pair!r}")
        try:
            params[key] = float(raw)
        except ValueError:
            fail(f"--param {key}: {raw!r} is not a number")
    return params


def parse_floats(text: str, option: str) -> list[float]:
    """``"0.5,-1,3"`` → ``[0.5, -1.0, 3.0]`` with a clear error naming the bad item."""
    values = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            fail(f"{option}: empty item in {text!r}")
        try:
            values.append(float(item))
        except ValueError:
            fail(f"{option}: {item!r} is not a number")
    return values


def print_json(data: Any) -> None:
    """Print ``data`` as strict JSON (RFC 8259: no ``NaN``/``Infinity``), converted by :func:`strict_json`."""
    sys.stdout.write(json.dumps(strict_json(data), indent=2, allow_nan=False, default=_json_default) + "\n")


def strict_json(data: Any) -> Any:
    """``data`` made strict-JSON-safe, the one convention of every ``--json`` output.

    A non-finite float (NaN, ±inf; also numpy/torch scalars) becomes ``null``, and the nearest enclosing
    object gains a field ``"non_finite"`` mapping the value's relative path (``"range_max"``, ``"y/3"``)
    to ``"inf"``, ``"-inf"`` or ``"nan"``; so no information is lost and a strict parser reads it.
    """
    converted, _ = _strict(data)
    return converted


def _strict(value: Any) -> tuple[Any, dict[str, str]]:
    if hasattr(value, "item") and not isinstance(value, (str, bytes)) and getattr(value, "ndim", 0) == 0:
        value = value.item()
    elif hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, float):
        if math.isfinite(value):
            return value, {}
        return None, {"": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        found: dict[str, str] = {}
        for key, item in value.items():
            converted, below = _strict(item)
            out[key] = converted
            found.update({f"{key}/{path}".rstrip("/"): kind for path, kind in below.items()})
        if found:
            out["non_finite"] = {**out.get("non_finite", {}), **found} if isinstance(out.get("non_finite"), dict) else found
        return out, {}
    if isinstance(value, (list, tuple)):
        items, found = [], {}
        for index, item in enumerate(value):
            converted, below = _strict(item)
            items.append(converted)
            found.update({f"{index}/{path}".rstrip("/"): kind for path, kind in below.items()})
        return items, found
    return value, {}


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__}")
