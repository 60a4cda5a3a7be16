"""The documentation site's generated pages, built from what they describe.

Every page here is derived from code or data, never typed by hand: one page per catalog record (its formula,
plots of f and f′, parameters, kinks, computed properties, init, references, framework equivalents), the catalog
index and gallery, the CLI reference (from the Typer app and the options table), the store schema (from the
migrations), the benchmarks (from the JSON files in ``docs/benchmarks/``) and the figures the guides and
tutorials show that are cheap to draw.

The mkdocs-gen-files script ``docs/gen_pages.py`` calls :func:`generate` with a writer; anything that needs the
CLI (a higher layer) is passed in by that script, so this package imports only downward.
"""
from __future__ import annotations

from actlab.docsgen.site import Writer, generate

__all__ = ["Writer", "generate"]
