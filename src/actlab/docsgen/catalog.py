"""One page per activation record, the catalog index (a sortable property table) and the gallery.

Everything on these pages is read from the :class:`~actlab.spec.ActivationSpec` record, the computed
property table (:func:`actlab.analysis.properties`), the framework equivalents
(:mod:`actlab.catalog.equivalents`) and the stored measurements (``docs/benchmarks/``); the plots are drawn
by :func:`actlab.analysis.plots.plot_activations`, the same function as ``actlab plot``.
"""
from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from actlab.catalog.equivalents import equivalents_for
from actlab.spec import ActivationSpec

__all__ = ["activation_page", "index_page", "plot_png", "PROPERTY_COLUMNS", "page_path", "image_path"]

# the property columns of the index table (name, header, tooltip)
PROPERTY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("range_min", "min f", "inf of f over its domain"),
    ("range_max", "max f", "sup of f over its domain"),
    ("monotonic", "monotonic", "f non-decreasing or non-increasing"),
    ("smooth", "smooth", "f, f′ and f″ continuous"),
    ("derivative_max", "max f′", "sup of f′"),
    ("vanishing_risk", "vanishing", "max |f′| < 1"),
    ("dead_region", "dead region", "f′ exactly 0 on a half-line"),
    ("sparsity", "P[f(Z) = 0]", "share of exact zeros for Z ~ N(0, 1)"),
    ("gaussian_mean", "E f(Z)", "mean of f(Z), Z ~ N(0, 1)"),
    ("gaussian_variance", "Var f(Z)", "variance of f(Z), Z ~ N(0, 1)"),
    ("self_normalizing", "self-normalising", "(0, 1) is a fixed point of the mean/variance map"),
)

# the longer explanations of the fields shown on each activation page
FIELD_HELP: dict[str, str] = {
    "range_min": "inf of f over its domain",
    "range_max": "sup of f over its domain",
    "monotonic": "f is non-decreasing or non-increasing",
    "continuous": "no jump in f",
    "differentiable": "f is C¹ (f′ finite, no jump)",
    "kinks": "computed x where f or f′ jumps",
    "smooth": "f″ finite without jumps (a numerical stand-in for C∞)",
    "zero_at_origin": "f(0) = 0",
    "identity_near_origin": "f(0) = 0 and f′(0) = 1, no kink at 0",
    "derivative_min": "inf of f′",
    "derivative_max": "sup of f′",
    "argmax_derivative": "the x nearest 0 where f′ is largest",
    "bounded_derivative": "both extremes of f′ finite",
    "vanishing_risk": "max |f′| < 1",
    "exploding_risk": "f′ unbounded",
    "saturation_low": "x below which |f′| stays under 1 % of its max",
    "saturation_high": "x above which |f′| stays under 1 % of its max",
    "dead_region": "f′ exactly 0 on a half-line",
    "sparsity": "P[f(Z) = 0], Z ~ N(0, 1)",
    "gaussian_mean": "E f(Z), Z ~ N(0, 1)",
    "gaussian_second_moment": "E f(Z)²",
    "gaussian_variance": "Var f(Z)",
    "gaussian_mean_derivative": "E f′(Z)",
    "self_normalizing": "E f(Z) = 0 and Var f(Z) = 1",
}


def page_path(name: str) -> str:
    """Where the page of activation ``name`` lives in the site (relative to the docs root)."""
    return f"catalog/{name}.md"


def image_path(name: str) -> str:
    """The f/f′ plot of activation ``name`` (relative to the docs root)."""
    return f"catalog/img/{name}.png"


def plot_png(spec: ActivationSpec, *, dpi: int = 80) -> bytes:
    """f and f′ of ``spec`` side by side, as a small PNG (the figure of ``actlab plot NAME``)."""
    from actlab.analysis.plots import plot_activations

    figure = plot_activations(spec)
    figure.set_size_inches(9.0, 3.6)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def format_value(value: Any) -> str:
    """A property value as the tables print it (short floats, ∞, yes/no, — for none)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if math.isnan(value):
            return "nan"
        return f"{value:.4g}".replace("-", "−")
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value) if value else "none"
    return str(value)


def _sort_key(value: Any) -> str:
    """The ``data-sort`` attribute of a table cell: numbers sort as numbers, booleans as 0/1."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        if math.isnan(value):
            return ""
        return repr(float(value)) if math.isfinite(value) else ("1e308" if value > 0 else "-1e308")
    return "" if value is None else str(value)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return _escape(text).replace("|", "\\|").replace("\n", " ")


def _math(latex: str) -> str:
    """A display-math block for arithmatex (MathJax renders it in the browser, from the site's own copy)."""
    return f"\\[\n{latex}\n\\]"


