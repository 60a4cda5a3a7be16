"""mkdocs-gen-files script: writes the generated pages (catalog, references, benchmarks, figures).

The generator lives in ``actlab.docsgen``; the CLI pieces (the Click group and a command runner) are handed to it
from here, because the CLI sits above the generator in the layer table.
"""
from __future__ import annotations

import logging
from pathlib import Path

import mkdocs_gen_files
import typer
from typer.testing import CliRunner

from actlab.cli import app
from actlab.docsgen import generate

log = logging.getLogger("mkdocs.plugins.actlab")
ROOT = Path(__file__).resolve().parent.parent


def write(path: str, content: str | bytes) -> None:
    with mkdocs_gen_files.open(path, "wb" if isinstance(content, bytes) else "w") as handle:
        handle.write(content)


def run_cli(args) -> str:
    result = CliRunner().invoke(app, list(args), prog_name="actlab")
    if result.exit_code != 0:
        raise RuntimeError(f"actlab {' '.join(args)} exited {result.exit_code}: {result.output}")
    return result.stdout


generate(write, docs_dir=ROOT / "docs", repo_root=ROOT, cli_group=typer.main.get_command(app), run_cli=run_cli,
         log=log.info)
