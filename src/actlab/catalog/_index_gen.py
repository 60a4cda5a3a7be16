"""Regenerate :mod:`actlab.catalog.index` from the catalog records: ``python -m actlab.catalog._index_gen``."""
from __future__ import annotations

from pathlib import Path

from actlab.catalog import BUILTIN

HEADER = '''"""The catalog's names, aliases, families and summaries as plain data, for ``actlab list`` (no torch import).

Generated from the records by ``python -m actlab.catalog._index_gen``; a test checks it equals them.
"""
from __future__ import annotations

INDEX: tuple[tuple[str, tuple[str, ...], str, str], ...] = (  # (name, aliases, family, summary)
'''


def render() -> str:
    rows = "".join(f"    ({s.name!r}, {tuple(s.aliases)!r}, {s.family!r}, {s.summary!r}),\n" for s in BUILTIN)
    return HEADER + rows + ")\n"


if __name__ == "__main__":
    Path(__file__).with_name("index.py").write_text(render(), encoding="utf-8")