def activation_page(spec: ActivationSpec, properties: Mapping[str, Any], measured: Sequence[Mapping[str, Any]] = ()
                    ) -> str:
    """The Markdown page of one activation record.

    ``properties`` is the computed property table (``Properties.to_dict()``); ``measured`` the stored
    benchmark rows that name this activation (each with ``title``, ``page``, ``columns``, ``row``).
    """
    info = spec.describe()
    lines = [f"# {spec.name}", "", _escape(spec.summary), ""]
    facts = [f"family **{spec.family}**", f"kind **{spec.kind}**"]
    if spec.aliases:
        facts.insert(0, "aliases " + ", ".join(f"`{a}`" for a in spec.aliases))
    if not spec.trainable:
        facts.append("**not trainable** (its derivative is 0 almost everywhere)")
    lines += ["; ".join(facts) + ".", ""]

    lines += ["## Formula", ""]
    if spec.latex:
        lines += [_math(f"f(x) = {spec.latex}"), ""]
    if spec.derivative_latex:  # a Jacobian (vector kinds) names its own left-hand side
        prefix = "" if "\\partial" in spec.derivative_latex else "f'(x) = "
        lines += [_math(prefix + spec.derivative_latex), ""]
    lines += ["As code (what `actlab show` prints):", "", "```text",
              f"f(x)  = {spec.formula}", f"f'(x) = {spec.derivative_formula}", "```", ""]
    if spec.kind == "gated":
        lines += ["A two-input unit y = value · act(gate) on the two halves of its input. The plots show the gate "
                  "x ↦ act(x) (the unit with its value half held at 1) and its derivative; the property table says "
                  "which properties carry over from the gate, which do not apply, and gives the Gaussian moments "
                  "for independent halves.", ""]
    elif spec.kind != "elementwise":
        lines += ["The plots and the property table describe the scalar slice x ↦ f([x, 0, …])[0] (the other inputs "
                  "held at 0); the derivative shown is the diagonal ∂y_i/∂x_i.", ""]
    lines += [f"![f and f′ of {spec.name}](img/{spec.name}.png)", "",
              "*f (left) and f′ (right) with the default parameters; shaded: |f′| below 1 % of its maximum; "
              "circles: kinks (open on f′: the declared value there). Drawn by `actlab plot "
              f"{spec.name}`.*", ""]

    lines += ["## Parameters", ""]
    if info["params"]:
        lines += ["| parameter | default | allowed range | learnable | what it does | source of the default |",
                  "|---|---|---|---|---|---|"]
        for p in info["params"]:
            lines.append(f"| `{p['name']}` | {format_value(p['default'])} | {_cell(p['range'])} | "
                         f"{'yes' if p['learnable'] else 'no'} | {_cell(p['doc'])} | {_cell(p['source'])} |")
        lines += ["", f"Bind them with `actlab.get(\"{spec.name}\", {info['params'][0]['name']}=...)` or "
                      f"`--param {info['params'][0]['name']}=...` on any command.", ""]
    else:
        lines += ["None.", ""]

    lines += ["## Kinks", ""]
    if info["kinks"]:
        points = ", ".join(format_value(float(k)) for k in info["kinks"])
        lines += [f"f is not differentiable at x = {points}. Declared derivative there: "
                  f"{_escape(spec.kink_convention) or 'not stated'}.", ""]
    else:
        lines += ["None declared: f is differentiable everywhere.", ""]

    lines += ["## Properties", "",
              "Computed from the record's forward and derivative in float64 (`actlab props " + spec.name + "`); "
              "nothing here is typed in. Definitions: [the property table](../reference/properties.md).", "",
              "| property | value | meaning |", "|---|---|---|"]
    for key, value in properties.items():
        if key in ("name", "notes", "relative_cost", "relative_cost_spread"):
            continue
        lines.append(f"| `{key}` | {format_value(value)} | {FIELD_HELP.get(key, '')} |")
    lines.append("")
    for note in properties.get("notes") or ():
        lines += [f"- {_escape(str(note))}"]
    if properties.get("notes"):
        lines.append("")
    lines += ["The relative cost (forward + backward against ReLU) depends on the machine: "
              f"`actlab props {spec.name}` measures it on yours.", ""]

    lines += ["## Recommended init", "", f"**{spec.init.scheme}** — {_escape(spec.init.reason)}", ""]
    lines += _critical_init_lines(spec)

    export = "; ".join(f"{name} {'✗ (' + _escape(reason) + ')' if reason else '✓'}"
                       for name, reason in spec.export_status().items())
    lines += ["## Export", "", f"{export}. Checked in the tests: [exporting actlab activations](../guides/export.md).",
              ""]

    equivalents = equivalents_for(spec.name)
    lines += ["## In other frameworks", ""]
    if equivalents:
        lines += ["| framework | name | what differs | how we know |", "|---|---|---|---|"]
        for row in equivalents:
            differences = "; ".join(row["differences"]) or "none known"
            lines.append(f"| {row['framework']} | `{_cell(row['name'])}` | {_cell(differences)} | {row['checked']} |")
        lines += ["", "*measured*: the torch op is compared with this record (values and gradients, kinks included) "
                      "by the test suite; *documented*: read from the framework's source or documentation.", ""]
    else:
        lines += ["No framework ships this activation as a built-in; `actlab.nn.create(spec)` runs actlab's autograd "
                  "Function.", ""]

    if spec.notes:
        lines += ["## Notes", ""] + [f"- {_escape(note)}" for note in spec.notes] + [""]
    if spec.references:
        lines += ["## References", ""] + [f"- {_escape(ref)}" for ref in spec.references] + [""]
    if measured:
        lines += ["## Measured", ""]
        for item in measured:
            columns = list(item["columns"])
            lines += [f"From [{_escape(item['title'])}](../benchmarks.md#{item['anchor']}):", "",
                      "| " + " | ".join(_cell(c) for c in columns) + " |", "|" + "---|" * len(columns),
                      "| " + " | ".join(_cell(str(c)) for c in item["row"]) + " |", ""]
    lines += ["## Use it", "", "```python", "import actlab", "",
              f"spec = actlab.get(\"{spec.name}\")", "layer = actlab.nn.create(spec)  # a torch.nn.Module",
              "spec(torch.linspace(-3, 3, 7))  # f(x); spec.grad(x) is f'(x)", "```", "",
              "```bash", f"actlab show {spec.name}", f"actlab plot {spec.name} -o {spec.name}.png", "```", ""]
    return "\n".join(lines)


