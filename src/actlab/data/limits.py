"""Size limits of the data layer: a requested size is checked against an estimate before allocating.

``data show circle -O n=10000000000`` would otherwise try to allocate hundreds of
gigabytes and end in a ``MemoryError`` (or the kernel's OOM killer); here it is
refused up front with the estimate and the limit.  A data file's header is checked
against :data:`MAX_COLUMNS` before its rows are read.
"""
from __future__ import annotations

from actlab.errors import ParameterError

__all__ = ["BYTES_PER_POINT", "MAX_COLUMNS", "MAX_POINTS", "check_points", "human_bytes"]

MAX_POINTS = 20_000_000  # generated points per toy set
# float64 generation (2 coordinates + noise + temporaries) plus float32 inputs and int64 labels, measured
# as the peak of load_toy("circle") divided by n (~100 bytes); 20 M points stay near 2 GB
BYTES_PER_POINT = 100
# columns of a CSV file (features plus the label): 65 536 is a 256 x 256 grey image flattened, 21 times CIFAR's
# 3 072 inputs; a first layer of width 512 on it holds 33 M weights. Each cell is parsed in Python (about 0.2 us
# per cell), so a wider file is refused before its rows are read
MAX_COLUMNS = 65_536


def human_bytes(count: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if count < 1024 or unit == "PiB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} PiB"  # pragma: no cover


def check_points(n: int, option: str = "n") -> int:
    """Refuse ``n`` above :data:`MAX_POINTS`, naming the memory estimate and the limit."""
    if n > MAX_POINTS:
        raise ParameterError(
            f"option {option}={n} would need about {human_bytes(n * BYTES_PER_POINT)} of memory; "
            f"the limit is {MAX_POINTS} points (about {human_bytes(MAX_POINTS * BYTES_PER_POINT)})"
        )
    return n
