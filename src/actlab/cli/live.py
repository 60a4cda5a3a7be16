"""What the live display of a sweep adds to its table: runs that failed to learn, and plain progress lines.

* :class:`FailureWatch` marks a run that ended without learning (chance level, exploded loss) the moment it
  ends, by the report's own rule (:func:`actlab.report.failure.failure_reason` on the evaluation points seen),
  so the live table never shows a score the report will throw out without saying so.
* :class:`PlainProgress`: when the display's stream is not a terminal (a log file, CI, ``nohup``), one plain
  line at most every :data:`EVERY` seconds and at each new epoch — runs done, evaluation points, elapsed time,
  ETA and the current leader — instead of a live table nobody sees until the end.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

__all__ = ["EVERY", "FailureWatch", "PlainProgress"]

EVERY = 10.0  # seconds between plain progress lines (a new epoch prints at once, at most one line a second)


class FailureWatch:
    """Per run, the evaluation points seen; at its end, why it failed to learn ("" when it learned)."""

    def __init__(self, config: dict[str, Any], classification: bool) -> None:
        self.config = config  # the plan's config: its "baseline" (chance level, constant loss) is the report's
        self.classification = classification
        self.points: dict[str, list[Any]] = {}
        self.failed: dict[str, str] = {}  # run id → why

    def epoch(self, event: Any) -> None:
        self.points.setdefault(event.run_id, []).append(
            SimpleNamespace(epoch=event.epoch, val_loss=event.val_loss, val_accuracy=event.val_accuracy))

    def ended(self, event: Any) -> str:
        from actlab.report.failure import failure_reason, stored_baseline

        points = self.points.get(event.run_id, [])
        baseline = stored_baseline(self.config, self.classification, [p.val_accuracy for p in points])
        run = SimpleNamespace(status="finished", reason=None, val_loss=getattr(event, "val_loss", None),
                              val_accuracy=getattr(event, "val_accuracy", None))
        why = failure_reason(run, points, baseline)
        if why:
            self.failed[event.run_id] = why
        return why


def _clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class PlainProgress:
    """Plain progress lines for a stream that is not a terminal."""

    def __init__(self, name: str, runs: int, points: int, completed: int, done: int, say: Callable[[str], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name, self.runs, self.points, self.say, self.clock = name, runs, points, say, clock
        self.start_completed, self.completed, self.done = completed, completed, done
        self.started = self.last = clock()
        self.epoch = 0

    def update(self, completed: int, done: int, epoch: int, leader: str) -> None:
        """Record progress; print a line at a new epoch (at most one a second) or after :data:`EVERY` seconds."""
        now = self.clock()
        new_epoch = epoch > self.epoch
        self.completed, self.done, self.epoch = completed, done, max(self.epoch, epoch)
        if (new_epoch and now - self.last >= 1.0) or now - self.last >= EVERY:
            self.last = now
            self.say(self.line(leader))

    def line(self, leader: str) -> str:
        elapsed = self.clock() - self.started
        gained = self.completed - self.start_completed
        left = self.points - self.completed
        eta = _clock(elapsed / gained * left) if gained > 0 and left >= 0 else "unknown"
        if left <= 0:
            eta = "0:00"
        lead = f"; leader {leader}" if leader else ""
        return (f"{self.name}: {self.done}/{self.runs} runs done, {self.completed}/{self.points} evaluation points, "
                f"epoch {self.epoch}, elapsed {_clock(elapsed)}, ETA {eta}{lead}")


def leader_text(best: dict[str, float], failed_labels: set[str], classification: bool) -> str:
    """The activation with the best validation score so far among those not marked failed ("" when none)."""
    scores = {label: value for label, value in best.items() if label not in failed_labels and math.isfinite(value)}
    if not scores:
        return ""
    label = (max if classification else min)(scores, key=lambda k: scores[k])
    value = scores[label]
    return f"{label} " + (f"{100 * value:.2f} %" if classification else f"{value:.4g}")
