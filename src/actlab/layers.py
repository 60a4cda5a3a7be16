"""The layer table: which parts of actlab may import which.

Layers are listed lowest first.  A module may import modules of its own layer
(sideways, never in a cycle) and of any layer below; never one above — lazy
imports inside functions and ``TYPE_CHECKING`` imports included, since each is
still a dependency.  ``tests/meta/test_layout.py`` checks every import against
this table, and the README's Layout section prints :func:`markdown`.

A member is a path below ``actlab`` (``"nn"``, ``"analysis.depth"``); a module
belongs to its longest matching member.  The package root ``actlab`` is the
public facade: it re-exports names lazily and sits above everything.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Layer", "LAYERS", "layer_of", "member_of", "markdown", "with_table"]


@dataclass(frozen=True)
class Layer:
    """One row of the table: its members and what they hold."""

    name: str
    members: tuple[str, ...]
    holds: str


LAYERS: tuple[Layer, ...] = (
    Layer("foundations", ("errors", "compile_policy", "fused", "layers", "text"),
          "error types and suggestions; values as text; when to compile and the fused kernel; this table"),
    Layer("record", ("spec", "spec_html", "registry"),
          "`ActivationSpec` (forward, derivative, parameters, init), its notebook display, the pure name/alias table"),
    Layer("activations", ("catalog", "formula", "palette"),
          "the built-in records; formulas parsed into records (SymPy → torch); one colour per activation"),
    Layer("resolve", ("resolve",),
          "names, aliases and formulas → specs (`actlab.get`)"),
    Layer("modules", ("nn", "testing"),
          "torch modules from specs (`actlab.nn.create`), Maxout, PerNeuron, AlphaDropout; the conformance checker"),
    Layer("models", ("data", "models", "analysis"),
          "data sets, the model builder, properties and signal-propagation analysis"),
    Layer("train", ("train",),
          "configs, the driver, the engines, optimisers; probes it is given"),
    Layer("experiments", ("store", "diagnostics", "lab2d", "analysis.depth"),
          "the SQLite store; experiments as configurations of the core: diagnostics, the 2-D lab, depth"),
    Layer("report", ("report",),
          "statistics, figures and the rendered report: reads a store only"),
    Layer("sweep", ("sweep", "search"),
          "the options table, plans, runs (and their report), sinks (events → store); the activation search"),
    Layer("apps", ("web", "docsgen", "api"),
          "the playground, the docs generator, the notebook API (`actlab.compare`)"),
    Layer("cli", ("cli",),
          "thin Typer commands"),
)


def member_of(module: str) -> str | None:
    """The table member ``module`` (``"actlab.nn.fused"`` or ``"nn.fused"``) belongs to, or None."""
    path = module.removeprefix("actlab").lstrip(".")
    best: str | None = None
    for layer in LAYERS:
        for member in layer.members:
            if (path == member or path.startswith(member + ".")) and (best is None or len(member) > len(best)):
                best = member
    return best


def layer_of(module: str) -> int | None:
    """The layer number (1 = lowest) of ``module``, or None when the table does not place it."""
    member = member_of(module)
    for number, layer in enumerate(LAYERS, start=1):
        if member in layer.members:
            return number
    return None


def markdown() -> str:
    """The table as Markdown (what the README's Layout section shows)."""
    lines = [
        "| # | layer | members (`actlab.…`) | holds |",
        "|---|-------|----------------------|-------|",
    ]
    for number, layer in enumerate(LAYERS, start=1):
        members = ", ".join(f"`{member}`" for member in layer.members)
        lines.append(f"| {number} | {layer.name} | {members} | {layer.holds} |")
    return "\n".join(lines) + "\n"


START, END = "<!-- layers:start -->", "<!-- layers:end -->"


def with_table(readme: str) -> str:
    """``readme`` with the text between the layer markers replaced by :func:`markdown`."""
    head, start, rest = readme.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"the README has no {START} … {END} block")
    return f"{head}{START}\n{markdown()}{END}{tail}"


if __name__ == "__main__":  # python -m actlab.layers README.md: rewrite the README's table
    import sys
    from pathlib import Path

    for name in sys.argv[1:] or ["README.md"]:
        path = Path(name)
        path.write_text(with_table(path.read_text()))
