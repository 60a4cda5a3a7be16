"""``actlab boundary``: what a tiny 2-D net with each activation learns (feature space + decision boundary)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from actlab.cli.app import app, console, fail, print_json
from actlab.cli.options import path_value


def _percent(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "-"
    return f"{100 * mean:.1f}" + (f" ± {100 * std:.1f}" if std else "") + " %"


@app.command("boundary")
def boundary_command(
    act: Annotated[list[str] | None, typer.Option(
        "--act", help="Activation: a name, a formula ('sign(x)*x**2'), a per-neuron list ('cos,identity': one per "
                      "hidden unit), or an item with options ('prelu', 'prelu:per_unit', 'rrelu', 'maxout:k=3', "
                      "'elu:alpha=0.5'). Repeat for one row per activation. [default: tanh]")] = None,
    dataset: Annotated[str, typer.Option(help="Toy set: linear, circle, periodic, xor, gaussian, spiral, moons.")] = "circle",
    hidden: Annotated[int, typer.Option(help="Hidden units (1: strip, 2: plane, 3: 3-D, more: PCA projection).")] = 2,
    bias: Annotated[bool, typer.Option("--bias/--no-bias", help="Bias in the hidden layer (the output keeps its bias).")] = True,
    steps: Annotated[int, typer.Option("--steps", "--epochs", help="Full-batch Adam steps (--epochs: the same; one step "
                                       "is one epoch).")] = 2000,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 0.03,
    restarts: Annotated[int, typer.Option(help="Initialisations per seed, trained side by side; each seed keeps the one "
                                          "with the lowest final training loss.")] = 4,
    init: Annotated[str | None, typer.Option("--init", help="Hidden-layer init scheme (he, glorot, lecun, their "
                                             "_normal/_uniform forms, torch-default, standard, nielsen, siren), or per "
                                             "activation: glorot,square=he. [default: each activation's "
                                             "recommendation]")] = None,
    weight_scale: Annotated[float, typer.Option("--weight-scale", help="Gain on every initial weight.")] = 1.0,
    seeds: Annotated[int, typer.Option(help="Seeds per activation (mean ± std; the figure shows the median seed by test accuracy).")] = 1,
    seed: Annotated[int, typer.Option(help="First seed (seeds are seed, seed+1, ...).")] = 0,
    noise: Annotated[float, typer.Option(help="Gaussian jitter σ of the points.")] = 0.0,
    points: Annotated[int, typer.Option(help="Points in all: 80 % train, 20 % test (+ 20 % extrapolation points).")] = 500,
    data_seed: Annotated[int, typer.Option("--data-seed", help="Seed of the data set.")] = 0,
    output: Annotated[Path | None, typer.Option("--output", "-o", parser=path_value, help="Figure (PNG). [default: boundary-<dataset>.png]")] = None,
    animate: Annotated[Path | None, typer.Option("--animate", parser=path_value, help="Also write both panels over training: .gif (or .mp4 with ffmpeg).")] = None,
    frames: Annotated[int, typer.Option(help="Frames of the animation.")] = 30,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object per activation.")] = False,
) -> None:
    """Train 2 → HIDDEN → 1 nets (sigmoid output, binary cross-entropy) and draw their feature space and boundary.

    Example: actlab boundary --dataset periodic --act "cos,identity" --act relu --hidden 2 --no-bias
    """
    from actlab.lab2d.train import BoundaryConfig

    acts = act or ["tanh"]
    output = output if output is not None else Path(f"boundary-{dataset.lower()}.png")
    if output.suffix.lower() != ".png":
        fail(f"--output: the figure is a PNG file; got {output.suffix or '(no extension)'!r} in {str(output)!r}")
    if animate is not None:
        from actlab.lab2d.animate import check_output

        check_output(animate)
    if frames < 2:
        fail(f"--frames must be at least 2, got {frames}")
    if noise < 0 or not math.isfinite(noise):
        fail(f"--noise must be a finite number >= 0, got {noise}")
    config = BoundaryConfig(hidden=hidden, bias=bias, steps=steps, lr=lr, seeds=seeds, first_seed=seed,
                            snapshots=frames if animate is not None else 0, restarts=restarts, init=init,
                            weight_scale=weight_scale)

    from actlab.lab2d.figures import boundary_figure
    from actlab.lab2d.run import run_boundary

    result = run_boundary(dataset, acts, config, points=points, noise=noise, data_seed=data_seed)
    figure = boundary_figure(result.dataset, result.trained, result.summaries,
                             subtitle=f"{steps} Adam steps, lr {lr:g}" + (f", best of {restarts} restarts"
                                                                         if restarts > 1 else ""))
    try:
        figure.savefig(output, format="png")
    except OSError as error:
        fail(f"cannot write {output}: {error}")
    for summary in result.summaries:
        summary["figure"] = str(output)
    written = 0
    if animate is not None:
        from actlab.lab2d.animate import animate as write_animation

        written = write_animation(animate, result.dataset, result.trained, result.summaries)
        for summary in result.summaries:
            summary["animation"] = str(animate)
    if json:
        print_json([{k: v for k, v in s.items() if k != "shown_index"} for s in result.summaries])
        return
    from rich.table import Table

    table = Table(title=f"actlab boundary: {result.dataset.name}, hidden {hidden}, {'bias' if bias else 'no bias'}, "
                        f"{seeds} seed(s), {config.describe()['text']} ({result.seconds:.1f} s training)")
    for column in ("activation", "train", "test", "extrapolation", "final loss", "shown seed"):
        table.add_column(column, justify="left" if column == "activation" else "right")
    for s in result.summaries:
        table.add_row(s["activation"], _percent(s["train_accuracy"], s["train_accuracy_std"]),
                      _percent(s["test_accuracy"], s["test_accuracy_std"]),
                      _percent(s["extrapolation_accuracy"], s["extrapolation_accuracy_std"]),
                      "-" if s["final_loss"] is None else f"{s['final_loss']:.4f}", str(s["shown_seed"]))
    console.print(table)
    console.print(f"wrote {output}" + (f" and {animate} ({written} frames)" if animate is not None else ""), highlight=False)
