"""Figures of mean-field signal propagation: the order–chaos phase diagram and the trainability heatmap.

The phase diagram (one panel per activation, after Poole et al. 2016 Fig. 2 and Schoenholz et al.
2017 Fig. 1): the correlation depth scale ξ_c over (σ_w², σ_b²) as a colour map with contours,
the edge of chaos (the critical line, where ξ_c diverges) drawn over it.  The trainability
heatmap (Schoenholz et al. Fig. 6): training accuracy per (σ_w², depth) with the curve 6 ξ_c.
Each returns a ``matplotlib.figure.Figure`` on an Agg canvas (no pyplot state).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from actlab.analysis.signal import phi_of
from actlab.analysis.signal_critical import critical_line, signal_point

__all__ = ["phase_grid", "plot_phase_diagram", "xi_c_curve", "plot_trainability", "XI_C_CAP"]

XI_C_CAP = 1e3  # ξ_c drawn at most this large (it is infinite on the critical line)


def phase_grid(activation: Any, weight_range: tuple[float, float] = (0.5, 4.0),
               bias_range: tuple[float, float] = (0.0, 1.0), points: int = 15) -> dict[str, np.ndarray]:
    """ξ_c (capped at :data:`XI_C_CAP`; NaN where q runs away) on a ``points`` × ``points`` (σ_b², σ_w²) grid."""
    phi = phi_of(activation)
    ws = np.linspace(*weight_range, points)
    bs = np.linspace(*bias_range, points)
    xi = np.full((len(bs), len(ws)), np.nan)
    for i, b in enumerate(bs):
        for j, w in enumerate(ws):
            point = signal_point(phi, float(w), float(b), critical=False)
            if point.xi_c is not None:
                xi[i, j] = min(abs(point.xi_c), XI_C_CAP) if point.xi_c != 0 else np.nan
    return {"weight_variance": ws, "bias_variance": bs, "xi_c": xi}


def plot_phase_diagram(activations: Sequence[Any], weight_range: tuple[float, float] = (0.5, 4.0),
                       bias_range: tuple[float, float] = (0.0, 1.0), points: int = 15) -> Figure:
    """One panel per activation: ξ_c over (σ_w², σ_b²), its contours, and the critical line."""
    n = len(activations)
    columns = min(n, 3)
    rows = math.ceil(n / columns)
    figure = Figure(figsize=(4.6 * columns, 3.9 * rows), layout="constrained")
    FigureCanvasAgg(figure)
    norm = LogNorm(vmin=0.5, vmax=XI_C_CAP)
    image = None
    for index, activation in enumerate(activations):
        phi = phi_of(activation)
        ax = figure.add_subplot(rows, columns, index + 1)
        grid = phase_grid(phi, weight_range, bias_range, points)
        ws, bs, xi = grid["weight_variance"], grid["bias_variance"], grid["xi_c"]
        image = ax.pcolormesh(ws, bs, np.clip(xi, 0.5, XI_C_CAP), norm=norm, cmap="viridis", shading="nearest")
        finite = np.where(np.isfinite(xi), xi, XI_C_CAP)
        levels = [lv for lv in (2, 5, 10, 20, 50) if finite.min() < lv < finite.max()]
        if levels:
            contours = ax.contour(ws, bs, finite, levels=levels, colors="white", linewidths=0.8)
            ax.clabel(contours, fmt="ξc=%g", fontsize=7)
        line = critical_line(phi, np.geomspace(1e-4, 1e3, 71))
        keep = (line["attracting"] & (line["bias_variance"] >= bias_range[0])
                & (line["bias_variance"] <= bias_range[1]) & (line["weight_variance"] <= weight_range[1]))
        if keep.any():
            ax.plot(line["weight_variance"][keep], line["bias_variance"][keep], color="#d62728", lw=2,
                    label="edge of chaos (χ₁ = 1)")
            ax.legend(loc="upper left", fontsize=7)
        ax.set_facecolor("#bdbdbd")  # grey: no fixed point, the length map runs away (q → ∞)
        ax.text(0.97, 0.05, "chaotic", transform=ax.transAxes, ha="right", color="white", fontsize=9)
        if np.isnan(xi).any():
            ax.text(0.97, 0.93, "grey: q → ∞", transform=ax.transAxes, ha="right", color="black", fontsize=8)
        ax.text(0.03, 0.05, "ordered", transform=ax.transAxes, ha="left", color="white", fontsize=9)
        ax.set_xlim(*weight_range)
        ax.set_ylim(*bias_range)
        ax.set_title(phi.name)
        ax.set_xlabel("σ_w²")
        ax.set_ylabel("σ_b²")
    if image is not None:
        figure.colorbar(image, ax=figure.axes, label="ξ_c (correlation depth scale, layers)", shrink=0.9)
    return figure


def xi_c_curve(activation: Any, bias_variance: float, weight_variances: Sequence[float]) -> np.ndarray:
    """ξ_c at each σ_w² (σ_b² fixed), NaN where q runs away."""
    phi = phi_of(activation)
    out = []
    for w in weight_variances:
        point = signal_point(phi, float(w), bias_variance, critical=False)
        out.append(np.nan if point.xi_c is None else abs(point.xi_c))
    return np.array(out, dtype=float)


def plot_trainability(result: Any, curve_points: int = 61, factor: float = 6.0,
                      edges: Sequence[tuple[float, float]] = ()) -> Figure:
    """Training accuracy over (σ_w², depth), the curve ``factor`` × ξ_c and the critical σ_w² over it; ``edges``:
    the measured edge of the trainable region, (σ_w², depth) points drawn as markers."""
    from actlab.analysis.signal_critical import critical_weight_variance

    ws = np.asarray(result.weight_variances, dtype=float)
    depths = np.asarray(result.depths, dtype=float)
    accuracy = np.asarray(result.accuracy, dtype=float)
    figure = Figure(figsize=(7.0, 5.0), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    image = ax.pcolormesh(ws, depths, accuracy, shading="nearest", cmap="magma", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=ax, label="training accuracy after the budget")
    fine = np.linspace(ws.min(), ws.max(), curve_points)
    xi = xi_c_curve(result.activation, result.bias_variance, fine)
    ax.plot(fine, factor * xi, color="#17becf", lw=2, label=f"{factor:g} ξ_c")
    ax.plot(fine, 2 * factor * xi, color="#17becf", lw=1, ls="--", label=f"{2 * factor:g} ξ_c, {factor / 2:g} ξ_c")
    ax.plot(fine, factor / 2 * xi, color="#17becf", lw=1, ls="--")
    if edges:
        ax.plot([w for w, _ in edges], [d for _, d in edges], "o", color="white", markeredgecolor="black", ms=5,
                label="measured edge (accuracy 0.5)")
    critical = critical_weight_variance(result.activation, result.bias_variance)
    if critical is not None:
        ax.axvline(critical, color="white", lw=1, ls=":", label=f"critical σ_w² = {critical:.3f}")
    ax.set_ylim(depths.min() - (depths[1] - depths[0] if len(depths) > 1 else 1) / 2,
                depths.max() + (depths[1] - depths[0] if len(depths) > 1 else 1) / 2)
    ax.set_xlabel("σ_w²")
    ax.set_ylabel("depth (hidden layers)")
    s = result.settings
    ax.set_title(f"{result.activation}, σ_b² = {result.bias_variance:g}: {s.get('dataset')} "
                 f"({s.get('examples')} examples), width {s.get('width')}, {s.get('steps')} {s.get('optimizer')} "
                 f"steps", fontsize=9)
    ax.legend(loc="upper right", fontsize=8)
    return figure
