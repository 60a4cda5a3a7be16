"""Per-activation cost, as measured when the sweep ran (:mod:`actlab.sweep.measure`; nothing is timed here).

The grid engine trains all runs together and splits an epoch's wall time evenly, so the stored
``s / epoch`` says nothing about an activation.  The sweep timed each activation module (forward +
backward, the module the trainer builds) on a ``batch_size × width`` tensor, on one thread, in
interleaved rounds; its cost per epoch is the median time per call × hidden layers × steps per epoch (the
step count the store recorded at epoch 1), with the spread (half the interquartile range of the rounds)
scaled alike.  Two costs are *within noise* when their intervals (median ± spread) overlap.
"""

from dataclasses import dataclass

from actlab.report.summary import ReportData


@dataclass(frozen=True)
class Cost:
    """Seconds per epoch an activation accounts for, and the spread of that number."""

    seconds: float
    spread: float


def steps_per_epoch(data: ReportData) -> int | None:
    steps = [e.step for rows in data.epochs.values() for e in rows if e.epoch == 1 and e.step]
    return max(steps) if steps else None


def stored_costs(data: ReportData) -> dict[str, Cost | None]:
    """label → its stored cost per epoch; None where it was not measured (older stores) or could not be timed."""
    steps = steps_per_epoch(data) or 1
    out: dict[str, Cost | None] = {}
    for s in data.summaries:
        row = data.costs.get(s.label)
        if row is None or row.median is None:
            out[s.label] = None
            continue
        scale = row.layers * steps
        out[s.label] = Cost(row.median * scale, (row.spread or 0.0) * scale)
    return out

