"""The Typer application that every ``actlab`` command registers on, and shared option parsing."""
from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console

from actlab.errors import ActlabError

__all__ = ["app", "console", "err_console", "parse_params", "parse_floats", "print_json", "fail"]

app = typer.Typer(
    name="actlab",
    help="A lab for choosing and understanding neural-network activation functions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console()
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
    sys.stdout.write(json.dumps(data, indent=2, allow_nan=True, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__}")
