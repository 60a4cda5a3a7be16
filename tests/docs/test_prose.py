"""README, docs and source speak about the project as it is: no development-history narration; the README is a
front door of at most 200 lines whose pictures and links exist."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# what the docs promise never appears in README.md, docs/ or src/ (the playground's web sessions are fine)
HISTORY = re.compile(r"issue [0-9]+|(first|second|third|this|last) session|not lent", re.IGNORECASE)
TEXT = {".md", ".py", ".js", ".css", ".html", ".json", ".yml", ".yaml", ".toml", ".txt", ".sql", ".j2"}


def _files():
    yield ROOT / "README.md"
    for folder in ("docs", "src"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and not any(p.endswith(".egg-info") for p in path.parts):
                yield path


def test_no_history_narration_in_readme_docs_or_source():
    found = []
    for path in _files():
        data = path.read_bytes()
        if path.suffix not in TEXT and b"\0" in data[:4096]:
            text = data.decode("latin-1")  # binary files: grep scans them too
        else:
            text = data.decode("utf-8")
        for number, line in enumerate(text.splitlines(), start=1):
            if HISTORY.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not found, "\n".join(found)


def test_readme_is_a_front_door():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) <= 200, f"README has {len(lines)} lines"
    for heading in ("## Layout", "## Recipes"):
        assert heading in lines, heading
    assert text.count("<!-- layers:start -->") == 1 and text.count("<!-- layers:end -->") == 1
    for command in ("make demo", "make test", "make docs"):
        assert command in text
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        assert (ROOT / target).exists(), f"README links to {target}, which does not exist"
    screenshots = re.findall(r"!\[[^\]]*\]\((docs/screenshots/[^)]+)\)", text)
    assert len(screenshots) >= 2, "the catalog index and the GELU page screenshots"