def index_page(specs: Sequence[ActivationSpec], properties: Mapping[str, Mapping[str, Any]]) -> str:
    """The catalog index: a sortable property table (click a header) and a gallery of every record's plot."""
    count = len(specs)
    lines = ["# The catalog", "",
             f"{count} activations, each one record (`actlab list`). Every column below is computed from the "
             "record's forward and derivative; click a header to sort. Each name links to the activation's page.",
             "", '<div class="actlab-table-wrap" markdown="0">',
             '<table class="actlab-sortable" id="catalog-table">', "<thead><tr>",
             '<th data-type="text">name</th><th data-type="text">family</th><th data-type="text">init</th>']
    for _key, header, tip in PROPERTY_COLUMNS:
        lines.append(f'<th data-type="number" title="{_escape(tip)}">{_escape(header)}</th>')
    lines += ["</tr></thead>", "<tbody>"]
    for spec in specs:
        props = properties[spec.name]
        cells = [f'<td data-sort="{spec.name}"><a href="{spec.name}/">{spec.name}</a></td>',
                 f'<td>{_escape(spec.family)}</td>', f"<td>{spec.init.scheme}</td>"]
        for key, _header, _tip in PROPERTY_COLUMNS:
            value = props.get(key)
            cells.append(f'<td data-sort="{_escape(_sort_key(value))}">{_escape(format_value(value))}</td>')
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines += ["</tbody>", "</table>", "</div>", "", "## Gallery", "",
              "f (left) and f′ (right) of every record with its default parameters.", "",
              '<div class="actlab-gallery" markdown="0">']
    for spec in specs:
        lines.append(f'<a class="actlab-card" href="{spec.name}/"><img src="img/{spec.name}.png" '
                     f'alt="f and f′ of {spec.name}" loading="lazy"><span>{spec.name}</span></a>')
    lines += ["</div>", ""]
    return "\n".join(lines)


def _critical_init_lines(spec: Any) -> list[str]:
    """The edge-of-chaos init (``--init critical``) computed from the record (mean-field signal propagation)."""
    from actlab.analysis.signal_critical import critical_init
    from actlab.errors import ActlabError

    try:
        found = critical_init(spec) if spec.kind == "elementwise" else None
    except ActlabError as error:
        return ["### Critical init (edge of chaos)", "", f"not computed: {_escape(str(error))}", ""]
    if found is None:
        text = ("no edge of chaos: no σ_w² makes χ₁ = 1 at an attracting fixed point for the σ_b² tried "
                "(`--init critical` refuses it)" if spec.kind == "elementwise" else
                "not element-wise: the mean-field analysis does not apply")
    else:
        text = (f"`--init critical`: weights N(0, σ_w²/fan_in) with **σ_w² = {found[0]:.4g}**, biases N(0, σ_b²) "
                f"with σ_b² = {found[1]:g} — where χ₁ = 1 (the edge of chaos; see "
                "[signal propagation](../guides/signal.md))")
    return ["### Critical init (edge of chaos)", "", text, ""]

