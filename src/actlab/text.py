"""Values as a reader writes them in a table or a line of text (no heavy imports)."""
from __future__ import annotations

import math

__all__ = ["plain"]


def plain(value: object) -> str:
    """"–" for none, yes/no, 4 significant digits, ±∞, nan; lists and tuples joined by commas ("none" if empty)."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return "nan" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(plain(v) for v in value) if value else "none"
    return str(value)
