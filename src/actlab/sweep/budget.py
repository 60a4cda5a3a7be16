"""Up-front size checks: a sweep's memory and store size are estimated from its options and refused,
with the estimate and the limit, before anything is allocated or written.

The estimates are deliberately simple upper-bound-ish sums (documented here, checked against a real
run in the tests):

* **memory** — the dataset's tensors (float32), plus for the runs trained together (the grid engine
  trains every run of a cell at once; the sequential engine one at a time) their parameters × 6
  (weights, gradient, two Adam moments, the best-epoch copy, a bf16 cast) and their activations for
  one training batch and one evaluation chunk (pre-activation, activation, slope, gradient per hidden
  layer) × 4 bytes;
* **store** — 1 KiB per run plus 100 bytes per stored epoch row.

The memory limit is ``--max-memory`` (bytes; a suffix K/M/G/T is accepted) or, by default, the memory
the system reports available (``MemAvailable``); the store limit is the free space of the output
directory's file system.
"""
from __future__ import annotations

import math
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actlab.errors import ActlabError

__all__ = ["Estimate", "estimate", "check", "available_memory", "parse_size", "human"]

PARAMETER_COPIES = 6
ACTIVATION_COPIES = 4
EVAL_CHUNK = 2048
RUN_ROW_BYTES = 1024
EPOCH_ROW_BYTES = 100
MAX_RUNS = 100_000  # a sweep larger than this is certainly a typo (and its store alone would be > 100 MB)


@dataclass(frozen=True)
class Estimate:
    runs: int
    parameters_per_run: int
    memory_bytes: int
    store_bytes: int


def parse_size(text: str | int | float | None) -> int | None:
    """``"8G"`` → 8·2³⁰ bytes; a plain number is bytes; None stays None."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        raw = str(text).strip().upper().removesuffix("B")
        scale = 1
        for suffix, power in (("K", 1), ("M", 2), ("G", 3), ("T", 4)):
            if raw.endswith(suffix):
                raw, scale = raw[:-1], 1024 ** power
                break
        try:
            value = float(raw) * scale
        except ValueError:
            raise ActlabError(f"max_memory: {text!r} is not a size (e.g. 8G, 512M, 1e9)") from None
    if not math.isfinite(value) or value <= 0:
        raise ActlabError(f"max_memory must be a positive size, got {text!r}")
    return int(value)


def human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(size) < 1024 or unit == "PiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} PiB"  # pragma: no cover


def available_memory() -> int:
    """What the system reports available (Linux ``MemAvailable``; else physical memory)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 1 << 40


def check_run_count(runs: int) -> None:
    """Refuse an absurd number of runs before even loading the data."""
    if runs > MAX_RUNS:
        raise ActlabError(f"this sweep has {runs:,} runs (activations × learning rates × seeds); the limit is "
                          f"{MAX_RUNS:,}: use fewer --seeds or a shorter --acts / --lr-grid")


def estimate(config: Mapping[str, Any], *, input_shape: Sequence[int], num_outputs: int, dataset_numel: int,
             runs: int, width_divisor: int = 1) -> Estimate:
    """The memory and store estimate of a planned sweep (see the module docstring)."""
    depth, width = int(config["depth"]), int(config["width"])
    features = int(math.prod(input_shape))
    if config["model"] == "cnn":
        hidden_units = [32 * features, 64 * features, 128]  # conv maps (upper bound) and the dense layer
        parameters = 32 * 9 + 32 * 64 * 9 + 64 * features + 128 * features + 128 * num_outputs
    else:
        k = int(width_divisor)
        sizes = [features] + [width] * depth
        parameters = sum(a * width * k + width * k for a in sizes[:-1]) + width * num_outputs + num_outputs
        hidden_units = [width * k] * depth
    together = min(runs, config.get("grid_size") or runs) if config.get("engine", "grid") in ("grid", "ray") else 1
    batch = int(config["batch_size"])
    activations = sum(hidden_units) * (batch + EVAL_CHUNK) * ACTIVATION_COPIES * together
    memory = 4 * (dataset_numel + parameters * PARAMETER_COPIES * together + activations)
    store = runs * (RUN_ROW_BYTES + EPOCH_ROW_BYTES * int(config["epochs"]))
    return Estimate(runs=runs, parameters_per_run=parameters, memory_bytes=memory, store_bytes=store)


def check(found: Estimate, *, out: Path, max_memory: int | None = None) -> None:
    """Refuse, naming the estimate and the limit, when the sweep cannot fit this machine."""
    limit = max_memory if max_memory is not None else available_memory()
    source = "--max-memory" if max_memory is not None else "memory available on this machine"
    if found.memory_bytes > limit:
        raise ActlabError(
            f"this sweep needs about {human(found.memory_bytes)} of memory ({found.runs:,} runs of "
            f"{found.parameters_per_run:,} parameters each, trained together, plus data and activations); "
            f"the limit is {human(limit)} ({source}). Use a smaller --width/--depth, fewer runs, "
            "--engine sequential (one run at a time), or raise --max-memory."
        )
    folder = Path(out).resolve()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if found.store_bytes > free:
        raise ActlabError(f"the results store would need about {human(found.store_bytes)}; {folder} has "
                          f"{human(free)} free")
