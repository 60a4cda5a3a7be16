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
from actlab.cli.options import path_value, table_command

__all__ = ["diagnose_command", "json_summary", "setup_values", "strict"]

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


def _path(text: str) -> Path:
    try:
        return path_value(text)
    except typer.BadParameter as error:
        fail(f"--out: {error}")
        raise


def _write_json(path: Path, data: Any) -> None:
    try:
        path.write_text(jsonlib.dumps(strict(data), indent=2, allow_nan=False) + "\n")
    except OSError as error:
        fail(f"cannot write {path}: {error}")


@app.command("diagnose")
@table_command("diagnose")
def diagnose_command(
    act: Annotated[Optional[str], typer.Option("--act", help="Hidden activation (name, alias or formula). [default: sigmoid]")] = None,
    l2: Annotated[Optional[float], typer.Option("--l2", help="L2 λ: weight decay λ/n (n = training examples) on every parameter. [default: 0; nielsen: 5]")] = None,
    every: Annotated[Optional[int], typer.Option("--every", help="Measure every k optimiser steps instead of after every epoch.")] = None,
    eval_size: Annotated[Optional[int], typer.Option("--eval-size", help="The first N training examples are the evaluation batch. [default: 1000]")] = None,
    saturation_threshold: Annotated[Optional[float], typer.Option("--saturation-threshold", help="A (example, unit) pair is saturated when |f′(z)| is below this fraction of max |f′| (0.2: a sigmoid below 0.053 or above 0.947). [default: 0.01]")] = None,
    preset: Annotated[Optional[str], typer.Option(help="nielsen, exploding or dying-relu (explicit options override the preset).")] = None,
    compare_acts: Annotated[Optional[str], typer.Option("--compare-acts", help="Comma-separated activations run with the same setup, e.g. sigmoid,tanh,relu,selu,gelu.")] = None,
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="Activation parameter NAME=VALUE (repeatable; applies to every activation that has it).")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON (keys: verdict, layers, growth_factor, clipped_fraction).")] = False,
    table: dict[str, Any] | None = None,
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
    given = dict(table or {})
    out_text = given.pop("out", None)
    out = None if out_text is None else _path(out_text)
    if given.get("clip_value") is not None and given.get("clip_norm") is not None:
        fail("give either --clip-value or --clip-norm, not both")
    if given.get("steps") is not None and given.get("epochs") is not None:
        fail("give either --epochs or --steps, not both")
    values: dict[str, Any] = preset_defaults(preset)
    if act is not None:
        values["activations"] = (act.strip(),)
    if compare_acts is not None:
        values["activations"] = _split(compare_acts, "--compare-acts")
    params = parse_params(param)
    own = {"l2": l2, "every": every, "eval_size": eval_size, "saturation_threshold": saturation_threshold}
    values.update({k: v for k, v in own.items() if v is not None})
    values = setup_values(values, given)
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


def setup_values(values: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """``values`` (a preset's, the command's own options) with the options table's values ``given`` (key → value,
    None: not given): a :class:`Setup` field takes its own; a row that feeds another ``TrainConfig`` field goes to
    ``Setup.train``.  An optimiser's option given for another optimiser is refused, whatever its value."""
    import dataclasses

    from actlab.diagnostics.presets import Setup
    from actlab.errors import ActlabError
    from actlab.sweep.options import OPTIONS, refuse_unused

    fields = {f.name for f in dataclasses.fields(Setup)}
    rows = {option.key: option for option in OPTIONS}
    out = dict(values)
    train = dict(out.pop("train", ()))
    for key, value in given.items():
        if value is None:
            continue
        option = rows[key]
        if key in fields:
            out[key] = value
        elif option.train_field is not None:
            train[option.train_field] = value if option.to_train is None else option.to_train(value)
        else:
            raise ActlabError(f"diagnose does not use {option.flag}")
    refuse_unused(given, {"optimizer": out.get("optimizer", Setup.optimizer)})
    out["train"] = tuple(sorted(train.items()))
    return out
