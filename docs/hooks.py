"""mkdocs hook: the docstrings use reST cross-reference roles (:class:`X`), which Markdown leaves as text; the
API pages show the name alone, as code."""
from __future__ import annotations

import re

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|exc|obj|const):(?=<code>)")


def on_page_content(html: str, **kwargs) -> str:
    return _ROLE.sub("", html)
