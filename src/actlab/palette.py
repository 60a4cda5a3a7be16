"""The one palette: a stable colour per activation (the same in every figure, report and page), and class colours."""
from __future__ import annotations

import zlib
from collections.abc import Sequence

__all__ = ["NAMED_COLORS", "PALETTE", "CLASS_COLORS", "color_for", "colors_for"]

# the activations most often compared get the ten most distinct colours (tab10) ...
NAMED_COLORS: dict[str, str] = {
    "relu": "#1f77b4", "gelu": "#d62728", "silu": "#ff7f0e", "tanh": "#2ca02c", "sigmoid": "#9467bd",
    "elu": "#8c564b", "leaky_relu": "#17becf", "selu": "#e377c2", "softplus": "#7f7f7f", "mish": "#bcbd22",
    "identity": "#000000",
}
# ... everything else a colour from this palette by catalog position (formulas: by a hash of the name)
PALETTE: tuple[str, ...] = (
    "#393b79", "#1b9e77", "#e7298a", "#7570b3", "#e6ab02", "#a6761d", "#00429d", "#66a61e", "#4a1486", "#843c39",
    "#b15928", "#31a354", "#756bb1", "#8c6d31", "#ad494a", "#637939", "#7b4173", "#e6550d", "#17a589", "#5d6d7e",
)
# data-set classes (tab10 order)
CLASS_COLORS: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)


def _catalog_order() -> dict[str, int]:
    from actlab.catalog import BUILTIN

    return {spec.name: i for i, spec in enumerate(BUILTIN)}


def color_for(name: str) -> str:
    """A stable colour for an activation: by catalog position, else by a hash of the name (formulas)."""
    if name in NAMED_COLORS:
        return NAMED_COLORS[name]
    index = _catalog_order().get(name)
    if index is None:
        index = zlib.crc32(name.encode("utf-8"))
    return PALETTE[index % len(PALETTE)]


def colors_for(labels: Sequence[str]) -> dict[str, str]:
    """Stable colours for the activations of one figure, never two alike."""
    colors: dict[str, str] = {}
    spare = [*CLASS_COLORS, *PALETTE]
    for label in labels:
        color = color_for(label)
        if color in colors.values():  # two compared activations must not share a colour
            color = next((c for c in spare if c not in colors.values()), color)
        colors[label] = color
    return colors
