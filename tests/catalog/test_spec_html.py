"""``ActivationSpec._repr_html_``: well-formed HTML with the name, the formula, an inline SVG of f and f′ drawn from
the record, and the properties the record carries (export status included)."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

import actlab
from actlab.catalog import BUILTIN
from actlab.spec_html import HEIGHT, PAD, WIDTH

SVG = "{http://www.w3.org/2000/svg}"
FORMULAS = ("x*sigmoid(1.702*x)", "log(x)", "where(x > 1, x, exp(x - 1))")


def _parse(spec) -> ET.Element:
    return ET.fromstring(spec._repr_html_())  # raises on anything that is not well-formed


def _text(root: ET.Element) -> str:
    return " ".join(" ".join(root.itertext()).split())


def _points(root: ET.Element, colour: str) -> list[tuple[float, float]]:
    (path,) = [p for p in root.iter(f"{SVG}path") if p.get("stroke") == colour]
    return [(float(x), float(y)) for x, y in re.findall(r"[ML]([\d.]+),([\d.]+)", path.get("d"))]


@pytest.mark.parametrize("name", [spec.name for spec in BUILTIN] + list(FORMULAS))
def test_html_is_well_formed_with_name_formula_and_plot(name: str) -> None:
    spec = actlab.get(name)
    root = _parse(spec)
    text = _text(root)
    assert spec.name in text
    for formula in (spec.expression or spec.formula, spec.derivative_formula):
        assert " ".join(formula.split()) in text
    assert "export" in text and "recommended init" in text
    svgs = list(root.iter(f"{SVG}svg"))
    if spec.kind == "elementwise":
        assert len(svgs) == 1
        assert len(_points(root, "#1f5fa8")) > 20  # f drawn
    else:
        assert not svgs and "mixes units" in text


def test_the_plot_is_the_records_function() -> None:
    """relu's curve: flat on the horizontal axis left of the vertical axis, then a straight rising line."""
    root = _parse(actlab.get("relu"))
    (axis_y, axis_x) = [root.find(f"{SVG}svg/{SVG}line[{i}]") for i in (1, 2)]
    zero_y, zero_x = float(axis_y.get("y1")), float(axis_x.get("x1"))
    points = _points(root, "#1f5fa8")
    left = [y for x, y in points if x < zero_x - 1]
    right = [(x, y) for x, y in points if x > zero_x + 1]
    assert left and all(abs(y - zero_y) < 0.06 for y in left)
    slopes = {round((y - zero_y) / (x - zero_x), 1) for x, y in right}
    assert len(slopes) == 1 and slopes.pop() < 0  # one slope, upward on screen (y grows downward)
    assert all(PAD - 0.1 <= x <= WIDTH - PAD + 0.1 and PAD - 0.1 <= y <= HEIGHT - PAD + 0.1 for x, y in points)


def test_the_curve_breaks_off_the_plot_instead_of_flattening() -> None:
    root = _parse(actlab.get("exponential"))  # exp(4) ≈ 55 is far above the plotted range
    (path,) = [p for p in root.iter(f"{SVG}path") if p.get("stroke") == "#1f5fa8"]
    xs = [float(x) for x in re.findall(r"[ML]([\d.]+),", path.get("d"))]
    assert max(xs) < WIDTH / 2 + 60  # the right part, where exp leaves the plot, is not drawn


def test_properties_are_the_records() -> None:
    text = _text(_parse(actlab.get("log_sigmoid")))
    assert "ONNX ✗ (torch's ONNX exporter writes Log(Sigmoid(x))" in text and "torch.export ✓" in text
    assert "stated by the record" in text and "monotonic" in text
    assert "f(0) = −0.6931" in text  # log σ(0) = −log 2
    relu = _text(_parse(actlab.get("relu")))
    assert "kinks x = 0" in relu and "ONNX ✓" in relu
    prelu = _text(_parse(actlab.get("prelu")))
    assert "(learnable)" in prelu


def test_formula_shows_what_the_user_typed_and_escapes_it() -> None:
    spec = actlab.get("where(x > 1, x, exp(x - 1))")
    html = spec._repr_html_()
    assert "where(x &gt; 1, x, exp(x - 1))" in html
    assert "<svg" in html and "x &gt; 1" in html
    root = _parse(actlab.get("log(x)"))
    points = _points(root, "#1f5fa8")
    assert len(points) > 20  # drawn on the domain x > 0 only
