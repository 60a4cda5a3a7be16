"""``actlab list``, ``actlab show``, ``actlab eval``: the catalog from the command line."""
from __future__ import annotations

import functools
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

import actlab
from actlab.catalog.equivalents import equivalents_for
from actlab.cli.app import app, console, err_console, parse_floats, parse_params, print_json
from actlab.cli.names import check_names
from actlab.cli.options import ActivationArgument, JsonFlag, ParamOption
from actlab.text import plain as _plain


@app.command("list")
def list_command(json: JsonFlag = False) -> None:
    """Every activation in the catalog, with a one-line summary."""
    rows = _light_rows()
    if json:
        print_json([
            {"name": name, "aliases": list(aliases), "summary": summary, "family": family, "source": source}
            for name, aliases, family, summary, source in rows
        ])
        return
    table = Table(title=f"actlab catalog ({len(rows)} activations)")
    table.add_column("name", style="bold")
    table.add_column("aliases")
    table.add_column("family")
    table.add_column("summary")
    for name, aliases, family, summary, _ in rows:
        table.add_row(name, ", ".join(aliases), family, summary)
    console.print(table)


def _light_rows() -> list[tuple[str, tuple[str, ...], str, str, str]]:
    """The catalog's plain-data index plus the saved formulas, sorted by name: no torch import (fast start-up)."""
    from actlab.catalog.index import INDEX
    from actlab.errors import ActlabError
    from actlab.formula.store import read_saved

    rows = {name: (name, aliases, family, summary, "catalog") for name, aliases, family, summary in INDEX}
    try:
        saved = read_saved()
    except ActlabError as error:  # a broken file warns, as the registry does
        err_console.print(f"warning: {error}", highlight=False, markup=False)
        saved = {}
    for name, entry in saved.items():
        if name not in rows and isinstance(entry, dict):
            formula = str(entry.get("formula", ""))
            rows[name] = (name, (), "formula", f"formula activation f(x) = {formula}", "formula")
    return [rows[name] for name in sorted(rows)]


@app.command("show")
def show_command(
    name: ActivationArgument,
    param: ParamOption = None,
    json: JsonFlag = False,
) -> None:
    """Formula, derivative, parameters, recommended init, notes and references of one activation."""
    check_names([name])
    params = checked_params(param)
    info = _cached_if_catalog("show", name, params, lambda: describe(name, params))
    if json:
        print_json(info)
        return
    say = functools.partial(console.print, highlight=False, markup=False)  # spec text is not rich markup
    aliases = info["aliases"]
    console.print(Text(info["name"], style="bold") + Text(f"  (aliases: {', '.join(aliases)})" if aliases else ""))
    say(info["summary"])
    say(f"  f(x)  = {info['formula']}")
    say(f"  f'(x) = {info['derivative_formula']}")
    if info["latex"]:
        say(f"  LaTeX: {info['latex']}")
    if info["params"]:
        say("parameters:")
        for p in info["params"]:
            learn = " (learnable)" if p["learnable"] else ""
            say(f"  {p['name']} = {_plain(p['default'])}{learn}  range {p['range']}  — {p['doc']}; default from "
                f"{p['source']}")
    if info["kinks"]:
        say(f"kinks at x = {', '.join(f'{k:g}' for k in info['kinks'])}: {info['kink_convention']}")
    say(f"recommended init: {info['init']['scheme']} — {info['init']['reason']}")
    if info.get("properties"):
        say("properties:")
        for key, value in info["properties"].items():
            if key == "relative_cost_spread":
                continue
            if key == "relative_cost":
                from actlab.cli.numbers import cost_text

                value = cost_text(value, info["properties"].get("relative_cost_spread")) + " (× relu)"
            say(f"  {key}: {_plain(value)}")
    say(f"module (actlab.nn.create, impl='auto'): {info['module']['text']}")
    if info.get("export"):  # the record's declaration (spec.describe): exporter -> exports, reason
        labels = {"torch.export": "torch.export", "onnx": "ONNX"}
        status = " · ".join(f"{labels.get(k, k)} ✓" if v["exports"] else f"{labels.get(k, k)} ✗ ({v['reason']})"
                            for k, v in info["export"].items())
        say(f"export (declared; the tests round-trip every record through onnxruntime): {status}")
    _print_equivalents(info["equivalents"], say)
    if info["notes"]:
        say("notes:")
        for note in info["notes"]:
            say(f"  • {note}")
    if info["references"]:
        say("references:")
        for ref in info["references"]:
            say(f"  • {ref}")


def describe(name: str, params: dict) -> dict:
    """What ``show`` prints, as plain data: the record's description, properties, module and equivalents."""
    spec = actlab.get(name, **params)
    info = spec.describe()
    extra = _properties_or_none(spec)
    if extra is not None:
        info["properties"] = extra
    info["equivalents"] = equivalents_for(spec.name)
    info["module"] = _module_impl(spec)
    return info


