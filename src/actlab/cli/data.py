"""``actlab data list`` and ``actlab data show``: the datasets from the command line."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from actlab.cli.app import app, console, fail, print_json
from actlab.cli.options import JsonFlag, path_value

data_app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                       help="Datasets: toy 2-D sets, MNIST, MNIST-1D, digits, your CSV/npz files.")
app.add_typer(data_app, name="data", help="Datasets: list them, show sizes, class balance and a picture.")

OptionOption = Annotated[
    Optional[list[str]],
    typer.Option("--option", "-O", help="Loader option as KEY=VALUE, e.g. -O n=500 -O noise=0.1 (repeatable)."),
]


def parse_options(pairs: list[str] | None) -> dict[str, Any]:
    """``["n=500", "noise=0.1", "flatten=false"]`` → typed values (int, float, bool, None or text)."""
    options: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not key:
            fail(f"--option expects KEY=VALUE, got {pair!r}")
        options[key] = _value(raw)
    return options


def _value(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    if lowered in ("none", "null"):
        return None
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            pass
    return raw


@data_app.command("list")
def list_command(json: JsonFlag = False) -> None:
    """Every dataset name, its kind, task and options."""
    from actlab import data

    infos = [data.info(name) for name in data.names()]
    if json:
        print_json([i.as_dict() for i in infos])
        return
    table = Table(title=f"actlab datasets ({len(infos)}; a .csv or .npz path works too)")
    table.add_column("name", style="bold")
    table.add_column("kind")
    table.add_column("task")
    table.add_column("summary")
    for i in infos:
        table.add_row(i.name, i.kind, i.task, i.summary)
    console.print(table)
    console.print("options: actlab data list --json; pass them to show as -O KEY=VALUE", highlight=False)


@data_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="Dataset name, or a path to a .csv / .npz file.")],
    target: Annotated[Optional[str], typer.Option("--target", help="Label column of a CSV (label array of an npz).")] = None,
    option: OptionOption = None,
    json: JsonFlag = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", parser=path_value, help="Write a preview picture (PNG) here.")] = None,
) -> None:
    """Sizes, shapes, class balance and (with -o) a picture of one dataset."""
    options = parse_options(option)
    if target is not None:
        options["target"] = target
    from actlab import data
    from actlab.data.preview import preview, summary

    dataset = data.load(name, **options)
    info = summary(dataset)
    if output is not None and output.suffix.lower() != ".png":
        fail(f"--output: previews are PNG files; got {output.suffix or '(no extension)'!r} in {str(output)!r}")
    if output is not None:
        figure = preview(dataset)
        try:
            figure.savefig(output, format="png")
        except OSError as error:
            fail(f"cannot write {output}: {error}")
        info["preview"] = str(output)
    if json:
        print_json(info)
        return
    console.print(f"[bold]{info['name']}[/]  ({info['task']})", highlight=False)
    console.print(info["description"], highlight=False, markup=False)
    console.print(f"input shape {tuple(info['input_shape'])}"
                  + (f", {info['num_classes']} classes" if info["num_classes"] else ""), highlight=False)
    if "true_boundary" in info:
        console.print(f"true boundary: {info['true_boundary']} = 0  (> 0 is class 1)", highlight=False, markup=False)
    if "classes" in info and info["classes"] != list(range(info["num_classes"])):
        console.print("classes: " + ", ".join(f"{i}={c}" for i, c in enumerate(info["classes"])), highlight=False, markup=False)
    table = Table()
    table.add_column("split", style="bold")
    table.add_column("size", justify="right")
    table.add_column("x shape")
    table.add_column("class counts" if dataset.task == "classification" else "target mean ± std [min, max]")
    for part, entry in info["splits"].items():
        if "class_counts" in entry:
            detail = " ".join(str(c) for c in entry["class_counts"])
        elif "target" in entry:
            t = entry["target"]
            detail = f"{t['mean']:.3g} ± {t['std']:.3g} [{t['min']:.3g}, {t['max']:.3g}]"
        else:
            detail = "-"
        table.add_row(part, str(entry["size"]), str(tuple(entry["x_shape"])), detail)
    if "extrapolation" in info:  # outside the training domain (toy sets)
        far = info["extrapolation"]
        table.add_row("extrapolation", str(far["size"]), f"({far['size']}, 2)", " ".join(str(c) for c in far["class_counts"]))
    console.print(table)
    if output is not None:
        console.print(f"wrote {output}", highlight=False)
