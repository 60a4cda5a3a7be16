"""``actlab demo``: the main job (``make demo``) — the default comparison into ``runs/demo``."""
from __future__ import annotations

from typing import Annotated

import typer

from actlab.cli.app import app

DEMO_OUT = "runs/demo"


@app.command("demo")
def demo_command(
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress display.")] = False,
) -> None:
    """Compare the default activations on MNIST (3 seeds) into runs/demo and write the report.

    Resumes when runs/demo already holds the sweep (finished runs are skipped).
    """
    from actlab.cli.compare import run_compare

    resume = False
    from actlab.store import is_store

    if is_store(DEMO_OUT):
        resume = True
    code = run_compare({"out": DEMO_OUT}, config_file=None, resume=resume, quiet=quiet, json=False,
                       command="actlab demo")
    if code:
        raise typer.Exit(code)
