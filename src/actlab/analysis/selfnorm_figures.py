"""The self-normalisation figure: the mean/variance map as a vector field with its fixed point and basin.

Like Figure 2 of Klambauer et al. (2017): arrows g(μ, ν) − (μ, ν) over a grid of
(μ, ν), the fixed point marked, and (shaded) the starting points from which
iterating the map reaches it.  Returns a ``matplotlib.figure.Figure`` on an Agg
canvas (no pyplot state).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from actlab.analysis.selfnorm import FixedPoint, basin, vector_field
from actlab.palette import color_for

__all__ = ["ranges_for", "plot_map"]


def ranges_for(fixed: FixedPoint) -> tuple[tuple[float, float], tuple[float, float]]:
    """(mean range, variance range) around the fixed point (or around (0, 1) when there is none)."""
    mu, nu = (fixed.mean, fixed.variance) if fixed.found else (0.0, 1.0)
    return (mu - 1.0, mu + 1.0), (0.05 * nu, 3.0 * nu)


def plot_map(activation: Any, fixed: FixedPoint, params: Mapping[str, Any] | None = None, *,
             field_points: int = 17, basin_points: int = 15) -> Figure:
    """Vector field of (μ, ν) ↦ (μ̃, ν̃) for the fixed point's (ω, τ), with the point and its basin."""
    omega, tau = fixed.omega, fixed.tau
    mean_range, variance_range = ranges_for(fixed)
    figure = Figure(figsize=(7.2, 5.6), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    title = f"{fixed.activation}: mean/variance map, ω = {omega:g}, τ = {tau:g}"
    if fixed.found:
        region = basin(activation, (fixed.mean, fixed.variance), omega, tau, params, mean_range=mean_range,
                       variance_range=variance_range, points=basin_points)
        step_mu = np.diff(region.means).mean() / 2
        step_nu = np.diff(region.variances).mean() / 2
        ax.imshow(region.converged.astype(float), origin="lower", aspect="auto", alpha=0.35,
                  cmap=ListedColormap(["#d9d9d9", "#74c476"]), vmin=0, vmax=1,
                  extent=(region.means[0] - step_mu, region.means[-1] + step_mu,
                          region.variances[0] - step_nu, region.variances[-1] + step_nu))
        title += f"\nshaded green: basin ({100 * region.fraction:.0f} % of the grid reaches the fixed point)"
    mu, nu, d_mu, d_nu = vector_field(activation, omega, tau, params, mean_range=mean_range,
                                      variance_range=variance_range, points=field_points)
    # arrows show the direction of one step, all of one length (a cell); colour: the step's length
    span_mu, span_nu = np.ptp(mean_range), np.ptp(variance_range)
    length = np.hypot(d_mu / span_mu, d_nu / span_nu)
    safe = np.where(length > 0, length, 1.0)
    cell = 0.8 / (field_points - 1)
    quiver = ax.quiver(mu, nu, d_mu / safe * cell * span_mu, d_nu / safe * cell * span_nu, length, cmap="viridis",
                       angles="xy", scale_units="xy", scale=1.0, width=0.004, pivot="mid")
    figure.colorbar(quiver, ax=ax, label="length of one step g(μ, ν) − (μ, ν) (fraction of the axes)")
    if fixed.found:
        ax.plot([fixed.mean], [fixed.variance], marker="*", markersize=16, color=color_for(fixed.activation),
                markeredgecolor="black", linestyle="none",
                label=f"fixed point ({fixed.mean:+.4f}, {fixed.variance:.4f}); "
                      f"largest singular value {fixed.max_singular_value:.4f}: {fixed.verdict}")
        ax.legend(loc="upper right", fontsize=8)
    else:
        ax.text(0.5, 0.97, "no fixed point with variance > 0", transform=ax.transAxes, ha="center", va="top",
                fontsize=10, color="#b2182b")
    ax.set_xlim(*mean_range)
    ax.set_ylim(*variance_range)
    ax.set_xlabel("μ (mean of the incoming activations)")
    ax.set_ylabel("ν (variance of the incoming activations)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    return figure
