"""Option and argument types shared by the commands (one definition each), and the training commands' flags
derived from the options table (:data:`actlab.sweep.options.OPTIONS`)."""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

__all__ = ["ParamOption", "JsonFlag", "ActivationArgument", "ActivationsArgument", "QuietFlag", "ImageOutput",
           "path_value", "table_parameters", "table_command", "TABLE_ARGUMENT"]

_PYTHON_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "acts": str, "floats": str, "dropouts": str}
TABLE_ARGUMENT = "table"  # the keyword a :func:`table_command` receives the table's values in


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


def table_parameters(command: str) -> list[inspect.Parameter]:
    """``command``'s options from the options table: one keyword parameter per row that names the command, default
    None ("not given": the command's own default applies), with the row's flag, type and help for that command."""
    from actlab.sweep.options import options_for

    parameters = []
    for option in options_for(command):
        declared = option.flag if option.negation is None else f"{option.flag}/{option.negation}"
        names = (declared,) if option.short is None else (declared, option.short)
        info = typer.Option(*names, help=option.help_text(command))
        annotation = Annotated[Optional[_PYTHON_TYPES[option.type]], info]
        parameters.append(inspect.Parameter(option.key, inspect.Parameter.KEYWORD_ONLY, default=None,
                                            annotation=annotation))
    return parameters


def table_command(command: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command function the training flags of the options table's rows that name ``command``.

    The function declares its own options and a keyword ``table``: it is called with the table's values in
    ``table`` (key → value, None where the flag was not given).  A flag declared by hand that the table also has
    is refused here (and by tests/meta), so every row reaches every command it names.
    """
    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        own = [p for p in inspect.signature(function).parameters.values() if p.name != TABLE_ARGUMENT]
        table = table_parameters(command)
        clash = {p.name for p in own} & {p.name for p in table}
        if clash:
            raise TypeError(f"{command}: {sorted(clash)} come from the options table; do not declare them by hand")
        keys = [p.name for p in table]

        @functools.wraps(function)
        def wrapper(**given: Any) -> Any:
            return function(**{k: v for k, v in given.items() if k not in keys},
                            **{TABLE_ARGUMENT: {k: given.get(k) for k in keys}})

        hints = typing_hints(function)
        parameters = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in own] + table
        wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return wrapper
    return decorate


def typing_hints(function: Callable[..., Any]) -> dict[str, Any]:
    """The function's annotations as objects (its module uses ``from __future__ import annotations``)."""
    import typing

    return typing.get_type_hints(function, include_extras=True)
