"""``actlab list``, ``actlab show``, ``actlab eval``: the catalog from the command line."""
from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

import actlab
from actlab.cli.app import app, console, parse_floats, parse_params, print_json
from actlab.cli.options import ActivationArgument, JsonFlag, ParamOption


@app.command("list")
def list_command(json: JsonFlag = False) -> None:
    """Every activation in the catalog, with a one-line summary."""
    specs = actlab.all_specs()
    if json:
        print_json([
            {"name": s.name, "aliases": list(s.aliases), "summary": s.summary, "family": s.family, "source": s.source}
            for s in specs
        ])
        return
    table = Table(title=f"actlab catalog ({len(specs)} activations)")
    table.add_column("name", style="bold")
    table.add_column("aliases")
    table.add_column("family")
    table.add_column("summary")
    for s in specs:
        table.add_row(s.name, ", ".join(s.aliases), s.family, s.summary)
    console.print(table)


@app.command("show")
def show_command(
    name: ActivationArgument,
    param: ParamOption = None,
    json: JsonFlag = False,
) -> None:
    """Formula, derivative, parameters, recommended init, notes and references of one activation."""
    spec = actlab.get(name, **parse_params(param))
    info = spec.describe()
    extra = _properties_or_none(spec)
    if extra is not None:
        info["properties"] = extra
    if json:
        print_json(info)
        return
    console.print(f"[bold]{spec.name}[/]" + (f"  (aliases: {', '.join(spec.aliases)})" if spec.aliases else ""))
    console.print(spec.summary, highlight=False)
    console.print(f"  f(x)  = {spec.formula}", highlight=False)
    console.print(f"  f'(x) = {spec.derivative_formula}", highlight=False)
    if spec.latex:
        console.print(f"  LaTeX: {spec.latex}", highlight=False, markup=False)
    if spec.params:
        console.print("parameters:")
        for p in info["params"]:
            learn = " (learnable)" if p["learnable"] else ""
            console.print(f"  {p['name']} = {p['default']}{learn}  range {p['range']}  — {p['doc']}; default from {p['source']}", highlight=False)
    if info["kinks"]:
        console.print(f"kinks at x = {', '.join(f'{k:g}' for k in info['kinks'])}: {spec.kink_convention}", highlight=False)
    console.print(f"recommended init: {spec.init.scheme} — {spec.init.reason}", highlight=False)
    if extra:
        console.print("properties:")
        for key, value in extra.items():
            console.print(f"  {key}: {value}", highlight=False)
    if spec.notes:
        console.print("notes:")
        for note in spec.notes:
            console.print(f"  • {note}", highlight=False)
    if spec.references:
        console.print("references:")
        for ref in spec.references:
            console.print(f"  • {ref}", highlight=False)


def _properties_or_none(spec: actlab.ActivationSpec) -> dict | None:
    """The computed property table, (actlab.analysis)."""
    try:
        from actlab.analysis import properties
    except ImportError:
        return None
    return properties(spec).to_dict()


@app.command("eval")
def eval_command(
    name: ActivationArgument,
    x: Annotated[str, typer.Option("--x", help="Comma-separated inputs, e.g. --x=-1,0.5,3")],
    param: ParamOption = None,
    json: JsonFlag = False,
) -> None:
    """Values f(x) and analytic derivatives f'(x) at the given points (float64)."""
    spec = actlab.get(name, **parse_params(param))
    params = spec.resolve()
    import torch

    xs = torch.tensor(parse_floats(x, "--x"), dtype=torch.float64)
    try:
        y = spec.forward(xs, **params)
        dy = spec.derivative(xs, **params)
    except (ValueError, IndexError) as error:  # maxout length not divisible by k; softmax dim out of range
        raise actlab.ActlabError(str(error)) from None
    if json:
        print_json({"name": spec.name, "params": params, "x": xs.tolist(), "y": y.tolist(), "dy": dy.tolist()})
        return
    table = Table(title=f"{spec.name}" + (f" ({', '.join(f'{k}={v}' for k, v in params.items())})" if params else ""))
    table.add_column("x", justify="right")
    table.add_column("f(x)", justify="right")
    table.add_column("f'(x)", justify="right")
    if spec.kind == "grouped":
        dy_out = dy.tolist()
        for i, xi in enumerate(xs.tolist()):
            yi = y.tolist()[i // spec.resolve()["k"]] if i % spec.resolve()["k"] == 0 else None
            table.add_row(f"{xi:.6g}", "" if yi is None else f"{yi:.10g}", f"{dy_out[i]:.10g}")
    else:
        for xi, yi, di in zip(xs.tolist(), y.tolist(), dy.tolist()):
            table.add_row(f"{xi:.6g}", f"{yi:.10g}", f"{di:.10g}")
    console.print(table)
