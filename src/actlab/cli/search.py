"""``actlab search``: discover activations — thin; :func:`actlab.search.run.search` generates, screens, races and
reports."""
from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from actlab.cli.app import app, console, err_console, print_json
from actlab.cli.options import JsonFlag

__all__ = ["search_command"]


@app.command("search")
def search_command(
    out: Annotated[Path, typer.Option("--out", help="Directory for the store and report.html (same command: resume).")],
    space: Annotated[str, typer.Option("--space", help="The search space: ramachandran.")] = "ramachandran",
    depth: Annotated[int, typer.Option("--depth", help="Core units: 1 = b(u1(x), u2(x)); 2 = two nested.")] = 1,
    task: Annotated[str, typer.Option("--task", help="The data set the race trains on: mnist1d or digits.")] = "mnist1d",
    budget: Annotated[str, typer.Option("--budget", help="Wall clock (20m, 90s, 1h) or candidate-steps (200000steps).")] = "20m",
    seed: Annotated[int, typer.Option("--seed", help="Seeds the sampled order and the training seeds.")] = 0,
    unary: Annotated[Optional[str], typer.Option("--unary", help="Comma list of unary functions (default: all 25).")] = None,
    binary: Annotated[Optional[str], typer.Option("--binary", help="Comma list of binary functions (default: all 10).")] = None,
    formula: Annotated[Optional[list[str]], typer.Option("--formula", help="A formula of your own to race too (repeatable).")] = None,
    screen: Annotated[Optional[str], typer.Option("--screen", help="Screen rules: all, none, a comma list, or -rule to drop one.")] = None,
    normalise: Annotated[bool, typer.Option("--normalise", help="Train (f - E f(z)) / sqrt(Var f(z)), z ~ N(0, 1) (AQuaSurF).")] = False,
    top_k: Annotated[int, typer.Option("--top-k", help="Finalists compared with the baselines.")] = 3,
    final_seeds: Annotated[int, typer.Option("--final-seeds", help="Seeds of the final round (at least 5 for the tests to mean much).")] = 5,
    baselines: Annotated[str, typer.Option("--baselines", help="Comma list of catalog activations to beat.")] = "relu,gelu,silu",
    engine: Annotated[str, typer.Option("--engine", help="local (the grid engine here) or ray (each chunk a Ray task).")] = "local",
    json: JsonFlag = False,
) -> None:
    """Discover activations: generate formulas, screen them, race the survivors, compare the best with baselines."""
    from actlab.resolve import get
    from actlab.search.run import search

    names = [name.strip() for name in baselines.split(",") if name.strip()]
    for name in names:
        get(name)  # an unknown name exits 2 with suggestions

    def progress(line: str) -> None:
        err_console.print(line, highlight=False, soft_wrap=True, markup=False)

    summary = search(out=out, task=task, space=space, depth=depth, unary=unary, binary=binary, extra=formula or (),
                     budget=budget, seed=seed, screen=screen, normalise=normalise, top_k=top_k,
                     final_seeds=final_seeds, baselines=names, engine=engine, progress=progress,
                     command=shlex.join(["actlab", *sys.argv[1:]]))
    if summary is None:
        raise typer.Exit(130)
    if json:
        print_json(summary.to_json())
        return
    f = summary.funnel
    console.print(f"{f['generated']} generated → {f['distinct']} distinct → {f['screened']} screened → "
                  f"{f['raced']} raced → {f['final']} final", highlight=False)
    for leader in summary.leaders:
        verdict = "significantly better than every baseline" if leader.better else "not significantly better"
        console.print(f"  {leader.formula}: {leader.mean if leader.mean is not None else float('nan'):.4f} ({verdict})",
                      highlight=False, markup=False)
    console.print(f"report: {Path(out) / 'report.html'}", highlight=False)
