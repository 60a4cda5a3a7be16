"""actlab's command line: thin commands over the library.

Each command module registers itself on :data:`actlab.cli.app.app`; ``main``
turns bad input (:class:`actlab.errors.ActlabError`) into a one-line message
and exit code 2, never a traceback.
"""
from __future__ import annotations

from actlab.cli import analysis as _analysis  # noqa: F401  props, plot

# command modules (each registers its commands on import)
from actlab.cli import boundary as _boundary  # noqa: F401  boundary
from actlab.cli import catalog as _catalog  # noqa: F401  list, show, eval
from actlab.cli import compare as _compare  # noqa: F401  compare, report, export
from actlab.cli import data as _data  # noqa: F401  data list/show
from actlab.cli import demo as _demo  # noqa: F401  demo
from actlab.cli import diagnose as _diagnose  # noqa: F401  diagnose
from actlab.cli import formula as _formula  # noqa: F401  define
from actlab.cli import playground as _playground  # noqa: F401  playground
from actlab.cli import recommend as _recommend  # noqa: F401  recommend
from actlab.cli import search as _search  # noqa: F401  search
from actlab.cli import selfnorm as _selfnorm  # noqa: F401  selfnorm
from actlab.cli import signal as _signal  # noqa: F401  signal
from actlab.cli import tune as _tune  # noqa: F401  tune
from actlab.cli.app import app, err_console
from actlab.errors import ActlabError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``actlab`` console script; returns the exit code.

    Usage errors (unknown option, missing argument) are reported by Typer with
    exit code 2; :class:`ActlabError` (bad values, unknown names) likewise.
    """
    try:
        app(args=argv, prog_name="actlab")
    except SystemExit as done:
        code = done.code
        if code is None:
            return 0
        return code if isinstance(code, int) else 1
    except ActlabError as error:
        from rich.markup import escape  # a message may hold brackets: pip install 'actlab[ray]'

        err_console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    return 0
