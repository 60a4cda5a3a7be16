"""``actlab signal``: mean-field signal propagation at initialisation — q*, χ₁, ξ_c, the edge of chaos,
the phase diagram, and the trainability experiment.

Thin: :mod:`actlab.analysis.signal` (and ``signal_random``) computes, :mod:`actlab.analysis.signal_figures`
draws, :mod:`actlab.diagnostics.trainability` trains the nets on the experiment core.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from actlab.cli.app import app, console, err_console, fail, print_json
from actlab.cli.options import path_value

__all__ = ["signal_command", "parse_range"]


def parse_range(text: str, option: str) -> list[float]:
    """``"10:80:10"`` (start:stop:step, stop included) or ``"1,2,4"`` → the values."""
    text = text.strip()
    if ":" not in text:
        from actlab.cli.app import parse_floats

        return parse_floats(text, option)
    parts = text.split(":")
    if len(parts) != 3:
        fail(f"{option}: expected START:STOP:STEP (e.g. 10:80:10) or a comma-separated list, got {text!r}")
    try:
        start, stop, step = (float(p) for p in parts)
    except ValueError:
        fail(f"{option}: {text!r} is not START:STOP:STEP with numbers")
    if not all(math.isfinite(v) for v in (start, stop, step)) or step <= 0 or stop < start:
        fail(f"{option}: need a step > 0 and STOP >= START, got {text!r}")
    count = int(math.floor((stop - start) / step + 1e-9)) + 1
    if count > 1000:
        fail(f"{option}: {text!r} has {count} values; at most 1000")
    return [round(start + i * step, 12) for i in range(count)]


def _point_data(name: str, weight_variance: float, bias_variance: float) -> dict[str, Any]:
    from actlab.analysis.signal_critical import critical_init, critical_weight_variance, signal_point
    from actlab.analysis.signal_random import random_net_fixed_points

    point = signal_point(name, weight_variance, bias_variance)
    data = point.to_dict()
    critical = critical_weight_variance(name, bias_variance, with_q=True)
    data["critical_q_star"] = critical[1]
    init = critical_init(name)
    data["critical_init"] = None if init is None else {"weight_variance": init[0], "bias_variance": init[1]}
    data["random_net_fixed_points"] = random_net_fixed_points(name, weight_variance, bias_variance)
    return data


@app.command("signal")
def signal_command(
    activations: Annotated[Optional[list[str]], typer.Argument(help="Activation names, aliases or formulas in x.")] = None,
    weight_variance: Annotated[float, typer.Option("--weight-variance", "-w", help="σ_w²: weights N(0, σ_w²/fan_in).")] = 1.0,
    bias_variance: Annotated[float, typer.Option("--bias-variance", "-b", help="σ_b²: biases N(0, σ_b²).")] = 0.0,
    json_output: Annotated[bool, typer.Option("--json", help="Print strict JSON: one object per activation.")] = False,
    plot: Annotated[Optional[Path], typer.Option("--plot", parser=path_value, help="Write the phase diagram (png, svg, pdf): ξ_c over (σ_w², σ_b²) with the edge of chaos, one panel per activation.")] = None,
    points: Annotated[int, typer.Option("--points", help="Phase diagram: grid points per axis.")] = 13,
    trainability: Annotated[bool, typer.Option("--trainability", help="Train one net per (depth, σ_w²) cell and draw the training-accuracy heatmap with 6 ξ_c (Schoenholz et al. 2017, Fig. 6).")] = False,
    depths: Annotated[str, typer.Option("--depths", help="Trainability: hidden layers, START:STOP:STEP or a list.")] = "10:60:10",
    weight_variances: Annotated[str, typer.Option("--weight-variances", help="Trainability: σ_w² values, START:STOP:STEP or a list.")] = "1:4:0.25",
    dataset: Annotated[str, typer.Option("--dataset", help="Trainability: mnist or digits.")] = "mnist",
    examples: Annotated[int, typer.Option("--examples", help="Trainability: training examples.")] = 1000,
    width: Annotated[int, typer.Option("--width", help="Trainability: units per hidden layer.")] = 48,
    steps: Annotated[int, typer.Option("--steps", help="Trainability: optimiser steps per net.")] = 1500,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Trainability: mini-batch size.")] = 32,
    optimizer: Annotated[str, typer.Option("--optimizer", help="Trainability: sgd (momentum 0.9), adam or rmsprop.")] = "sgd",
    lr: Annotated[float, typer.Option("--lr", help="Trainability: learning rate.")] = 0.001,
    seed: Annotated[int, typer.Option("--seed", help="Trainability: seed of weights and batches.")] = 0,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", parser=path_value, help="Trainability: write the heatmap (png, svg, pdf).")] = None,
    save_json: Annotated[Optional[Path], typer.Option("--save", parser=path_value, help="Trainability: write the result as JSON.")] = None,
) -> None:
    """q*, χ₁, ξ_c at (σ_w², σ_b²) and each activation's edge of chaos (the critical σ_w² at σ_b²)."""
    names = list(activations or [])
    if not names:
        fail("name at least one activation (e.g. actlab signal tanh relu)")
    for label, value in (("--weight-variance", weight_variance), ("--bias-variance", bias_variance)):
        if not math.isfinite(value) or value < 0:
            fail(f"{label} must be a finite number >= 0, got {value!r}")
    if weight_variance == 0:
        fail("--weight-variance must be > 0")
    if points < 3 or points > 60:
        fail(f"--points must lie in 3..60, got {points}")
    for label, path in (("--plot", plot), ("--output", output)):
        if path is not None and path.suffix.lower() not in (".png", ".svg", ".pdf"):
            fail(f"{label}: unknown image type {path.suffix or '(none)'!r}; use .png, .svg or .pdf")
    if trainability:
        if len(names) != 1:
            fail("--trainability takes one activation")
        _trainability(names[0], depths, weight_variances, bias_variance, dataset, examples, width, steps,
                      batch_size, optimizer, lr, seed, output, save_json, json_output)
        return
    from actlab.analysis.signal import phi_of

    specs = [phi_of(name).spec for name in names]  # unknown names fail here, with suggestions
    rows = [_point_data(spec, weight_variance, bias_variance) for spec in specs]
    if plot is not None:
        from actlab.analysis.plots import save
        from actlab.analysis.signal_figures import plot_phase_diagram

        save(plot_phase_diagram(specs, points=points), plot)
    if json_output:
        print_json(rows)
        return
    table = Table(title=f"mean-field signal propagation at σ_w² = {weight_variance:g}, σ_b² = {bias_variance:g}",
                  title_justify="left")
    for column in ("activation", "q*", "χ₁", "c*", "ξ_q", "ξ_c", "phase", "critical σ_w²", "--init critical"):
        table.add_column(column, justify="left" if column in ("activation", "phase") else "right")
    for row in rows:
        init = row["critical_init"]
        table.add_row(row["activation"], *(_number(row[k]) for k in ("q_star", "chi1", "c_star", "xi_q", "xi_c")),
                      row["phase"], _number(row["critical_weight_variance"]),
                      "none" if init is None else f"({init['weight_variance']:.4g}, {init['bias_variance']:g})")
    console.print(table)
    console.print(f"critical σ_w²: χ₁ = 1 at σ_b² = {bias_variance:g} (— where none exists); --init critical: "
                  "(σ_w², σ_b²) each activation's net starts from", highlight=False)
    if plot is not None:
        console.print(f"figure: {plot}", highlight=False)


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    return f"{value:.5g}"


