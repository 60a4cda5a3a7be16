"""The CLI reference page, read from the command definitions and the options table.

The caller passes the Click group that Typer builds from ``actlab.cli.app`` (the CLI is a higher layer than this
package); every command, subcommand, argument and option it declares appears on the page with its help text and
default, and the training options' own table (:data:`actlab.sweep.options.OPTIONS`) follows, so the page cannot
drift from the code.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["cli_page", "walk_commands", "option_names"]


def walk_commands(group: Any, prefix: str = "actlab") -> Iterator[tuple[str, Any]]:
    """Every (full command path, Click command) under ``group``, sorted by name, groups before their children."""
    commands = getattr(group, "commands", {})
    for name in sorted(commands):
        command = commands[name]
        if getattr(command, "hidden", False):
            continue
        path = f"{prefix} {name}"
        yield path, command
        if getattr(command, "commands", None):
            yield from walk_commands(command, path)


def option_names(command: Any) -> list[str]:
    """The option strings (``--width``, ``-o``) and argument names a Click command declares."""
    names: list[str] = []
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        if param.param_type_name == "argument":
            names.append(param.name.upper())
        else:
            names.extend([*param.opts, *param.secondary_opts])
    return names


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|").replace("\n", " ")


def _anchor(path: str) -> str:
    return path.replace(" ", "-")


def _context(command: Any, path: str) -> Any:
    """A parsing context for ``command`` (its own context class: Typer ships its own copy of Click)."""
    return command.context_class(command, info_name=path)


def _type(param: Any, context: Any) -> str:
    return param.display_type(context).strip("<>") if hasattr(param, "display_type") else ""


def _help(command: Any) -> str:
    return (command.help or command.short_help or "").strip()


def cli_page(group: Any, options: Any = ()) -> str:
    """The Markdown CLI reference for the Click ``group`` (and the training ``options`` table, if given)."""
    lines = ["# CLI reference", "",
             "Generated from the command definitions (`actlab --help` and each command's `--help` say the same). "
             "Anywhere an activation name is accepted, a formula in `x` works too; bad input exits with code 2 and "
             "a message naming the problem.", ""]
    root_options = option_names(group)
    if root_options:
        lines += ["`actlab` itself takes " + ", ".join(f"`{o}`" for o in root_options) + ".", ""]
    commands = list(walk_commands(group))
    lines += ["| command | what it does |", "|---|---|"]
    for path, command in commands:
        summary = _help(command).split("\n\n")[0]
        lines.append(f"| [`{path}`](#{_anchor(path)}) | {_escape(summary)} |")
    lines.append("")
    for path, command in commands:
        lines += [f"## `{path}` {{#{_anchor(path)}}}", ""]
        text = _help(command)
        if text:
            lines += [_escape_block(text), ""]
        usage = " ".join(command.collect_usage_pieces(_context(command, path)))
        lines += ["```text", f"{path} {usage}".rstrip(), "```", ""]
        params = [p for p in command.params if not getattr(p, "hidden", False)]
        if params:
            context = _context(command, path)
            lines += ["| option | help |", "|---|---|"]
            for param in params:
                if param.param_type_name == "argument":
                    names = f"`{param.name.upper()}` ({_type(param, context)})"
                    help_text = "argument" + (", required" if param.required else ", optional")
                else:
                    names, help_text = param.get_help_record(context) or (", ".join(param.opts), "")
                    names = f"`{names}`"
                lines.append(f"| {_escape(names)} | {_escape(help_text)} |")
            lines.append("")
    if options:
        lines += _options_table(options)
    return "\n".join(lines)


def _escape_block(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _options_table(options: Any) -> list[str]:
    lines = ["## The training options table {#options-table}", "",
             "Every training option lives once in `actlab.sweep.options.OPTIONS`: the training commands' flags "
             "(each row names the commands that take it), the TOML keys of `--config`, the reproduce command and "
             "validation are all read from it. *Fingerprint*: changing the option changes the results, so a stored "
             "sweep with another value is a different sweep (options outside it, such as the engine, can change on "
             "`--resume`).", "",
             "| TOML key | flag | type | default | fingerprint | commands | help |", "|---|---|---|---|---|---|---|"]
    for option in options:
        default = option.default_text
        if default is None and option.default is not None:
            default = ",".join(map(str, option.default)) if isinstance(option.default, (list, tuple)) else str(
                option.default)
        lines.append(f"| `{option.key}` | `{option.flag}` | {option.type} | {_escape(default or '')} | "
                     f"{'yes' if option.identity else 'no'} | {', '.join(getattr(option, 'commands', ('compare',)))} | "
                     f"{_escape(option.help)} |")
    lines.append("")
    return lines
