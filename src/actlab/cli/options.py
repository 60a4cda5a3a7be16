"""Option and argument types shared by the commands (one definition each)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

__all__ = ["ParamOption", "JsonFlag", "ActivationArgument", "ActivationsArgument", "QuietFlag", "ImageOutput",
           "path_value"]


def path_value(text: str) -> Path:
    """The parser of every path option: an empty value (which ``Path`` would silently turn into the current
    directory) or one with a NUL character is a usage error, exit 2."""
    if not str(text).strip():
        raise typer.BadParameter("empty path")
    if "\x00" in str(text):
        raise typer.BadParameter("a path cannot contain a NUL character")
    return Path(text)



ParamOption = Annotated[
    Optional[list[str]], typer.Option("--param", "-p", help="Parameter as NAME=VALUE (repeatable).")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON (strict: no NaN/Infinity) instead of text.")]
QuietFlag = Annotated[bool, typer.Option("--quiet", help="No progress display.")]
ActivationArgument = Annotated[str, typer.Argument(help="Activation name, alias or formula in x.")]
ActivationsArgument = Annotated[Optional[list[str]], typer.Argument(help="Activation names, aliases or formulas in x.")]
ImageOutput = Annotated[Optional[Path], typer.Option("--output", "-o", parser=path_value,
                                                     help="Image file to write (.png, .svg or .pdf).")]
