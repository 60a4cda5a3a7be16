"""``actlab selfnorm``: the mean/variance map, its fixed point, solving for self-normalising constants,
AlphaDropout constants, and the depth experiment.

Thin: :mod:`actlab.analysis.selfnorm` computes, :mod:`actlab.analysis.selfnorm_figures`
draws, :mod:`actlab.diagnostics.depth` runs the depth experiment on the experiment core
(:mod:`actlab.analysis.depth` holds its statistics and figure).
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from actlab.cli.app import app, console, err_console, fail, parse_params
from actlab.cli.options import path_value, table_command

__all__ = ["selfnorm_command", "strict_json"]


def strict_json(value: Any) -> Any:
    """``value`` with NaN/±inf replaced by None (strict JSON); floats keep full precision (repr)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return strict_json(value.item())
    return value


def _print_strict_json(data: Any) -> None:
    sys.stdout.write(json.dumps(strict_json(data), indent=2, allow_nan=False) + "\n")


def _names(text: str, option: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        fail(f"{option}: empty item in {text!r}")
    return items


@app.command("selfnorm")
@table_command("selfnorm")
def selfnorm_command(
    activation: Annotated[Optional[str], typer.Argument(help="Activation name, alias or formula in x (e.g. \"lam*where(x > 0, x, alpha*(exp(x) - 1))\").")] = None,
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="Parameter as NAME=VALUE (repeatable); for --solve: the starting values.")] = None,
    solve: Annotated[Optional[str], typer.Option("--solve", help="Comma-separated parameters to solve for so that (0, 1) is a fixed point (e.g. alpha,lam).")] = None,
    omega: Annotated[float, typer.Option("--omega", help="ω = Σ wᵢ (sum of a unit's weights).")] = 0.0,
    tau: Annotated[float, typer.Option("--tau", help="τ = Σ wᵢ² (sum of squared weights; 1 for lecun_normal).")] = 1.0,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", parser=path_value, help="Write the figure (png, svg, pdf): the vector field with fixed point and basin, or the depth curves.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print strict JSON.")] = False,
    depth_experiment: Annotated[bool, typer.Option("--depth-experiment", help="Propagate standardised inputs through a deep MLP per activation (at init and after a short training).")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Depth experiment: seed of weights, batches and dropout.")] = 0,
    table: Optional[dict[str, Any]] = None,
) -> None:
    """The mean/variance map (μ, ν) ↦ (E f(z), Var f(z)), z ~ N(μω, ντ): fixed point, Jacobian, verdict.

    With --solve a,b: find the parameter values that make (0, 1) a fixed point
    (E f = 0 and/or Var f = 1, one equation per parameter, each to 1e-12).
    """
    given = {k: v for k, v in (table or {}).items() if v is not None}
    dropout = _dropout(given.pop("dropout", None))
    if depth_experiment:
        if activation is not None or solve is not None or param:
            fail("--depth-experiment takes --acts, not an activation, --param or --solve")
        _depth(given, dropout or 0.0, seed, output, json_output)
        return
    if given:
        fail(f"{', '.join('--' + k.replace('_', '-') for k in given)}: for --depth-experiment only")
    if activation is None:
        fail("name an activation or formula (e.g. actlab selfnorm selu), or use --depth-experiment")
    from actlab.analysis import selfnorm as analysis

    params = parse_params(param)
    solved = None
    spec = analysis.activation_of(activation, params)
    if solve is not None:
        from actlab.analysis.selfnorm_solve import solve as solve_for

        solution = solve_for(spec, _names(solve, "--solve"), omega, tau)
        spec, solved = solution.spec, solution.solved
    fixed = analysis.fixed_point(spec, omega, tau)
    data: dict[str, Any] = {
        "activation": fixed.activation,
        "params": fixed.params,
        "solved": solved,
        "residuals": fixed.residuals,
        "fixed_point": {"mean": fixed.mean, "variance": fixed.variance},
        "jacobian": [list(row) for row in fixed.jacobian] if fixed.jacobian is not None else None,
        "max_singular_value": fixed.max_singular_value,
        "verdict": fixed.verdict,
    }
    if dropout is not None:
        mean, variance = (fixed.mean, fixed.variance) if fixed.found else (0.0, 1.0)
        data["alpha_dropout"] = analysis.alpha_dropout_constants(spec, dropout, mean, variance)
    if output is not None:
        from actlab.analysis.plots import save
        from actlab.analysis.selfnorm_figures import plot_map

        save(plot_map(spec, fixed), output)
    if json_output:
        _print_strict_json(data)
        return
    _print_fixed_point(data, fixed, omega, tau)
    if output is not None:
        console.print(f"figure: {output}", highlight=False)


