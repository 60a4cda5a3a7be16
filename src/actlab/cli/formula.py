"""``actlab define NAME FORMULA``: register a formula activation (and with ``--save``, keep it)."""
from __future__ import annotations

from typing import Annotated

import typer

from actlab.cli.app import app, console, print_json
from actlab.cli.catalog import checked_params
from actlab.cli.options import JsonFlag, ParamOption


@app.command("define")
def define_command(
    name: Annotated[str, typer.Argument(help="Name for the new activation (letters, digits, _).")],
    formula: Annotated[str, typer.Argument(help="Formula in x, e.g. 'x*sigmoid(a*x)'.")],
    param: ParamOption = None,
    save: Annotated[bool, typer.Option("--save", help="Keep it for later sessions (user config file).")] = False,
    json: JsonFlag = False,
) -> None:
    """Define an activation from a formula in x: prints its derivative and kinks.

    Without --save the definition lasts for this command only (useful to check a
    formula); with --save every later actlab command knows NAME.
    """
    from actlab.formula.build import config_path, register_formula

    spec = register_formula(name, formula, checked_params(param), save=save)
    kinks = list(spec.kink_points())
    saved = str(config_path()) if save else None
    if json:
        info = spec.describe()
        info["saved_to"] = saved
        print_json(info)
        return
    console.print(f"[bold]{spec.name}[/] defined", highlight=False)
    console.print(f"  f(x)  = {spec.formula}", highlight=False, markup=False)
    console.print(f"  f'(x) = {spec.derivative_formula}", highlight=False, markup=False)
    console.print(f"  LaTeX: {spec.derivative_latex}", highlight=False, markup=False)
    for p in spec.params:
        console.print(f"  {p.name} = {p.default:g}", highlight=False)
    if kinks:
        console.print(f"  kinks at x = {', '.join(f'{k:g}' for k in kinks)}: {spec.kink_convention}", highlight=False, markup=False)
    else:
        console.print("  no kinks (differentiable everywhere on its domain)", highlight=False)
    low, high = spec.domain
    if (low, high) != (float("-inf"), float("inf")):
        console.print(f"  domain: ({low:g}, {high:g})", highlight=False)
    if saved:
        console.print(f"  saved to {saved}", highlight=False, markup=False)