def _trainability(name: str, depths_text: str, weights_text: str, bias_variance: float, dataset: str, examples: int,
                  width: int, steps: int, batch_size: int, optimizer: str, lr: float, seed: int,
                  output: Path | None, save_json: Path | None, json_output: bool) -> None:
    from actlab.diagnostics.trainability import trainability_experiment, trainable_depths

    depth_values = parse_range(depths_text, "--depths")
    if any(d != int(d) or d < 1 for d in depth_values):
        fail(f"--depths must be whole numbers >= 1, got {depths_text!r}")
    weights = parse_range(weights_text, "--weight-variances")
    if any(w <= 0 for w in weights):
        fail(f"--weight-variances must be > 0, got {weights_text!r}")
    if optimizer not in ("sgd", "adam", "rmsprop"):
        fail(f"--optimizer must be sgd, adam or rmsprop, got {optimizer!r}")
    if not (lr > 0 and math.isfinite(lr)):
        fail(f"--lr must be > 0, got {lr!r}")

    def progress(depth: int, row: list[float]) -> None:
        if not json_output:
            err_console.print(f"depth {depth}: " + " ".join(f"{a:.2f}" for a in row), highlight=False)

    result = trainability_experiment(name, [int(d) for d in depth_values], weights, bias_variance, dataset=dataset,
                                     examples=examples, width=width, steps=steps, batch_size=batch_size,
                                     optimizer=optimizer, lr=lr, seed=seed, progress=progress)
    data = {**result.to_dict(), "boundary": trainable_depths(result)}
    if save_json is not None:
        save_json.write_text(json.dumps(data, indent=1, allow_nan=True) + "\n")
    if output is not None:
        from actlab.analysis.plots import save
        from actlab.analysis.signal_figures import plot_trainability

        edges = [(row["weight_variance"], row["depth"]) for row in data["boundary"]
                 if row["depth"] is not None and not row["beyond"]]
        save(plot_trainability(result, edges=edges), output)
    if json_output:
        print_json(data)
        return
    console.print(f"trained {len(result.depths) * len(result.weight_variances)} nets in {result.seconds:.0f} s",
                  highlight=False)
    console.print("the trainable region's edge (training accuracy falls below 0.5) beside 6 ξ_c:", highlight=False)
    for row in data["boundary"]:
        depth = "none" if row["depth"] is None else ("≥ " if row["beyond"] else "") + f"{row['depth']:.0f}"
        bound = "∞" if row["bound"] is None else f"{row['bound']:.0f}"
        console.print(f"  σ_w² {row['weight_variance']:<5g} depth {depth:>6}  6 ξ_c {bound:>6}  {row['verdict']}",
                      highlight=False)
    if output is not None:
        console.print(f"figure: {output}", highlight=False)