def _cached_if_catalog(kind: str, name: str, params: dict, compute):
    """``compute()``, through the disk cache when ``name`` is a catalog record (:mod:`actlab.cli.cache`)."""
    from actlab.catalog.index import INDEX

    catalog = {n.lower() for n, _, _, _ in INDEX} | {a.lower() for _, aliases, _, _ in INDEX for a in aliases}
    if name.strip().lower() not in catalog:
        return compute()
    from actlab.cli.cache import cached_json

    key = f"{name.strip().lower()}|{sorted(params.items())}"
    return cached_json(kind, key, compute)


def _module_impl(spec: actlab.ActivationSpec) -> dict[str, str]:
    """What ``actlab.nn.create(spec)`` runs (read from the module itself): torch's own op, or actlab's Function, compiled for
    large tensors where ``impl="auto"`` has no native op."""
    from actlab.compile_policy import ELEMENTWISE_MIN_NUMEL
    from actlab.nn import create

    module = create(spec)
    if module.impl == "native":
        return {"impl": "native", "text": f"the native PyTorch op ({spec.native.__module__}.{spec.native.__qualname__}), "
                                          "torch's own autograd; impl='reference' gives the analytic-derivative Function"}
    function = ("actlab's autograd Function (backward from the analytic derivative; saves its input and any "
                "tensor-valued parameter, not the forward's intermediates)")
    if getattr(module, "fused", False):
        return {"impl": "fused", "text": f"{function}; forward and backward each one torch.compile-d kernel from "
                                         f"{ELEMENTWISE_MIN_NUMEL:,} elements, eager below"}
    return {"impl": "reference", "text": function}


def _print_equivalents(rows: list, say) -> None:
    if not rows:
        return
    say("equivalents:")
    for row in rows:
        say(f"  {row['framework']}: {row['name']}")
        for difference in row["differences"]:
            say(f"      differs: {difference}")


def _properties_or_none(spec: actlab.ActivationSpec) -> dict | None:
    """The computed property table, (actlab.analysis)."""
    try:
        from actlab.analysis import properties
    except ImportError:
        return None
    return properties(spec).to_dict()


DEFAULT_X = "-3,-2,-1,-0.5,0,0.5,1,2,3"  # eval's grid when --x is not given


@app.command("eval")
def eval_command(
    name: ActivationArgument,
    x: Annotated[str, typer.Option("--x", help="Comma-separated inputs, e.g. --x=-1,0.5,3.")] = DEFAULT_X,
    param: ParamOption = None,
    json: JsonFlag = False,
) -> None:
    """Values f(x) and analytic derivatives f'(x) at the given points (float64)."""
    check_names([name])
    params = checked_params(param)
    points = parse_floats(x, "--x")
    # a catalog record's values are cached on disk like show's (the same inputs give the same floats): a repeated
    # eval need not import torch
    data = _cached_if_catalog("eval", name, {**params, "--x": tuple(points)}, lambda: _evaluate(name, params, points))
    if json:
        print_json({key: data[key] for key in ("name", "params", "x", "y", "dy")})
        return
    xs, y, dy = data["x"], data["y"], data["dy"]
    table = Table(title=f"{data['name']}" + (f" ({', '.join(f'{k}={v}' for k, v in data['params'].items())})"
                                            if data["params"] else ""))
    table.add_column("x", justify="right")
    table.add_column("f(x)", justify="right")
    table.add_column("f'(x)", justify="right")
    if data["kind"] == "gated":  # output i = value i · act(gate i): printed beside the value's row
        for i, (xi, di) in enumerate(zip(xs, dy)):
            yi = y[i] if i < len(xs) // 2 else None
            table.add_row(f"{xi:.6g}", "" if yi is None else f"{yi:.10g}", f"{di:.10g}")
    elif data["kind"] == "grouped":
        k = data["params"]["k"]
        for i, xi in enumerate(xs):
            yi = y[i // k] if i % k == 0 else None
            table.add_row(f"{xi:.6g}", "" if yi is None else f"{yi:.10g}", f"{dy[i]:.10g}")
    else:
        for xi, yi, di in zip(xs, y, dy):
            table.add_row(f"{xi:.6g}", f"{yi:.10g}", f"{di:.10g}")
    console.print(table)


def _evaluate(name: str, params: dict, points: list[float]) -> dict:
    """f and f' of the activation at ``points`` (float64), as plain data."""
    spec = actlab.get(name, **params)
    resolved = spec.resolve()
    import torch

    xs = torch.tensor(points, dtype=torch.float64)
    try:
        y = spec.forward(xs, **resolved)
        dy = spec.derivative(xs, **resolved)
    except (ValueError, IndexError) as error:  # maxout length not divisible by k; softmax dim out of range
        raise actlab.ActlabError(str(error)) from None
    return {"name": spec.name, "params": resolved, "kind": spec.kind, "x": xs.tolist(), "y": y.tolist(),
            "dy": dy.tolist()}


def checked_params(pairs: list[str] | None) -> dict:
    """--param NAME=VALUE pairs; a name the formula language reserves (self, identifier, ...) is refused here,
    before it can collide with a keyword argument of the functions that receive the parameters."""
    params = parse_params(pairs)
    if params:  # the check's module imports torch: only when there is something to check
        from actlab.formula.checks import check_param_names

        check_param_names(params)
    return params
