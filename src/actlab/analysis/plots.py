"""Figures of activations: functions that take specs (or data) and return a matplotlib ``Figure``.

No pyplot: every figure is a ``matplotlib.figure.Figure`` on an Agg canvas, so
nothing touches global state and the functions are safe in tests, servers and
threads.  Colours come from :func:`color_for`, one stable colour per activation
name, shared with the report.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from actlab.analysis.table import evaluate, properties
from actlab.palette import NAMED_COLORS, PALETTE, color_for
from actlab.resolve import get
from actlab.spec import ActivationSpec

__all__ = ["color_for", "plot_activations", "plot_gallery", "save", "PALETTE", "NAMED_COLORS"]

SAMPLES = 1201


def _resolve(specs: Iterable[ActivationSpec | str] | ActivationSpec | str) -> list[ActivationSpec]:
    if isinstance(specs, (str, ActivationSpec)):
        specs = [specs]
    return [get(s) for s in specs]


def _label(spec: ActivationSpec) -> str:
    changed = {p.name: p.default for p in spec.params if p.source == "set by user"}
    if not changed:
        return spec.name
    return f"{spec.name} ({', '.join(f'{k}={v:g}' for k, v in changed.items())})"


def _curves(spec: ActivationSpec, x_range: tuple[float, float], samples: int = SAMPLES) -> dict[str, Any]:
    """x, f, f' with NaN breaks at jumps (of f) and kinks (of f'), plus the property record."""
    props = properties(spec, measure_cost=False)
    low, high = x_range
    kinks = [k for k in (props.kinks or ()) if low <= k <= high]
    x = np.linspace(low, high, samples)
    domain_low, domain_high = spec.domain
    x = x[(x > domain_low) & (x < domain_high)]
    eps = 1e-9 * max(1.0, high - low)
    extra = [k + s * eps for k in kinks for s in (-1.0, 1.0)]
    x = np.unique(np.concatenate([x, np.array(extra), np.array(kinks)]))
    f, df = evaluate(spec, x)
    f, df = f.copy(), df.copy()
    f[~np.isfinite(f)] = np.nan
    df[~np.isfinite(df)] = np.nan
    # break the lines: f' at every kink, f only where it jumps
    f_break = np.zeros(len(x), dtype=bool)
    d_break = np.zeros(len(x), dtype=bool)
    for k in kinks:
        at = np.isclose(x, k, rtol=0, atol=eps / 2)
        d_break |= at
        if not props.continuous:
            left, right = evaluate(spec, np.array([k - eps, k + eps]))[0]
            if abs(right - left) > 1e-6 * (1 + abs(left)):
                f_break |= at
    f_line, d_line = f.copy(), df.copy()
    f_line[f_break] = np.nan
    d_line[d_break] = np.nan
    f_kink, d_kink = evaluate(spec, np.array(kinks, dtype=float)) if kinks else (np.array([]), np.array([]))
    return {"x": x, "f": f_line, "df": d_line, "kinks": np.array(kinks, dtype=float), "f_kinks": f_kink, "df_kinks": d_kink, "props": props}


def _limits(curves: Sequence[np.ndarray], cap_factor: float = 2.0, floor: float = 1.5) -> tuple[float, float]:
    """y-limits covering every curve, capped when one (exp, x²) dwarfs the others."""
    lows, highs = [], []
    for values in curves:
        finite = values[np.isfinite(values)]
        if finite.size:
            lows.append(float(finite.min()))
            highs.append(float(finite.max()))
    if not lows:
        return -1.0, 1.0
    low, high = min(lows), max(highs)
    if len(lows) > 1:
        typical = float(np.median([max(abs(a), abs(b)) for a, b in zip(lows, highs)]))
        cap = max(floor, cap_factor * typical)
        low, high = max(low, -cap), min(high, cap)
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    pad = 0.06 * (high - low)
    return low - pad, high + pad


def _style_axes(ax: Any, title: str, x_range: tuple[float, float], fontsize: float = 11) -> None:
    ax.set_title(title, fontsize=fontsize)
    ax.set_xlim(*x_range)
    ax.axhline(0.0, color="0.75", linewidth=0.8, zorder=0)
    ax.axvline(0.0, color="0.75", linewidth=0.8, zorder=0)
    ax.grid(True, color="0.92", linewidth=0.6)
    ax.set_axisbelow(True)


def plot_activations(
    specs: Iterable[ActivationSpec | str] | ActivationSpec | str,
    x_range: tuple[float, float] = (-6.0, 6.0),
    *,
    shade_saturation: bool = True,
) -> Figure:
    """f (left) and f' (right) of every activation on one grid, with a shared legend below.

    Saturation regions (|f'| below 1 % of its maximum, from the property table)
    are shaded in the activation's colour; kinks are marked with circles (filled
    on f, open on f' at the derivative's declared value).  Each curve's ``gid``
    is ``"f:NAME"`` / ``"df:NAME"``; kink markers are ``"kinks:NAME"``.
    """
    specs = _resolve(specs)
    if not specs:
        raise ValueError("plot_activations needs at least one activation")
    x_range = (float(x_range[0]), float(x_range[1]))
    figure = Figure(figsize=(12.0, 5.4), layout="constrained")
    FigureCanvasAgg(figure)
    ax_f, ax_d = figure.subplots(1, 2)
    _style_axes(ax_f, "f(x)", x_range)
    _style_axes(ax_d, "f′(x)", x_range)
    ax_f.set_xlabel("x")
    ax_d.set_xlabel("x")
    handles: list[Line2D] = []
    all_f, all_d = [], []
    for spec in specs:
        data = _curves(spec, x_range)
        color = color_for(spec.name)
        label = _label(spec)
        (line,) = ax_f.plot(data["x"], data["f"], color=color, linewidth=2.0, label=label, gid=f"f:{spec.name}")
        ax_d.plot(data["x"], data["df"], color=color, linewidth=2.0, label=label, gid=f"df:{spec.name}")
        handles.append(line)
        all_f.append(data["f"])
        all_d.append(data["df"])
        if data["kinks"].size:
            ax_f.plot(data["kinks"], data["f_kinks"], "o", color=color, markersize=6, zorder=5, gid=f"kinks:{spec.name}")
            ax_d.plot(data["kinks"], data["df_kinks"], "o", markerfacecolor="white", markeredgecolor=color,
                      markeredgewidth=1.5, markersize=6, zorder=5, gid=f"kinks:{spec.name}")
        props = data["props"]
        if shade_saturation:
            for ax in (ax_f, ax_d):
                if props.saturation_low is not None and props.saturation_low > x_range[0]:
                    ax.axvspan(x_range[0], min(props.saturation_low, x_range[1]), color=color, alpha=0.06, linewidth=0, gid=f"saturation:{spec.name}")
                if props.saturation_high is not None and props.saturation_high < x_range[1]:
                    ax.axvspan(max(props.saturation_high, x_range[0]), x_range[1], color=color, alpha=0.06, linewidth=0, gid=f"saturation:{spec.name}")
    ax_f.set_ylim(*_limits(all_f))
    ax_d.set_ylim(*_limits(all_d))
    extra = []
    if shade_saturation:
        from matplotlib.patches import Patch

        extra.append(Patch(color="0.5", alpha=0.2, label="saturated: |f′| < 1 % of max"))
    if any(line.get_gid() and line.get_gid().startswith("kinks:") for line in ax_f.get_lines()):
        extra.append(Line2D([], [], marker="o", linestyle="none", color="0.3", label="kink"))
    columns = min(len(handles) + len(extra), 6)
    figure.legend(handles=[*handles, *extra], loc="outside lower center", ncol=columns, frameon=False, fontsize=10)
    return figure


def plot_gallery(
    specs: Iterable[ActivationSpec | str] | None = None,
    x_range: tuple[float, float] = (-6.0, 6.0),
    *,
    columns: int = 6,
) -> Figure:
    """One small panel per activation (default: the whole catalog): f solid, f′ dashed, kinks marked."""
    specs = _resolve(specs) if specs is not None else _resolve(_catalog_specs())
    if not specs:
        raise ValueError("plot_gallery needs at least one activation")
    x_range = (float(x_range[0]), float(x_range[1]))
    columns = max(1, min(columns, len(specs)))
    rows = math.ceil(len(specs) / columns)
    figure = Figure(figsize=(2.7 * columns, 2.25 * rows + 0.6), layout="constrained")
    FigureCanvasAgg(figure)
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    for ax, spec in zip(axes, specs):
        data = _curves(spec, x_range, samples=601)
        color = color_for(spec.name)
        _style_axes(ax, _label(spec), x_range, fontsize=10)
        ax.plot(data["x"], data["f"], color=color, linewidth=1.8, gid=f"f:{spec.name}")
        ax.plot(data["x"], data["df"], color=color, linewidth=1.3, linestyle="--", alpha=0.85, gid=f"df:{spec.name}")
        if data["kinks"].size:
            ax.plot(data["kinks"], data["f_kinks"], "o", color=color, markersize=3.5, gid=f"kinks:{spec.name}")
        low, high = _limits([data["f"], data["df"]])
        ax.set_ylim(max(low, -6.5), min(high, 6.5))
        ax.tick_params(labelsize=7)
    for ax in axes[len(specs):]:
        ax.set_visible(False)
    legend = [
        Line2D([], [], color="0.2", linewidth=1.8, label="f(x)"),
        Line2D([], [], color="0.2", linewidth=1.3, linestyle="--", label="f′(x)"),
        Line2D([], [], marker="o", linestyle="none", color="0.2", markersize=4, label="kink"),
    ]
    figure.legend(handles=legend, loc="outside upper center", ncol=3, frameon=False, fontsize=10)
    return figure


def _catalog_specs() -> list[ActivationSpec]:
    from actlab.catalog import BUILTIN

    return list(BUILTIN)


def save(figure: Figure, path: str | Path, dpi: int = 150) -> Path:
    """Write ``figure`` (format from the suffix: png, svg, pdf)."""
    from actlab.errors import ActlabError

    path = Path(path)
    if path.is_dir():
        raise ActlabError(f"cannot write {path}: it is a directory")
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ActlabError(f"cannot write {path}: unknown image type {path.suffix or '(none)'!r}; use .png, .svg or .pdf")
    try:
        figure.savefig(path, dpi=dpi)
    except OSError as error:
        raise ActlabError(f"cannot write {path}: {error.strerror or error}") from None
    except ValueError as error:  # matplotlib: "Format 'txt' is not supported"
        raise ActlabError(f"cannot write {path}: {error}; use .png, .svg or .pdf") from None
    return path
