"""A record's notebook display (``ActivationSpec._repr_html_``): formula, a small f / f′ plot, declared properties.

Everything shown is read from the record or computed with its own ``forward`` and ``slope``: the plot is an
inline SVG of ~160 float64 evaluations (no matplotlib), and the properties are the ones the record carries:
family, parameters, kinks and their convention, the recommended init, trainability, export status and the
``expected`` properties a catalog record states (each checked against :mod:`actlab.analysis` by the catalog
tests).  This module sits in the record layer beside :mod:`actlab.spec`, so it computes no property analysis
itself, and it takes the record as an argument rather than importing :mod:`actlab.spec` (no cycle).
"""
from __future__ import annotations

import math
from html import escape
from typing import Any

import torch

__all__ = ["spec_html", "svg_plot", "export_text", "WINDOW"]

WINDOW = (-4.0, 4.0)  # the plotted x range (cut to the record's domain)
POINTS = 121  # evaluations per curve
WIDTH, HEIGHT, PAD = 240, 130, 6
Y_LIMIT = 6.0  # |y| beyond this is off the plot (exp, cube): the curve breaks there instead of flattening the rest
COLOURS = {"f": "#1f5fa8", "df": "#d9611c"}


def _number(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.4g}".replace("-", "−")


def _curves(spec: Any) -> tuple[list[float], list[float], list[float]]:
    low = max(WINDOW[0], spec.domain[0])
    high = min(WINDOW[1], spec.domain[1])
    xs = torch.linspace(low, high, POINTS, dtype=torch.float64)
    xs = xs[(xs > spec.domain[0]) & (xs < spec.domain[1])]  # the domain is open
    params = spec.resolve()
    with torch.no_grad():
        f = spec.forward(xs, **params)
        df = spec.slope(xs, **params)
    return xs.tolist(), f.tolist(), df.tolist()


def _path(xs: list[float], ys: list[float], to_x: Any, to_y: Any, low: float, high: float) -> str:
    """An SVG path through the points, broken where y is not finite or off the plot."""
    parts: list[str] = []
    pen_down = False
    for x, y in zip(xs, ys):
        if not (math.isfinite(y) and low <= y <= high):
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{to_x(x):.1f},{to_y(y):.1f}")
        pen_down = True
    return " ".join(parts)


def svg_plot(spec: Any) -> str:
    """f (solid) and f′ (dashed) of an elementwise record on :data:`WINDOW`, as an inline ``<svg>`` element."""
    xs, f, df = _curves(spec)
    finite = [y for y in f + df if math.isfinite(y)]
    low = max(min(finite, default=-1.0), -Y_LIMIT)
    high = min(max(finite, default=1.0), Y_LIMIT)
    if high - low < 1e-9:
        low, high = low - 1.0, high + 1.0
    low, high = low - 0.05 * (high - low), high + 0.05 * (high - low)
    x_low, x_high = xs[0], xs[-1]

    def to_x(x: float) -> float:
        return PAD + (x - x_low) / (x_high - x_low) * (WIDTH - 2 * PAD)

    def to_y(y: float) -> float:
        return HEIGHT - PAD - (y - low) / (high - low) * (HEIGHT - 2 * PAD)

    axes = []
    if low < 0 < high:
        axes.append(f'<line x1="{PAD}" y1="{to_y(0):.1f}" x2="{WIDTH - PAD}" y2="{to_y(0):.1f}" stroke="#bbb"/>')
    if x_low < 0 < x_high:
        axes.append(f'<line x1="{to_x(0):.1f}" y1="{PAD}" x2="{to_x(0):.1f}" y2="{HEIGHT - PAD}" stroke="#bbb"/>')
    f_path = _path(xs, f, to_x, to_y, low, high)
    df_path = _path(xs, df, to_x, to_y, low, high)
    title = f"{spec.name}: f (solid) and f′ (dashed) for x in [{_number(x_low)}, {_number(x_high)}]"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img"><title>{escape(title)}</title>'
        + "".join(axes)
        + f'<path d="{df_path}" fill="none" stroke="{COLOURS["df"]}" stroke-width="1.3" stroke-dasharray="4 3"/>'
        + f'<path d="{f_path}" fill="none" stroke="{COLOURS["f"]}" stroke-width="1.8"/>'
        + f'<text x="{PAD}" y="{HEIGHT - 1}" font-size="9" fill="#666">y in [{_number(low)}, {_number(high)}]</text>'
        + f'<text x="{PAD}" y="14" font-size="10" fill="{COLOURS["f"]}">f</text>'
        + f'<text x="{PAD + 10}" y="14" font-size="10" fill="{COLOURS["df"]}">f′ (dashed)</text>'
        + "</svg>"
    )


def _properties(spec: Any) -> list[tuple[str, str]]:
    rows = [("family", f"{spec.family} ({spec.kind})")]
    if spec.params:
        rows.append(("parameters", ", ".join(
            f"{p.name} = {p.default:g}{' (learnable)' if p.learnable else ''}" for p in spec.params)))
    kinks = spec.kink_points()
    if kinks:
        rows.append(("kinks", f"x = {', '.join(_number(k) for k in kinks)}"
                              + (f": {spec.kink_convention}" if spec.kink_convention else "")))
    if spec.kind == "elementwise":
        zero = torch.zeros(1, dtype=torch.float64)
        if spec.domain[0] < 0 < spec.domain[1]:
            params = spec.resolve()
            with torch.no_grad():
                rows.append(("at 0", f"f(0) = {_number(spec.forward(zero, **params).item())}, "
                                     f"f′(0) = {_number(spec.slope(zero, **params).item())}"))
    if spec.expected:
        stated = [key.replace("_", " ") + ("" if value is True else ": no" if value is False else f" {_number(value)}")
                  for key, value in spec.expected.items()]
        rows.append(("properties (stated by the record, checked against actlab.analysis)", ", ".join(stated)))
    rows.append(("recommended init", f"{spec.init.scheme}: {spec.init.reason}"))
    rows.append(("trainable by backprop", "yes" if spec.trainable else "no (zero gradient almost everywhere)"))
    rows.append(("export", export_text(spec)))
    return rows


def export_text(spec: Any) -> str:
    """``torch.export ✓ · ONNX ✗ (reason)``: the record's declared export status, for people."""
    labels = {"torch.export": "torch.export", "onnx": "ONNX"}
    return " · ".join(f"{labels[name]} ✓" if not reason else f"{labels[name]} ✗ ({reason})"
                      for name, reason in spec.export_status().items())


def spec_html(spec: Any) -> str:
    """The record as an HTML fragment (well-formed XML: a notebook, a web page or an XML parser reads it)."""
    aliases = f' <span style="color:#666">({escape(", ".join(spec.aliases))})</span>' if spec.aliases else ""
    formula = spec.expression if spec.source == "formula" and spec.expression else spec.formula
    plot = (svg_plot(spec) if spec.kind == "elementwise" else
            f"<p><i>{escape(spec.name)} is a {escape(spec.kind)} activation (it mixes units): no 1-D plot.</i></p>")
    rows = "".join(f'<tr><th style="text-align:left;padding-right:1em">{escape(key)}</th>'
                   f'<td style="text-align:left">{escape(value)}</td></tr>' for key, value in _properties(spec))
    return (
        '<div class="actlab-spec">'
        f"<p><b>{escape(spec.name)}</b>{aliases}: {escape(spec.summary)}</p>"
        f"<p>f(x) = <code>{escape(formula)}</code><br/>f′(x) = <code>{escape(spec.derivative_formula)}</code></p>"
        f"{plot}"
        f"<table>{rows}</table>"
        "</div>"
    )
