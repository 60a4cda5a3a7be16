"""Numbers as the catalog commands print them (no heavy imports)."""
from __future__ import annotations

__all__ = ["cost_text"]


def cost_text(median: float | None, spread: float | None) -> str:
    """The relative cost with its interval (median ± half the range of the rounds), and "within noise" when the
    interval holds 1 (not told apart from ReLU) or is wider than the median itself (noise, not data)."""
    if median is None:
        return "–"
    spread = spread or 0.0
    low, high = max(0.0, median - spread), median + spread
    noisy = low <= 1.0 <= high or spread >= median
    return f"{median:.3g} [{low:.3g}, {high:.3g}]" + (" within noise" if noisy else "")