def _print_fixed_point(data: dict[str, Any], fixed: Any, omega: float, tau: float) -> None:
    name = data["activation"]
    params = ", ".join(f"{k}={v!r}" for k, v in data["params"].items())
    console.print(f"[bold]{name}[/]" + (f" ({params})" if params else "") + f"   ω = {omega!r}, τ = {tau!r}",
                  highlight=False)
    from actlab.analysis.signal_random import OMEGA_ZERO_NOTE

    console.print(OMEGA_ZERO_NOTE, highlight=False, soft_wrap=True)
    if data["solved"]:
        console.print("solved: " + ", ".join(f"{k} = {v!r}" for k, v in data["solved"].items()), highlight=False)
    r = data["residuals"]
    console.print(f"at (0, 1): E f − 0 = {r['mean']!r}, Var f − 1 = {r['variance']!r}", highlight=False)
    if not fixed.found:
        console.print(f"no fixed point: {fixed.note}", highlight=False)
    else:
        console.print(f"fixed point: mean = {fixed.mean!r}, variance = {fixed.variance!r}", highlight=False)
        table = Table(title="Jacobian of (μ, ν) ↦ (μ̃, ν̃)", title_justify="left")
        table.add_column("")
        table.add_column("∂/∂μ", justify="right")
        table.add_column("∂/∂ν", justify="right")
        for label, row in zip(("μ̃", "ν̃"), fixed.jacobian):
            table.add_row(label, f"{row[0] + 0.0:.10g}", f"{row[1] + 0.0:.10g}")
        console.print(table)
        console.print(f"largest singular value {fixed.max_singular_value!r}: {fixed.verdict}", highlight=False)
    if "alpha_dropout" in data:
        d = data["alpha_dropout"]
        console.print(f"AlphaDropout: α′ = {d['alpha_prime']!r}, a = {d['a']!r}, b = {d['b']!r}", highlight=False)


def _dropout(text: str | None) -> float | None:
    """The --dropout value: one rate in [0, 1)."""
    if text is None:
        return None
    from actlab.sweep.options import coerce

    rate = coerce("dropout", text)
    if isinstance(rate, list):
        fail(f"--dropout takes one rate here, got {text!r}")
    if not (0.0 <= rate < 1.0):
        fail(f"--dropout must be in [0, 1), got {rate!r}")
    return rate


# the depth experiment's options from the table (key → depth_experiment's keyword), and their defaults; with
# --dropout, the rows selfnorm reads (tests/meta checks they are the rows that name selfnorm)
DEPTH_KEYS = {"acts": "acts", "depth": "depth", "width": "width", "init": "init", "dataset": "dataset",
               "steps": "steps", "batch_size": "batch_size", "lr": "lr"}
_DEPTH_DEFAULTS = {"acts": "selu,relu,tanh,gelu", "depth": 64, "width": 256, "init": "auto", "dataset": "gaussian",
                   "steps": 20}


def _depth(given: dict[str, Any], dropout: float, seed: int, output: Path | None, json_output: bool) -> None:
    from actlab.analysis.depth import plot_depth
    from actlab.diagnostics.depth import depth_experiment

    unknown = sorted(set(given) - set(DEPTH_KEYS))
    if unknown:  # a table row naming selfnorm that the depth experiment does not read yet
        fail(f"the depth experiment does not use {', '.join('--' + k.replace('_', '-') for k in unknown)}")
    options = {**_DEPTH_DEFAULTS, **{DEPTH_KEYS[k]: v for k, v in given.items()}}
    names = _names(options.pop("acts"), "--acts")
    depth, width = options["depth"], options["width"]
    if not json_output:
        err_console.print(f"depth experiment: {', '.join(names)}; depth {depth} × width {width}, "
                          f"{options['dataset']}, init {options['init']}, {options['steps']} training steps …",
                          highlight=False)
    result = depth_experiment(names, dropout=dropout, seed=seed, **options)
    if output is not None:
        from actlab.analysis.plots import save

        save(plot_depth(result), output)
    if json_output:
        _print_strict_json(result.to_dict())
        return
    marks = sorted({1, max(1, depth // 4), max(1, depth // 2), depth})
    table = Table(title="activation variance (mean) at layers " + ", ".join(map(str, marks)), title_justify="left")
    table.add_column("activation")
    table.add_column("init")
    table.add_column("phase")
    for layer in marks:
        table.add_column(f"layer {layer}", justify="right")
    for curve in result.curves:
        table.add_row(curve.label, curve.init, curve.phase,
                      *(f"{curve.variance[k - 1]:.4g} ({curve.mean[k - 1]:+.3f})" for k in marks))
    console.print(table)
    if output is not None:
        console.print(f"figure: {output}", highlight=False)
