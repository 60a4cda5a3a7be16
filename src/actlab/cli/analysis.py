"""``actlab props`` and ``actlab plot``: the computed property table and activation figures."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

import actlab
from actlab.cli.app import app, console, fail, parse_floats, print_json
from actlab.cli.catalog import checked_params
from actlab.cli.names import check_names
from actlab.cli.numbers import cost_text
from actlab.cli.options import ActivationsArgument, JsonFlag, ParamOption, path_value
from actlab.errors import suggest

# columns of the (wide) rich table; --json has every field
TABLE_COLUMNS = (
    ("range_min", "min"),
    ("range_max", "max"),
    ("monotonic", "mono"),
    ("continuous", "C0"),
    ("differentiable", "C1"),
    ("smooth", "smooth"),
    ("kinks", "kinks"),
    ("zero_at_origin", "f(0)=0"),
    ("derivative_min", "f'min"),
    ("derivative_max", "f'max"),
    ("saturation_low", "sat-"),
    ("saturation_high", "sat+"),
    ("dead_region", "dead"),
    ("sparsity", "P(f=0)"),
    ("gaussian_mean", "E f"),
    ("gaussian_variance", "Var f"),
    ("gaussian_mean_derivative", "E f'"),
    ("relative_cost", "cost × relu [interval]"),
)


def _cell(row: dict[str, Any], field: str) -> str:
    if field == "relative_cost":
        return cost_text(row.get("relative_cost"), row.get("relative_cost_spread"))
    return _format(row[field])


def _specs_for(names: list[str] | None, params: dict[str, Any]) -> list[actlab.ActivationSpec]:
    if not names:
        if params:
            fail("--param needs activation names (parameters differ between activations)")
        return actlab.all_specs()
    specs = []
    for name in names:
        spec = actlab.get(name)
        own = {k: v for k, v in params.items() if k in spec.param_names}
        specs.append(spec.with_params(**own) if own else spec)
    unused = [k for k in params if not any(k in s.param_names for s in specs)]
    if unused:
        fail(f"--param {unused[0]}: none of the named activations has a parameter {unused[0]!r}")
    return specs


def _every_name() -> list[str]:
    """The catalog's names and the saved formulas', sorted (as ``actlab.all_specs()``, without importing torch)."""
    from actlab.cli.catalog import _light_rows

    return [row[0] for row in _light_rows()]


def _format(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ",".join(_format(v) for v in value) if value else "–"
    if isinstance(value, float):
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return f"{value:.4g}"
    return str(value)


def _sort_key(field: str):
    def key(row: dict[str, Any]) -> tuple:
        value = row[field]
        if value is None:
            return (2, 0.0, "")
        if isinstance(value, (list, tuple)):
            return (0, float(len(value)), "")
        if isinstance(value, (bool, int, float)):
            return (0, float(value), "")
        return (1, 0.0, str(value))

    return key


TRANSPOSE_UP_TO = 6


def table_width(table: Table) -> int:
    """Width a table needs when no column is squeezed."""
    from rich.measure import Measurement

    probe = Console(width=10_000)
    return Measurement.get(probe, probe.options, table).maximum


@app.command("props")
def props_command(
    names: Annotated[Optional[list[str]], typer.Argument(help="Activation names, aliases or formulas in x (default: the whole catalog).")] = None,
    json: JsonFlag = False,
    sort: Annotated[Optional[str], typer.Option("--sort", help="Sort by this property field (ascending).")] = None,
    param: ParamOption = None,
    no_cost: Annotated[bool, typer.Option("--no-cost", help="Skip the timing (relative_cost is null).")] = False,
) -> None:
    """The computed property table: range, monotonicity, smoothness, saturation, Gaussian moments, cost."""
    check_names(names)
    def properties(*args: Any, **kwargs: Any) -> Any:
        from actlab.analysis import properties as compute

        return compute(*args, **kwargs)

    if sort is not None:
        from actlab.analysis.fields import FIELDS
    if sort is not None and sort not in (*FIELDS, "name"):
        close = suggest(sort, (*FIELDS, "name"))
        hint = f"; did you mean {' or '.join(close)}?" if close else f"; fields: {', '.join(FIELDS)}"
        fail(f"unknown --sort field {sort!r}{hint}")
    params = checked_params(param)
    if params:
        rows = [properties(spec, measure_cost=not no_cost).to_dict() for spec in _specs_for(names, params)]
    else:  # catalog records through the disk cache (actlab.cli.cache): no torch import when all are cached
        from actlab.cli.catalog import _cached_if_catalog

        targets = names or _every_name()
        rows = [_cached_if_catalog("props" if not no_cost else "props-no-cost", target, {},
                                   lambda target=target: properties(actlab.get(target),
                                                                    measure_cost=not no_cost).to_dict())
                for target in targets]
    if sort is not None:
        rows.sort(key=_sort_key(sort))
    for row in rows:
        if row.get("relative_cost") is not None:
            row["relative_cost_within_noise"] = cost_text(row["relative_cost"],
                                                          row.get("relative_cost_spread")).endswith("within noise")
    if json:
        print_json(rows)
        return
    title = f"actlab properties ({len(rows)} activation{'s' if len(rows) != 1 else ''})"
    if len(rows) <= TRANSPOSE_UP_TO:
        # a few activations: one column each, one row per property (fits a terminal)
        table = Table(title=title)
        table.add_column("property", style="bold", no_wrap=True)  # relative_cost: × relu [interval]
        for row in rows:
            table.add_column(row["name"], justify="right", overflow="fold")
        for field, _ in TABLE_COLUMNS:
            table.add_row(field, *(_cell(row, field) for row in rows))
        console.print(table)
    else:
        table = Table(title=title, show_lines=False)
        table.add_column("name", style="bold", no_wrap=True)
        for _, header in TABLE_COLUMNS:
            table.add_column(header, justify="right", no_wrap=True)
        for row in rows:
            table.add_row(row["name"], *(_cell(row, field) for field, _ in TABLE_COLUMNS))
        # the full table is wide: never squeeze it into an 80-column pipe
        wide = Console(width=max(console.width, table_width(table)), file=console.file)
        wide.print(table)
    noted = [(row["name"], note) for row in rows for note in row["notes"]]
    for name, note in noted:
        console.print(f"{name}: {note}", style="dim", markup=False, highlight=False)


MAX_RANGE = 1e6  # wider ranges overflow matplotlib's transforms


def _parse_range(text: str) -> tuple[float, float]:
    values = parse_floats(text, "--range")
    if len(values) != 2:
        fail(f"--range expects MIN,MAX, got {text!r}")
    low, high = values
    if not (math.isfinite(low) and math.isfinite(high)):
        fail(f"--range: bounds must be finite, got {text!r}")
    if low >= high:
        fail(f"--range: MIN must be below MAX, got {text!r}")
    if max(abs(low), abs(high)) > MAX_RANGE:
        fail(f"--range: bounds must lie within ±{MAX_RANGE:g}, got {text!r}")
    return low, high


PLOT_SUFFIXES = (".png", ".svg", ".pdf")


@app.command("plot")
def plot_command(
    names: ActivationsArgument = None,
    output: Annotated[Path, typer.Option("--output", "-o", parser=path_value, help="Image file to write (.png, .svg or .pdf).")] = Path("actlab-plot.png"),
    range_: Annotated[str, typer.Option("--range", help="x range as MIN,MAX, e.g. --range=-6,6.")] = "-6,6",
    param: ParamOption = None,
    all_: Annotated[bool, typer.Option("--all", help="A gallery of the whole catalog (one small panel each).")] = False,
) -> None:
    """Plot f and f' side by side (saturation shaded, kinks marked), or the whole catalog with --all."""
    check_names(names)
    if output.suffix.lower() not in PLOT_SUFFIXES:
        fail(f"--output: unknown image type {output.suffix or '(none)'!r}; use one of {', '.join(PLOT_SUFFIXES)}")
    x_range = _parse_range(range_)
    params = checked_params(param)
    if names and not all_ and not params and _catalog_only(names):
        if output.parent and not output.parent.exists():
            fail(f"--output: directory {str(output.parent)!r} does not exist")
        from actlab.cli.cache import cached_bytes

        key = f"{[n.strip().lower() for n in names]}|{x_range}|{output.suffix.lower()}"
        image = cached_bytes("plot", key, lambda: _render(names, x_range, output.suffix.lower()))
        try:
            output.write_bytes(image)
        except OSError as error:
            fail(f"cannot write {output}: {error.strerror or error}")
        console.print(str(output), highlight=False, soft_wrap=True)
        return
    from actlab.analysis import plots

    if all_:
        if names:
            fail("--all plots the whole catalog: give either names or --all")
        figure = plots.plot_gallery(_specs_for(None, {}) if not params else fail("--param cannot be used with --all"), x_range=x_range)
    else:
        if not names:
            fail("give activation names or formulas to plot, or --all for the whole catalog")
        figure = plots.plot_activations(_specs_for(names, params), x_range=x_range)
    if output.parent and not output.parent.exists():
        fail(f"--output: directory {str(output.parent)!r} does not exist")
    plots.save(figure, output)
    console.print(str(output), highlight=False, soft_wrap=True)


def _catalog_only(names: list[str]) -> bool:
    from actlab.catalog.index import INDEX

    catalog = {n.lower() for n, _, _, _ in INDEX} | {a.lower() for _, aliases, _, _ in INDEX for a in aliases}
    return all(n.strip().lower() in catalog for n in names)


def _render(names: list[str], x_range: tuple[float, float], suffix: str) -> bytes:
    """The figure ``plot`` draws for catalog records, as the bytes of a ``suffix`` file."""
    import tempfile

    from actlab.analysis import plots

    figure = plots.plot_activations(_specs_for(names, {}), x_range=x_range)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"plot{suffix}"
        plots.save(figure, path)
        return path.read_bytes()
