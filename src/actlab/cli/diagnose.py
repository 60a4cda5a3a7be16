"""``actlab diagnose``: measure gradient flow per layer — vanishing, exploding, dead and saturated units.

Thin: options are parsed here; :mod:`actlab.diagnostics` trains, measures, stores and draws.
"""
from __future__ import annotations

import json as jsonlib
import math
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from actlab.cli.app import app, console, err_console, fail, parse_params
from actlab.cli.options import path_value

__all__ = ["diagnose_command", "json_summary", "strict"]

JSON_KEYS = ("verdict", "layers", "growth_factor", "clipped_fraction")
LAYER_KEYS = ("speed_at_init", "speed_at_init_std", "speed_final", "dead_fraction_final", "saturated_fraction_final")


def strict(value: Any) -> Any:
    """``value`` with every NaN / ±inf replaced by None (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    return value


def _layers(layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"layer": layer["layer"], **{k: layer[k] for k in LAYER_KEYS}} for layer in layers]


def json_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """What ``--json`` prints: exactly :data:`JSON_KEYS`.

    One activation: ``verdict`` a string, ``layers`` a list, ``clipped_fraction`` a number or null.
    Several (``--compare-acts``, the dying-relu preset): each of these is an object keyed by activation.
    """
    if "growth_factor" in summary:  # the exploding chain
        return strict({"verdict": summary["verdict"], "layers": _layers(summary["layers"]),
                       "growth_factor": summary["growth_factor"], "clipped_fraction": summary["clipped_fraction"]})
    acts = summary["activations"]
    if len(summary["setup"]["activations"]) == 1 and len(acts) == 1:
        (data,) = acts.values()
        return strict({"verdict": data["verdict"], "layers": _layers(data["layers"]), "growth_factor": None,
                       "clipped_fraction": data["clipped_fraction"]})
    return strict({
        "verdict": {name: data["verdict"] for name, data in acts.items()},
        "layers": {name: _layers(data["layers"]) for name, data in acts.items()},
        "growth_factor": None,
        "clipped_fraction": {name: data["clipped_fraction"] for name, data in acts.items()},
    })


def _split(text: str, option: str) -> tuple[str, ...]:
    """Split at commas outside parentheses, so formulas keep theirs: ``relu,maximum(x, 0)``."""
    items, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
    items.append(current.strip())
    if any(not item for item in items):
        fail(f"{option}: empty item in {text!r}")
    return tuple(items)


def _percent(value: Any) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{100 * value:.1f} %"


def _number(value: Any) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.3g}"


def _print_table(summary: dict[str, Any]) -> None:
    from rich.table import Table

    threshold = summary["setup"].get("saturation_threshold", 0.01)
    saturated = f"saturated final (|f′| < {100 * threshold:g} % max)"
    for name, data in summary["activations"].items():
        table = Table(title=f"{name}: {data['verdict']}", title_justify="left")
        for column in ("layer", "speed at init (mean ± std)", "speed final", "dead final", saturated):
            table.add_column(column, justify="right")
        for layer in data["layers"]:
            table.add_row(str(layer["layer"]), f"{_number(layer['speed_at_init'])} ± {_number(layer['speed_at_init_std'])}",
                          _number(layer["speed_final"]), _percent(layer["dead_fraction_final"]),
                          _percent(layer["saturated_fraction_final"]))
        console.print(table)
        for reason in data["reasons"]:
            console.print(f"  {reason}", highlight=False)
        numbers = data["numbers"]
        collapsed = (numbers.get("collapsed_fraction_init"), numbers.get("collapsed_fraction_final"))
        if any(collapsed) and not any("entirely dead" in reason for reason in data["reasons"]):
            at_init_only = all(run["steps"] == 0 for run in data["runs"])
            console.print(f"  runs with a hidden layer entirely dead (constant output): {_percent(collapsed[0])} at "
                          f"init" + ("" if at_init_only else f", {_percent(collapsed[1])} at the end"), highlight=False)
        if data["clipped_fraction"] is not None:
            console.print(f"  clipped steps: {_percent(data['clipped_fraction'])}", highlight=False)


def _print_exploding(result: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"chain of {result['depth']} one-unit {result['activation']} layers, w = {result['weight']:g}, "
                        f"every z = 0", title_justify="left")
    for column in ("layer", "∂C/∂b_l", "growth factor (vs layer l+1)"):
        table.add_column(column, justify="right")
    for i, gradient in enumerate(result["bias_gradients"]):
        growth = result["growth_factor"][i] if i < len(result["growth_factor"]) else None
        table.add_row(str(i + 1), f"{gradient:.6g}", "—" if growth is None else f"{growth:.6g}")
    console.print(table)
    console.print(f"expected growth w·f'(0) = {result['expected_growth']:g}", highlight=False)
    for key, label in (("none", "unclipped"), ("value", f"clip by value {result['clip_value']:g}"),
                       ("norm", f"clip by norm {result['clip_norm']:g}")):
        update = result["updates"][key]
        console.print(f"{label:>20}: update ‖Δ‖₂ = {update['norm']:.6g}, max |Δ| = {update['max_abs']:.6g} "
                      f"(lr {result['lr']:g})", highlight=False)


def _default_out(setup: Any) -> Path:
    name = setup.preset or "-".join(setup.activations)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60]
    return Path("runs") / f"diagnose-{safe}-{setup.fingerprint()[:8]}"


def _write_json(path: Path, data: Any) -> None:
    try:
        path.write_text(jsonlib.dumps(strict(data), indent=2, allow_nan=False) + "\n")
    except OSError as error:
        fail(f"cannot write {path}: {error}")


@app.command("diagnose")
def diagnose_command(
    act: Annotated[Optional[str], typer.Option("--act", help="Hidden activation (name, alias or formula). [default: sigmoid]")] = None,
    depth: Annotated[Optional[int], typer.Option(help="Hidden layers. [default: 4; exploding: 5]")] = None,
    width: Annotated[Optional[int], typer.Option(help="Units per hidden layer. [default: 30]")] = None,
    dataset: Annotated[Optional[str], typer.Option(help="A classification dataset (actlab data list). [default: mnist]")] = None,
    init: Annotated[Optional[str], typer.Option(help="Init scheme of every layer: he, glorot, lecun (their _normal form), he_uniform, glorot_uniform, lecun_uniform, standard (U[−1/√n, 1/√n], biases 0; Glorot & Bengio 2010), torch-default (nn.Linear's), nielsen (N(0, 1/n) weights, N(0, 1) biases), or siren (SIREN's first-layer and 1/ω₀-scaled hidden-layer uniforms). [default: each activation's recommended scheme, output layer glorot, zero biases]")] = None,
    weight_scale: Annotated[Optional[float], typer.Option("--weight-scale", help="Gain on every initial weight. [default: 1]")] = None,
    no_bias: Annotated[bool, typer.Option("--no-bias", help="No layer has a bias (speed is then measured on the pre-activations: what the bias gradient would be).")] = False,
    epochs: Annotated[Optional[int], typer.Option(help="Training epochs; 0 measures at initialisation only. [default: 5]")] = None,
    steps: Annotated[Optional[int], typer.Option("--steps", help="The budget in optimiser steps instead of --epochs (0: measure at initialisation only).")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Learning rate. [default: 0.1]")] = None,
    optimizer: Annotated[Optional[str], typer.Option(help="sgd or adam. [default: sgd]")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="[default: 10]")] = None,
    l2: Annotated[Optional[float], typer.Option("--l2", help="L2 λ: weight decay λ/n (n = training examples) on every parameter. [default: 0; nielsen: 5]")] = None,
    clip_value: Annotated[Optional[float], typer.Option("--clip-value", help="Clamp each gradient element to [-v, v].")] = None,
    clip_norm: Annotated[Optional[float], typer.Option("--clip-norm", help="Rescale the gradient to global norm ≤ v.")] = None,
    seeds: Annotated[Optional[int], typer.Option(help="Seeds per activation. [default: 3; nielsen: 5]")] = None,
    every: Annotated[Optional[int], typer.Option("--every", help="Measure every k optimiser steps instead of after every epoch.")] = None,
    eval_size: Annotated[Optional[int], typer.Option("--eval-size", help="The first N training examples are the evaluation batch. [default: 1000]")] = None,
    subset: Annotated[Optional[int], typer.Option(help="Train on the first N training examples only.")] = None,
    saturation_threshold: Annotated[Optional[float], typer.Option("--saturation-threshold", help="A (example, unit) pair is saturated when |f′(z)| is below this fraction of max |f′| (0.2: a sigmoid below 0.053 or above 0.947). [default: 0.01]")] = None,
    preset: Annotated[Optional[str], typer.Option(help="nielsen, exploding or dying-relu (explicit options override the preset).")] = None,
    compare_acts: Annotated[Optional[str], typer.Option("--compare-acts", help="Comma-separated activations run with the same setup, e.g. sigmoid,tanh,relu,selu,gelu.")] = None,
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="Activation parameter NAME=VALUE (repeatable; applies to every activation that has it).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", parser=path_value, help="Output directory. [default: runs/diagnose-<name>-<hash>]")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON (keys: verdict, layers, growth_factor, clipped_fraction).")] = False,
) -> None:
    """Measure per-layer speed of learning, gradient norms, dead and saturated units; give a verdict.

    Writes OUT/diagnostics.json, OUT/diagnostics.sqlite (a re-run with the same options skips
    finished seeds) and figures. Presets: nielsen (Nielsen ch. 5 vanishing gradients on MNIST),
    exploding (one-unit chain, w = 100), dying-relu (ReLU with a too-large learning rate).
    """
    from actlab.diagnostics.presets import PRESETS, Setup, preset_defaults

    if preset is not None and preset not in PRESETS:
        fail(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if act is not None and compare_acts is not None:
        fail("give either --act or --compare-acts, not both")
    if clip_value is not None and clip_norm is not None:
        fail("give either --clip-value or --clip-norm, not both")
    values: dict[str, Any] = preset_defaults(preset)
    if act is not None:
        values["activations"] = (act.strip(),)
    if compare_acts is not None:
        values["activations"] = _split(compare_acts, "--compare-acts")
    params = parse_params(param)
    explicit = {"depth": depth, "width": width, "dataset": dataset, "init": init, "epochs": epochs, "lr": lr,
                "optimizer": optimizer, "batch_size": batch_size, "l2": l2, "clip_value": clip_value,
                "clip_norm": clip_norm, "seeds": seeds, "every": every, "eval_size": eval_size, "subset": subset,
                "saturation_threshold": saturation_threshold, "weight_scale": weight_scale, "steps": steps}
    if no_bias:
        values["no_bias"] = True
    if steps is not None and epochs is not None:
        fail("give either --epochs or --steps, not both")
    values.update({k: v for k, v in explicit.items() if v is not None})
    values["params"] = tuple(sorted(params.items()))
    values["preset"] = preset
    setup = Setup(**values)
    setup.validate()
    import actlab

    known: set[str] = set()
    for name in setup.activations:
        known.update(actlab.get(name).param_names)  # unknown names: a clear error (with suggestions) first
    unused = sorted(set(params) - known)
    if unused:
        fail(f"--param {', '.join(unused)}: no activation in {', '.join(setup.activations)} has such a parameter")
    target = out if out is not None else _default_out(setup)
    if target.exists() and not target.is_dir():
        fail(f"-o {target}: a file of that name exists")
    if preset == "exploding":
        _exploding(setup, target, json)
        return
    _train(setup, target, json)


def _exploding(setup: Any, target: Path, json: bool) -> None:
    from actlab.analysis.layer_measures import EXPLODING_RATIO, VANISHING_RATIO
    from actlab.diagnostics.exploding import run_exploding
    from actlab.diagnostics.figures import exploding_figure

    if len(setup.activations) != 1:
        fail("the exploding preset takes one activation (--act), not --compare-acts")
    if setup.depth < 2:
        fail("the exploding preset needs --depth of at least 2 (a growth factor is between two layers)")
    result = run_exploding(setup.depth, setup.activations[0], lr=setup.lr, clip_value=setup.clip_value,
                           clip_norm=setup.clip_norm, saturation_threshold=setup.saturation_threshold)
    speeds = [abs(g) for g in result["bias_gradients"]]
    ratio = speeds[0] / speeds[-1] if speeds[-1] > 0 else math.inf
    result["verdict"] = "exploding" if ratio > EXPLODING_RATIO else "vanishing" if ratio < VANISHING_RATIO else "healthy"
    method = "norm" if setup.clip_norm is not None else "value"
    result["clipped_fraction"] = result["updates"][method]["elements_changed"] / (2 * setup.depth)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        fail(f"cannot create {target}: {error}")
    figure = exploding_figure(result, target / "exploding.png")
    _write_json(target / "diagnostics.json", {**result, "summary": json_summary(result), "figures": [str(figure)]})
    if json:
        sys_print(json_summary(result))
    else:
        _print_exploding(result)
        console.print(f"wrote {target / 'diagnostics.json'} and {figure}", highlight=False, soft_wrap=True)


def sys_print(data: Any) -> None:
    import sys

    sys.stdout.write(jsonlib.dumps(strict(data), indent=2, allow_nan=False) + "\n")


def _train(setup: Any, target: Path, json: bool) -> None:
    from actlab.diagnostics.db import DiagnoseStore
    from actlab.diagnostics.figures import write_figures
    from actlab.diagnostics.run import run_setup

    total = len(setup.activations) * setup.seeds
    done = [0]

    def on_run(run_id: str, message: str) -> None:  # every run of a small setup; every 100th of a large one
        done[0] += 1
        if not json and (total <= 20 or done[0] % 100 == 0 or done[0] == total or not message.startswith("finished")):
            counter = f"[{done[0]}/{total}] " if total > 20 else ""
            err_console.print(f"  {counter}{run_id}: {message}", highlight=False)

    if not json:
        err_console.print(f"actlab diagnose: {len(setup.activations)} × {setup.seeds} runs → {target}", highlight=False)
    summary = run_setup(setup, target, on_run=on_run)
    if not summary["activations"]:
        fail("no run finished")
    with DiagnoseStore(target) as store:
        figures = write_figures(summary, store, target)
    from actlab.diagnostics.mean_field import compare_at_init, summary_lines
    from actlab.diagnostics.run import load_data

    data = load_data(setup)
    mean_field = compare_at_init(setup, data.x_eval, data.num_classes, target)
    _write_json(target / "diagnostics.json", {**summary, "summary": json_summary(summary),
                                               "figures": [str(p) for p in figures], "mean_field": mean_field})
    if json:
        sys_print(json_summary(summary))
    else:
        _print_table(summary)
        console.print("\n".join(summary_lines(mean_field)), highlight=False, soft_wrap=True)
        console.print(f"wrote {target / 'diagnostics.json'}, {target / 'diagnostics.sqlite'} and "
                      f"{len(figures)} figures in {target}", highlight=False, soft_wrap=True)
