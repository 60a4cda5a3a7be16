"""``actlab demo``: the main job (``make demo``)."""
from __future__ import annotations

from actlab.cli.app import app
from actlab.cli.catalog import list_command


@app.command("demo")
def demo_command() -> None:
    """Run the main job: print the catalog (until the comparison engine lands)."""
    list_command(json=False)
