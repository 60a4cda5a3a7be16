"""Which finished runs *failed to learn*: chance-level accuracy, or an exploded loss — derived from the store.

A run the trainer marked ``diverged`` (its loss became NaN or ±inf) failed to
learn.  A run that *finished* failed to learn too when (classification):

* **chance level** — its best validation accuracy (the maximum over its stored
  epochs) is at most ``chance + CHANCE_SIGMAS · sqrt(chance · (1 − chance) / n_val)``,
  where ``chance`` is the accuracy of always predicting the validation split's
  most frequent class (1/K for K balanced classes) and ``n_val`` the number of
  validation examples: a one-sided binomial bound, 3 standard errors (an
  accuracy a classifier with no information reaches by luck with probability
  about 0.13 %). Digits (359 validation examples, 10 classes): ≤ 14.9 %.
  The same bound applies to the validation accuracy at the *reported* epoch (the
  best-validation-loss epoch, whose test numbers the report quotes): a run that was
  above chance at some epoch but is quoted at chance level did not learn either.
* **exploded loss** — its last validation loss is not finite, or more than
  ``LOSS_FACTOR`` (10) × the *constant-prediction loss* (the cross-entropy of
  predicting the validation class frequencies, log K for K balanced classes —
  about the loss of a freshly initialised net).  Digits: > 23.0.

Regression: the last validation loss is not finite or more than ``LOSS_FACTOR`` ×
the variance of the validation targets (the mean squared error of predicting their
mean), or the best validation loss is not below that variance (no better than a
constant).

The baseline (classes, validation size, chance accuracy, constant-prediction
loss) is recorded in the sweep's config by ``actlab compare`` (key ``baseline``, computed by
:func:`actlab.train.metrics.baseline_of`).
Stores written before it was recorded: the validation size is recovered from the
stored accuracies (each is k / n_val), the classes from the dataset's name
(10 for mnist, mnist1d and digits, 2 for the 2-D toy sets) with balanced classes
assumed; where neither is known only the non-finite test applies.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

CHANCE_SIGMAS = 3.0
LOSS_FACTOR = 10.0
KNOWN_CLASSES = {"mnist": 10, "mnist1d": 10, "digits": 10}
_TOY_CLASSES = 2  # every 2-D toy classification set has two classes

__all__ = ["CHANCE_SIGMAS", "LOSS_FACTOR", "Baseline", "failure_reason", "stored_baseline"]


@dataclass(frozen=True)
class Baseline:
    """What a net that learned nothing scores on the validation split."""

    classification: bool
    classes: int | None = None
    val_size: int | None = None
    chance: float | None = None  # accuracy of always predicting the most frequent validation class
    constant_loss: float | None = None  # loss of the best constant prediction (class frequencies / target mean)

    @property
    def chance_bound(self) -> float | None:
        """Best validation accuracy at or below this is chance level (None: unknown)."""
        if self.chance is None or not self.val_size:
            return None
        return self.chance + CHANCE_SIGMAS * math.sqrt(self.chance * (1 - self.chance) / self.val_size)

    @property
    def loss_bound(self) -> float | None:
        """A last validation loss above this has exploded (None: unknown; non-finite always has)."""
        return None if self.constant_loss is None else LOSS_FACTOR * self.constant_loss

    def describe(self) -> str:
        """The thresholds in words (for the report)."""
        parts = ["runs whose loss became NaN or infinite (diverged)"]
        if self.classification:
            if self.chance_bound is not None:
                parts.append(f"finished runs whose best validation accuracy, or the one at the reported epoch, is at "
                             f"most {100 * self.chance_bound:.1f} % "
                             f"(chance level {100 * self.chance:.1f} % + {CHANCE_SIGMAS:g} binomial standard errors "
                             f"over {self.val_size} validation examples)")
            if self.loss_bound is not None:
                parts.append(f"finished runs whose last validation loss exceeds {self.loss_bound:.3g} "
                             f"({LOSS_FACTOR:g} × the loss of predicting the class frequencies, "
                             f"{self.constant_loss:.3g})")
        elif self.loss_bound is not None:
            if self.classes:  # text (a language model, ranked by its loss): the unigram baseline
                parts.append(f"finished runs whose last validation loss exceeds {self.loss_bound:.3g} "
                             f"({LOSS_FACTOR:g} × the loss of predicting the character frequencies) or whose best is "
                             f"not below that loss ({self.constant_loss:.3g} nats: no better than a unigram model)")
            else:
                parts.append(f"finished runs whose last validation loss exceeds {self.loss_bound:.3g} ({LOSS_FACTOR:g} "
                             f"× the variance of the validation targets) or whose best is not below that variance "
                             f"({self.constant_loss:.3g}: no better than predicting the mean)")
        return "Failed to learn: " + "; ".join(parts) + "."

    def to_dict(self) -> dict[str, Any]:
        return {"classes": self.classes, "val_size": self.val_size, "chance": self.chance,
                "constant_loss": self.constant_loss}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def stored_baseline(config: Mapping[str, Any], classification: bool, accuracies: Sequence[float | None]
                    ) -> Baseline:
    """The baseline recorded in ``config``; for older stores, what the stored accuracies and the name tell."""
    recorded = config.get("baseline")
    if isinstance(recorded, Mapping):
        classes = _number(recorded.get("classes"))
        size = _number(recorded.get("val_size"))
        return Baseline(classification, int(classes) if classes else None, int(size) if size else None,
                        _number(recorded.get("chance")), _number(recorded.get("constant_loss")))
    if not classification:
        return Baseline(False)
    name = str(config.get("dataset", "")).lower()
    classes = KNOWN_CLASSES.get(name)
    if classes is None:
        try:
            from actlab.data.toy import TOY_CLASSIFICATION

            classes = _TOY_CLASSES if name in TOY_CLASSIFICATION else None
        except ImportError:  # pragma: no cover - the data package is part of actlab
            classes = None
    size = _validation_size(accuracies)
    if classes is None:
        return Baseline(True, None, size)
    return Baseline(True, classes, size, 1 / classes, math.log(classes))


def _validation_size(accuracies: Sequence[float | None]) -> int | None:
    """n_val from accuracies k / n_val: the least common multiple of their reduced denominators (≤ 10⁶)."""
    size = 1
    seen = False
    for value in accuracies:
        if value is None or not math.isfinite(value) or not 0 <= value <= 1:
            continue
        fraction = Fraction(value).limit_denominator(1_000_000)
        if abs(float(fraction) - value) > 1e-12:
            return None  # not a fraction of a whole validation set (a weighted or averaged accuracy)
        size = math.lcm(size, fraction.denominator)
        seen = True
        if size > 1_000_000:
            return None
    return size if seen and size > 1 else None


def failure_reason(run: Any, epochs: Sequence[Any], baseline: Baseline) -> str:
    """Why ``run`` failed to learn ("" when it learned, or when it is not over yet).

    ``run`` is a :class:`~actlab.store.RunRow`, ``epochs`` its stored epoch rows.
    """
    if run.status == "diverged":
        return "diverged: " + (run.reason or "the loss became NaN or infinite")
    if run.status != "finished":
        return ""
    ordered = sorted(epochs, key=lambda e: e.epoch)
    last = ordered[-1].val_loss if ordered else run.val_loss
    if last is not None and not math.isfinite(last):
        return f"exploded: last validation loss {last}"
    bound = baseline.loss_bound
    if last is not None and bound is not None and last > bound:
        return f"exploded: last validation loss {last:.3g} > {bound:.3g}"
    if baseline.classification:
        accuracies = [e.val_accuracy for e in ordered if e.val_accuracy is not None]
        if run.val_accuracy is not None:
            accuracies.append(run.val_accuracy)
        chance = baseline.chance_bound
        if accuracies and chance is not None and max(accuracies) <= chance:
            return f"chance level: best validation accuracy {100 * max(accuracies):.1f} % ≤ {100 * chance:.1f} %"
        if run.val_accuracy is not None and chance is not None and run.val_accuracy <= chance:
            return (f"chance level at the reported epoch: validation accuracy {100 * run.val_accuracy:.1f} % ≤ "
                    f"{100 * chance:.1f} %")
        return ""
    losses = [e.val_loss for e in ordered if e.val_loss is not None and math.isfinite(e.val_loss)]
    if run.val_loss is not None and math.isfinite(run.val_loss):
        losses.append(run.val_loss)
    if losses and baseline.constant_loss is not None and min(losses) >= baseline.constant_loss:
        return (f"no better than the mean: best validation loss {min(losses):.3g} ≥ the targets' variance "
                f"{baseline.constant_loss:.3g}")
    return ""
