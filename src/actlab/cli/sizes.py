"""What ``actlab compare`` prints after a sweep: each arm's parameter count and forward FLOPs (from the store)."""
from __future__ import annotations

from pathlib import Path

from rich.table import Table

from actlab.cli.app import console

__all__ = ["print_sizes"]


def print_sizes(run_dir: Path) -> None:
    """One row per arm: parameters, their difference from the first arm's, hidden width, FLOPs per example."""
    from actlab.store import Store
    from actlab.store.sizes import read_sizes

    with Store(run_dir, readonly=True) as store:
        sizes = read_sizes(store)
        order = list(dict.fromkeys(run.label for run in store.runs()))
    rows = [sizes[label] for label in order if label in sizes]
    if not rows:
        return
    first = rows[0].n_parameters
    table = Table(title="model size per arm", title_justify="left", box=None, padding=(0, 1))
    for column in ("activation", "parameters", "vs first", "hidden width", f"FLOPs / {rows[0].flops_unit}"):
        table.add_column(column, justify="left" if column == "activation" else "right")
    for row in rows:
        table.add_row(row.label, f"{row.n_parameters:,}", f"{100 * (row.n_parameters - first) / first:+.2f} %",
                      str(row.hidden_width), f"{row.flops:,}")
    console.print(table)
