"""The export guide's generated parts: every record's declared torch.export / ONNX status (the declarations
``actlab.nn.export.check_export`` verifies in the tests) and the notebook display's plot."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["EXPORT_MARKER", "export_table", "notebook_svg"]

# where docs/guides/export.md receives the table
EXPORT_MARKER = "<!-- export-table -->"


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def export_table(specs: Iterable[Any]) -> str:
    """A Markdown table: one row per record, ✓ where it exports, ✗ and the record's reason where it does not."""
    from actlab.nn.export import OPSET

    specs = sorted(specs, key=lambda spec: spec.name)
    limited = [spec.name for spec in specs if any(spec.export_status().values())]
    lines = [f"{len(specs) - len(limited)} of {len(specs)} records export both ways; "
             f"{', '.join(f'`{name}`' for name in limited) or 'none'} {'does' if len(limited) == 1 else 'do'} not "
             "export to ONNX, for the reason each record gives.", "",
             f"| activation | torch.export | ONNX (opset {OPSET}, onnxruntime) | why not |", "|---|---|---|---|"]
    for spec in specs:
        status = spec.export_status()
        reasons = "; ".join(f"{name}: {reason}" for name, reason in status.items() if reason)
        marks = ["✓" if not status[name] else "✗" for name in ("torch.export", "onnx")]
        lines.append(f"| [{spec.name}](../catalog/{spec.name}.md) | {marks[0]} | {marks[1]} | {_cell(reasons)} |")
    return "\n".join(lines) + "\n"


def notebook_svg(name: str) -> str:
    """The plot a record's notebook display draws (``ActivationSpec._repr_html_``), as an SVG file."""
    import actlab
    from actlab.spec_html import svg_plot

    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg_plot(actlab.get(name)) + "\n"
