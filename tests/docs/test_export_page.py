"""The export guide's table is generated from the records' declarations: one row per record, ✗ and the record's
reason exactly where it declares a limit; the built guide shows it (with the notebook plot)."""
from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET

import pytest

import actlab
from actlab.catalog import BUILTIN
from actlab.docsgen.export import export_table, notebook_svg


def _rows(table: str) -> dict[str, list[str]]:
    rows = {}
    for line in table.splitlines():
        match = re.match(r"\| \[(\w+)\]\(\.\./catalog/\w+\.md\) \| (.*) \|$", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split(" | ")]
    return rows


def test_one_row_per_record_with_the_declared_status() -> None:
    rows = _rows(export_table(BUILTIN))
    assert set(rows) == {spec.name for spec in BUILTIN}
    for spec in BUILTIN:
        status = spec.export_status()
        torch_mark, onnx_mark, why = rows[spec.name]
        assert torch_mark == ("✗" if status["torch.export"] else "✓")
        assert onnx_mark == ("✗" if status["onnx"] else "✓")
        assert (why == "") == (not any(status.values()))
    assert "torch.hypot" in rows["bent_identity"][2]


def test_a_new_declaration_shows_up() -> None:
    relu = dataclasses.replace(actlab.get("relu"), export_limits={"torch.export": "a | pipe"})
    (row,) = _rows(export_table([relu])).values()
    assert row[:2] == ["✗", "✗"] and "a / pipe" in row[2]  # the ONNX exporter starts from torch.export
    assert export_table([relu]).startswith("0 of 1 records export both ways; `relu` does not")


def test_notebook_figure_is_an_svg_file() -> None:
    root = ET.fromstring(notebook_svg("quick_gelu").split("\n", 1)[1])
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


@pytest.mark.slow
@pytest.mark.xdist_group("docs-site")
def test_built_guide_has_the_table_and_the_figure(built_site) -> None:
    page = (built_site / "guides" / "export" / "index.html").read_text(encoding="utf-8")
    assert "Every record" in page and "bent_identity" in page and "Log(Sigmoid(x))" in page
    assert (built_site / "img" / "notebook_quick_gelu.svg").is_file()
