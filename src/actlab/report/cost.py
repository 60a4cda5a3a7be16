"""Per-activation cost, as measured when the sweep ran (:mod:`actlab.sweep.measure`; nothing is timed here).

The grid engine trains all runs together and splits an epoch's wall time evenly, so the stored
``s / epoch`` says nothing about an activation.  The sweep timed each activation module (forward +
backward, the module the trainer builds) on a ``batch_size × width`` tensor, on one thread, in
interleaved rounds; its cost per epoch is the median time per call × hidden layers × steps per epoch (the
step count the store recorded at epoch 1), with the spread (half the interquartile range of the rounds)
scaled alike.

**When a cost difference counts** (:func:`cost_ratio`): the rounds are interleaved (every activation once per
round), so round *i* of two activations ran under the same load; the ratio of their times is estimated from
the paired rounds (mean of the per-round log ratios, 95 % t interval, mapped back).  One activation is
*dearer* than another only when the whole interval lies above ``1 +`` :data:`COST_THRESHOLD` — a difference
that is both repeated over the rounds and large.  Anything less is *within noise* (the interval reaches
below ``1 +`` :data:`COST_THRESHOLD`) and the tie-break goes on to its next rule.  A store without the rounds
falls back to the medians and spreads: dearer when the median ratio exceeds the threshold and the intervals
(median ± spread) do not overlap.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from actlab.report.stats import t_ppf
from actlab.report.summary import ReportData

COST_THRESHOLD = 0.25  # a cost difference decides the tie-break only when all of its 95 % interval is above +25 %


@dataclass(frozen=True)
class Cost:
    """Seconds per epoch an activation accounts for, the spread of that number, and the timed rounds."""

    seconds: float
    spread: float
    rounds: tuple[float, ...] = field(default=())  # seconds per epoch, one per interleaved round


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
        rounds = tuple(r * scale for r in row.rounds if r is not None and math.isfinite(r) and r > 0)
        out[s.label] = Cost(row.median * scale, (row.spread or 0.0) * scale, rounds)
    return out


def cost_ratio(dear: Cost, cheap: Cost) -> tuple[float, float, float]:
    """``dear`` / ``cheap``: the estimate and its 95 % interval (from the paired rounds when both have them)."""
    n = min(len(dear.rounds), len(cheap.rounds))
    if n >= 3:
        logs = np.log(np.asarray(dear.rounds[:n])) - np.log(np.asarray(cheap.rounds[:n]))
        mean = float(logs.mean())
        half = t_ppf(0.975, n - 1) * float(logs.std(ddof=1)) / math.sqrt(n)
        return math.exp(mean), math.exp(mean - half), math.exp(mean + half)
    ratio = dear.seconds / cheap.seconds if cheap.seconds > 0 else math.inf
    low = (dear.seconds - dear.spread) / (cheap.seconds + cheap.spread) if cheap.seconds + cheap.spread > 0 \
        else math.inf
    high = (dear.seconds + dear.spread) / max(cheap.seconds - cheap.spread, 1e-300)
    return ratio, low, high


def dearer(dear: Cost, cheap: Cost) -> bool:
    """Whether ``dear`` costs more than ``cheap`` by a repeated and large difference (see the module doc)."""
    _, low, _ = cost_ratio(dear, cheap)
    return low > 1 + COST_THRESHOLD
