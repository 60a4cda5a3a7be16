"""How many threads a training job gives PyTorch: chosen from the machine's load when the job starts.

PyTorch starts one intra-op thread per core.  On a machine where other processes already keep cores busy,
those threads fight them: every parallel region waits for its slowest thread, and OpenMP's spinning threads
burn the very cores the others need — a 2-core machine with two other busy jobs slowed a sweep's epochs far
more than the load explains.  :func:`threads_for_load` gives the job the cores the others leave free:
``cores − (load − 1)`` rounded, between 1 and the cores (the 1-minute load average counts the job itself,
busy importing just before, as about one — as :func:`actlab.compile_policy.machine_contended` does).

``ACTLAB_THREADS``: ``auto`` (the default: from the load), ``torch`` (PyTorch's own choice), or a number.
An explicit ``OMP_NUM_THREADS`` is the user's choice and is kept.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ENV", "job_threads", "threads_for_load", "usable_cores"]

ENV = "ACTLAB_THREADS"


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover — not Linux
        return os.cpu_count() or 1


def threads_for_load(cores: int, load: float | None) -> int:
    """The threads a job should use on ``cores`` cores at 1-minute load average ``load`` (None: unknown)."""
    if load is None:
        return cores
    others = max(0.0, load - 1.0)
    return max(1, min(cores, int(cores - others + 0.5)))


def chosen_threads() -> int | None:
    """What :func:`job_threads` would set now (None: leave PyTorch's setting alone)."""
    setting = os.environ.get(ENV, "auto").strip().lower()
    if setting == "torch" or (setting == "auto" and os.environ.get("OMP_NUM_THREADS")):
        return None
    if setting.isdigit() and int(setting) > 0:
        return int(setting)
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):  # pragma: no cover — no load average
        load = None
    return threads_for_load(usable_cores(), load)


@contextmanager
def job_threads() -> Iterator[int]:
    """Run the block with the threads :func:`chosen_threads` picks (PyTorch's setting restored after)."""
    import torch

    previous = torch.get_num_threads()
    threads = chosen_threads()
    if threads is None:
        yield previous
        return
    torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        torch.set_num_threads(previous)
