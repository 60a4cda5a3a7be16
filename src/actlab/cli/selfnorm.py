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
from actlab.cli.options import path_value

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
def selfnorm_command(
    activation: Annotated[Optional[str], typer.Argument(help="Activation name, alias or formula in x (e.g. \"lam*where(x > 0, x, alpha*(exp(x) - 1))\").")] = None,
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="Parameter as NAME=VALUE (repeatable); for --solve: the starting values.")] = None,
    solve: Annotated[Optional[str], typer.Option("--solve", help="Comma-separated parameters to solve for so that (0, 1) is a fixed point (e.g. alpha,lam).")] = None,
    omega: Annotated[float, typer.Option("--omega", help="ω = Σ wᵢ (sum of a unit's weights).")] = 0.0,
    tau: Annotated[float, typer.Option("--tau", help="τ = Σ wᵢ² (sum of squared weights; 1 for lecun_normal).")] = 1.0,
    dropout: Annotated[Optional[float], typer.Option("--dropout", help="AlphaDropout rate: print α′ and the affine (a, b) for it. With --depth-experiment: dropout after each layer.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", parser=path_value, help="Write the figure (png, svg, pdf): the vector field with fixed point and basin, or the depth curves.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print strict JSON.")] = False,
    depth_experiment: Annotated[bool, typer.Option("--depth-experiment", help="Propagate standardised inputs through a deep MLP per activation (at init and after a short training).")] = False,
    acts: Annotated[str, typer.Option("--acts", help="Depth experiment: comma-separated activations.")] = "selu,relu,tanh,gelu",
    depth: Annotated[int, typer.Option("--depth", help="Depth experiment: hidden layers.")] = 64,
    width: Annotated[int, typer.Option("--width", help="Depth experiment: units per layer.")] = 256,
    init: Annotated[str, typer.Option("--init", help="Depth experiment: auto (each activation's recommendation) or an init scheme for every hidden layer: he, glorot, lecun (normal), he_uniform, glorot_uniform, lecun_uniform, standard, torch-default, nielsen, siren.")] = "auto",
    dataset: Annotated[str, typer.Option("--dataset", help="Depth experiment: gaussian (toy 2-D blobs) or mnist.")] = "gaussian",
    steps: Annotated[int, typer.Option("--steps", help="Depth experiment: Adam steps (batch 64, lr 1e-4) of the short training, through the experiment core's driver.")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Depth experiment: seed of weights, batches and dropout.")] = 0,
) -> None:
    """The mean/variance map (μ, ν) ↦ (E f(z), Var f(z)), z ~ N(μω, ντ): fixed point, Jacobian, verdict.

    With --solve a,b: find the parameter values that make (0, 1) a fixed point
    (E f = 0 and/or Var f = 1, one equation per parameter, each to 1e-12).
    """
    if depth_experiment:
        if activation is not None or solve is not None or param:
            fail("--depth-experiment takes --acts, not an activation, --param or --solve")
        _depth(acts, depth, width, init, dropout or 0.0, dataset, steps, seed, output, json_output)
        return
    if activation is None:
        fail("name an activation or formula (e.g. actlab selfnorm selu), or use --depth-experiment")
    from actlab.analysis import selfnorm as analysis

    params = parse_params(param)
    if dropout is not None and not (0.0 <= dropout < 1.0):
        fail(f"--dropout must be in [0, 1), got {dropout!r}")
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


def _depth(acts: str, depth: int, width: int, init: str, dropout: float, dataset: str, steps: int, seed: int,
           output: Path | None, json_output: bool) -> None:
    from actlab.analysis.depth import plot_depth
    from actlab.diagnostics.depth import depth_experiment

    names = _names(acts, "--acts")
    if not json_output:
        err_console.print(f"depth experiment: {', '.join(names)}; depth {depth} × width {width}, {dataset}, "
                          f"init {init}, {steps} training steps …", highlight=False)
    result = depth_experiment(names, depth=depth, width=width, init=init, dropout=dropout, dataset=dataset,
                              steps=steps, seed=seed)
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
