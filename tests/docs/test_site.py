"""The generated site: one page per catalog record, a complete CLI reference, every figure present, no CDN."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
import typer

from actlab.catalog import BUILTIN
from actlab.cli import app
from actlab.docsgen.cli_reference import option_names, walk_commands
from actlab.docsgen.figures import FIGURES
from actlab.docsgen.reference import BENCHMARK_FIELDS
from actlab.sweep.options import OPTIONS

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("docs-site")]

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = ("what-a-net-learns", "vanishing-exploding", "self-normalising", "which-activation")


def _page(site: Path, path: str) -> str:
    return (site / path / "index.html").read_text(encoding="utf-8")


def _images(page_html: str) -> list[str]:
    return re.findall(r'<img[^>]*\bsrc="([^"]+)"', page_html)


def _resolve(site: Path, page: str, src: str) -> Path:
    return (site / page / src).resolve()


def test_one_page_per_catalog_record_with_its_plot_and_formula(built_site):
    pages = {p.parent.name for p in (built_site / "catalog").glob("*/index.html")}
    assert pages == {spec.name for spec in BUILTIN}, "a generated page per record, and no other"
    for spec in BUILTIN:
        page = _page(built_site, f"catalog/{spec.name}")
        images = [src for src in _images(page) if src.endswith(f"/{spec.name}.png")]
        assert images, f"{spec.name}: no <img> of f and f'"
        image = _resolve(built_site, f"catalog/{spec.name}", images[0])
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.stat().st_size > 5_000, image
        assert html.escape(spec.formula, quote=False) in page, f"{spec.name}: the plain formula is missing"
        if spec.latex:
            assert 'class="arithmatex"' in page
            assert html.escape(spec.latex, quote=False) in page, f"{spec.name}: the LaTeX formula is missing"
        for param in spec.params:
            assert f"<code>{param.name}</code>" in page, f"{spec.name}: parameter {param.name} missing"
        assert spec.init.scheme in page


def test_catalog_index_links_every_record_in_table_and_gallery(built_site):
    page = _page(built_site, "catalog")
    for spec in BUILTIN:
        assert page.count(f'href="{spec.name}/"') >= 2, f"{spec.name} missing from the table or the gallery"
    assert 'class="actlab-sortable"' in page


def test_every_cli_command_and_option_is_on_the_reference_page(built_site):
    page = html.unescape(_page(built_site, "reference/cli"))
    commands = list(walk_commands(typer.main.get_command(app)))
    assert len(commands) >= 17
    for path, command in commands:
        assert path in page, f"{path} missing from the CLI reference"
        for name in option_names(command):
            assert name in page, f"{path}: {name} missing from the CLI reference"
    for option in OPTIONS:
        assert option.flag in page and f"<code>{option.key}</code>" in page, option.key


def test_every_tutorial_has_its_figures(built_site):
    for name in TUTORIALS:
        page = _page(built_site, f"tutorials/{name}")
        images = _images(page)
        assert len(images) >= 2, f"tutorial {name} shows {len(images)} figure(s)"
        for src in images:
            path = _resolve(built_site, f"tutorials/{name}", src)
            assert path.is_file() and path.stat().st_size > 5_000, f"{name}: figure {src} missing"
    for figure in FIGURES:  # the committed figures make docs-figures draws
        assert (ROOT / "docs" / "figures" / f"{figure.name}.png").is_file(), figure.name


def test_every_guide_shows_a_picture(built_site):
    for guide in sorted((ROOT / "docs" / "guides").glob("*.md")):
        page = _page(built_site, f"guides/{guide.stem}")
        images = _images(page)
        assert images, guide.name
        for src in images:
            assert _resolve(built_site, f"guides/{guide.stem}", src).is_file(), (guide.name, src)


def test_benchmarks_page_reads_every_data_file_with_its_provenance(built_site):
    page = html.unescape(re.sub(r"<[^>]+>", "", _page(built_site, "benchmarks")))  # the text, highlighting stripped
    files = sorted((ROOT / "docs" / "benchmarks").glob("*.json"))
    assert len(files) >= 10
    for path in files:
        record = json.loads(path.read_text(encoding="utf-8"))
        assert all(record.get(field) not in (None, "") for field in BENCHMARK_FIELDS if field != "tables"), path.name
        for field in ("title", "date", "machine", "command"):
            assert record[field] in page, (path.name, field)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", record["date"]), path.name


def test_reference_pages_are_generated_from_code(built_site):
    from actlab.analysis.fields import FIELDS
    from actlab.store.migrations import SCHEMA_VERSION

    store = _page(built_site, "reference/store")
    for table in ("sweep", "runs", "epochs", "results", "layer_stats", "clipping", "extensions"):
        assert f"<code>{table}</code>" in store
    assert f"schema version <strong>{SCHEMA_VERSION}</strong>" in store
    properties = _page(built_site, "reference/properties")
    assert all(f"<code>{field}</code>" in properties for field in FIELDS)
    api = _page(built_site, "reference/api")
    assert "ActivationSpec" in api and "plot_activations" in api
    assert not re.search(r":(class|func|meth|mod|data):<code>", api), "a reST role left as text"
    changelog = _page(built_site, "changelog")
    assert "0.1.0" in changelog


def test_the_site_loads_nothing_from_another_host(built_site):
    external = re.compile(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//', re.I)
    for page in built_site.rglob("*.html"):
        assert not external.search(page.read_text(encoding="utf-8")), f"{page} loads from another host"
    mathjax = built_site / "assets" / "mathjax" / "tex-svg.js"
    assert mathjax.stat().st_size > 1_000_000
