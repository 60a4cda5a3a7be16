"""The report's decision: which activation to use, and why — from the summaries (nothing else).

* **The group**: the best activation (highest mean test accuracy; lowest mean test
  loss for regression), every activation *not significantly worse* than it
  (paired t-test across seeds, Holm–Bonferroni corrected, α = 0.05; an activation
  with too few paired seeds for a test cannot be told apart, so it stays in), and
  every activation significantly worse but *equivalent in practice* (TOST within
  the margin). Activations with no finished run are out.
* **The tie-break** (documented in :data:`TIE_BREAK`) picks one activation in the
  group: fewest diverged runs (counting every run that failed to learn: see
  :mod:`actlab.report.failure`), then the lowest cost *measured when the sweep ran*
  (:mod:`actlab.report.cost`: it decides only when the cheaper one's advantage is
  repeated over the timed rounds and its whole 95 % interval is above
  :data:`~actlab.report.cost.COST_THRESHOLD`; anything less counts as equal; not
  measured: this key is skipped), then the simplest (fewest parameters), then the
  higher mean.  :attr:`Decision.decided_by` names the rule that decided.
* **Effect sizes**: for each activation, best − it on paired seeds (points of
  accuracy, or loss units), with a 95 % paired t interval.
* **Practical equivalence**: TOST at α = 0.05, done as "the 90 % paired interval
  lies inside [−margin, margin]". Default margin 0.2 points of accuracy, or 5 % of
  the best mean test loss for regression.
* **Power**: how many paired seeds a difference of the observed size (and spread)
  would need to be significant with 80 % power.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from actlab.report.cost import COST_THRESHOLD, Cost, cost_ratio, dearer
from actlab.report.stats import ALPHA, equivalent, paired_interval, seeds_needed
from actlab.report.summary import ActivationSummary, ReportData, failure_note

DEFAULT_MARGIN_POINTS = 0.2  # accuracy: points (0.2 points = 0.002)
DEFAULT_MARGIN_LOSS = 5.0  # regression: percent of the best mean test loss
OVERFIT_EPOCHS = 3  # validation loss rising this many epochs in a row while training loss falls
TIE_BREAK = ("fewest diverged runs (runs that failed to learn count as diverged), then the lowest cost measured when the sweep "
             "ran — only when the difference is repeated over the interleaved timing rounds and its whole 95 % interval "
             f"is above +{COST_THRESHOLD:.0%} (anything less counts as equal; skipped where not measured), "
             "then the simplest (fewest parameters), then the higher mean")


@dataclass
class Effect:
    label: str
    pairs: int
    difference: float | None  # best − this (accuracy) or this − best (loss): ≥ 0 means worse than the best
    ci: tuple[float, float] | None  # 95 % paired t interval of that difference
    equivalent: bool | None  # TOST within the margin
    seeds_needed: int | None  # for 80 % power at the observed size


@dataclass
class Decision:
    best: ActivationSummary | None
    group: list[ActivationSummary]
    worse: list[ActivationSummary]
    unfinished: list[ActivationSummary]
    recommended: ActivationSummary | None
    decided_by: str  # "" (only one in the group), or which tie-break key decided
    margin: float  # in metric units
    margin_text: str
    effects: dict[str, Effect]
    cost: dict[str, float | None]  # seconds per epoch the activation accounts for (measured when the sweep ran)
    warnings: list[str] = field(default_factory=list)
    overfitting: dict[str, str] = field(default_factory=dict)
    lr_edges: dict[str, str] = field(default_factory=dict)
    headline: str = ""
    max_seeds: int = 0
    cost_spread: dict[str, float] = field(default_factory=dict)  # label → spread of its cost (same units)
    within_noise: dict[str, bool] = field(default_factory=dict)  # label → its cost is within noise of the cheapest
    cost_ratio: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # label → × the cheapest, 95 % CI


def _simplicity(s: ActivationSummary) -> int:
    try:
        import actlab

        return len(actlab.get(s.activation).params)
    except Exception:  # noqa: BLE001 — a formula the catalog cannot resolve counts as not simple
        return 99


def _margin(data: ReportData, margin: float | None) -> tuple[float, str]:
    if data.classification:
        points = DEFAULT_MARGIN_POINTS if margin is None else margin
        return points / 100, f"{points:g} points of accuracy"
    percent = DEFAULT_MARGIN_LOSS if margin is None else margin
    base = data.best.mean if data.best is not None and data.best.mean is not None else 0.0
    return abs(base) * percent / 100, f"{percent:g} % of the best mean test loss ({abs(base) * percent / 100:.3g})"


def _effects(data: ReportData, margin: float) -> dict[str, Effect]:
    best = data.best
    out: dict[str, Effect] = {}
    if best is None:
        return out
    sign = 1.0 if data.classification else -1.0
    for s in data.summaries:
        seeds = sorted(set(s.metric_values) & set(best.metric_values))
        diffs = [sign * (best.metric_values[k] - s.metric_values[k]) for k in seeds]
        out[s.label] = Effect(
            label=s.label, pairs=len(seeds), difference=float(np.mean(diffs)) if diffs else None,
            ci=paired_interval(diffs), equivalent=None if s is best else equivalent(diffs, margin),
            seeds_needed=None if s is best else seeds_needed(diffs),
        )
    return out


def _pick(group: list[ActivationSummary], cost: Mapping[str, Cost | None], classification: bool
          ) -> tuple[ActivationSummary | None, str]:
    """The tie-break; returns the pick and the first key that separated it from the rest."""
    if not group:
        return None, ""
    if len(group) == 1:
        return group[0], ""
    candidates = list(group)
    fewest = min(len(s.diverged) + len(s.failed) for s in candidates)
    kept = [s for s in candidates if len(s.diverged) + len(s.failed) == fewest]
    if len(kept) == 1:
        return kept[0], "fewest diverged runs"
    candidates = kept
    timed = {s.label: cost.get(s.label) for s in candidates}
    if all(c is not None for c in timed.values()):
        first = min(candidates, key=lambda s: timed[s.label].seconds)  # type: ignore[union-attr]
        kept = [s for s in candidates if not dearer(timed[s.label], timed[first.label])]  # type: ignore[arg-type]
        if len(kept) == 1:
            return kept[0], "lowest measured cost"
        candidates = kept
    simplest = min(_simplicity(s) for s in candidates)
    kept = [s for s in candidates if _simplicity(s) == simplest]
    if len(kept) == 1:
        return kept[0], "simplest (fewest parameters)"
    kept.sort(key=lambda s: -(s.mean or 0) if classification else (s.mean or 0))
    return kept[0], "higher mean among the equally cheap and simple"


def overfitting_note(data: ReportData, s: ActivationSummary, k: int = OVERFIT_EPOCHS) -> str:
    """A note when the mean validation loss rises ``k`` epochs in a row while the training loss falls."""
    from actlab.report.figures import _curve

    rows = [data.epochs.get(r.run_id, []) for r in s.finished]
    xs, val, _, _ = _curve(rows, "val_loss")
    txs, train, _, _ = _curve(rows, "train_loss")
    if len(xs) < k + 1 or len(txs) != len(xs):
        return ""
    best = int(np.argmin(val))
    rising = 0
    for i in range(best + 1, len(xs)):
        if val[i] > val[i - 1] and train[i] < train[i - 1]:
            rising += 1
            if rising >= k:
                return (f"{s.label}: validation loss rises after epoch {int(xs[best])} "
                        f"({val[best]:.3g} → {val[-1]:.3g}) while training loss keeps falling "
                        f"({train[best]:.3g} → {train[-1]:.3g}): overfitting; the report uses each run's "
                        "best-validation epoch.")
        else:
            rising = 0
    return ""


def lr_edge_note(s: ActivationSummary) -> str:
    rates = sorted(s.lr_scores)
    if len(rates) < 2 or s.lr is None or s.lr not in (rates[0], rates[-1]):
        return ""
    side = "smallest" if s.lr == rates[0] else "largest"
    beyond = "below" if s.lr == rates[0] else "above"
    return (f"{s.label}: the best learning rate is the grid's {side} ({s.lr:g}); the best rate may lie {beyond} "
            "the grid — extend --lr-grid.")


def _pct(value: float | None, classification: bool) -> str:
    if value is None:
        return "—"
    return f"{100 * value:.2f} %" if classification else f"{value:.4g}"


def decide(data: ReportData, *, margin: float | None = None, cost: Mapping[str, float | None] | None = None
           ) -> Decision:
    """The decision for ``data``; ``cost`` (seconds per epoch per label, taken as exact): the store's measurement
    (with its spread and timed rounds) when not given."""
    if cost is None:
        from actlab.report.cost import stored_costs

        stored = stored_costs(data)
    else:
        stored = {label: None if value is None else Cost(value, 0.0) for label, value in cost.items()}
    cost = {label: None if c is None else c.seconds for label, c in stored.items()}
    spread = {label: c.spread for label, c in stored.items() if c is not None}
    margin_value, margin_text = _margin(data, margin)
    best = data.best
    effects = _effects(data, margin_value)
    finished = [s for s in data.summaries if s.mean is not None]
    unfinished = [s for s in data.summaries if s.mean is None]
    # in the group: not significantly worse, or significantly worse by less than the margin (equivalent in practice)
    group = [s for s in finished if s is best or not s.significant or effects[s.label].equivalent]
    worse = [s for s in finished if s not in group]
    recommended, decided_by = _pick(group, stored, data.classification)
    decision = Decision(best, group, worse, unfinished, recommended, decided_by, margin_value, margin_text,
                        effects, dict(cost), cost_spread=spread)
    timed = {label: c for label, c in stored.items() if c is not None}
    if timed:
        first = min(timed, key=lambda label: timed[label].seconds)
        decision.within_noise = {label: label != first and not dearer(c, timed[first]) for label, c in timed.items()}
        decision.cost_ratio = {label: cost_ratio(c, timed[first]) for label, c in timed.items()}
    decision.max_seeds = max((len(s.metric_values) for s in data.summaries), default=0)
    if 0 < decision.max_seeds < 3:
        decision.warnings.append(
            f"Only {decision.max_seeds} seed(s) per activation: intervals are wide and the tests weak; "
            "differences smaller than the intervals below cannot be resolved. Run with --seeds 5 or more.")
    for s in data.summaries:
        note = overfitting_note(data, s)
        if note:
            decision.overfitting[s.label] = note
        if data.lr_grid:
            edge = lr_edge_note(s)
            if edge:
                decision.lr_edges[s.label] = edge
    if data.lr_grid and decision.lr_edges and len(decision.lr_edges) == len(finished):
        decision.warnings.append("Every activation's best learning rate is at an edge of the grid: the comparison "
                                 "may be decided by the grid, not the activations. Extend --lr-grid.")
    decision.headline = _headline(data, decision)
    failed = [s for s in data.summaries if s.mean is None and failure_note(s)]
    if failed and decision.best is not None:
        decision.headline += " Failed to learn (left out): " + "; ".join(
            f"{s.label} ({failure_note(s)})" for s in failed) + "."
    return decision


def _headline(data: ReportData, d: Decision) -> str:
    c = data.classification
    if d.best is None or d.recommended is None:
        if data.all_failed:
            ended = [r for r in data.runs if r.status in ("finished", "diverged")]
            names = ", ".join(s.label for s in data.summaries)
            open_runs = len(data.runs) - len(ended)
            return (f"Every activation failed to learn: all {len(ended)} runs ({names}) "
                    + ("that ended " if open_runs else "")
                    + "diverged or ended at chance level or with an exploded loss, so there is no best and nothing "
                    "to recommend. " + (f"{open_runs} runs have not finished (resume the sweep). " if open_runs else "")
                    + "Try a smaller learning rate (--lr) or --lr-grid.")
        return "No run has finished yet: nothing to decide."
    test = f"paired t-test across seeds, Holm-corrected, α = {ALPHA}"
    rec = d.recommended
    if d.max_seeds < 2:
        return (f"Not enough seeds to tell the activations apart (one finished seed each; no test possible). "
                f"Highest {data.metric_name}: {d.best.label} ({_pct(d.best.mean, c)}) — not a decision; "
                "rerun with --seeds 3 or more.")
    tested = [s for s in d.group + d.worse if s is not d.best and s.p_adjusted is not None]
    if not tested and len(d.group) > 1:
        return (f"No activation could be tested against the best mean ({d.best.label}, "
                f"{len(d.best.metric_values)} finished seed(s); a paired test needs 2 seeds in common): the data do "
                f"not decide. Provisional pick by the tie-break ({d.decided_by or 'the only one'}): {rec.label}. "
                "Rerun with more seeds.")
    if len(d.group) == 1 and not tested:  # nothing else to test against: every other activation failed to learn
        return (f"Use {rec.label}: the only activation that learned ({len(rec.metric_values)} seed(s); every other "
                f"one failed to learn, so nothing was tested against it); mean {data.metric_name} {_pct(rec.mean, c)}.")
    if len(d.group) == 1:
        runner = min(d.worse, key=lambda s: d.effects[s.label].difference or math.inf, default=None)
        closest = None if runner is None else d.effects[runner.label].difference
        gap = "" if closest is None else (
            f" (the closest, {runner.label}, is {100 * closest:.2f} points behind on average)" if c
            else f" (the closest, {runner.label}, has a loss {closest:.3g} higher on average)")
        return (f"Use {rec.label}: it is significantly better than every other activation, by more than "
                f"±{d.margin_text} ({test}; TOST){gap}; mean {data.metric_name} {_pct(rec.mean, c)}.")
    alike = [s for s in d.group if s is d.best or not s.significant]
    close = [s for s in d.group if s not in alike]  # significant, but inside the margin
    names = ", ".join(s.label for s in alike)
    same = [s.label for s in alike if d.effects[s.label].equivalent]
    why = f" by the tie-break ({d.decided_by})" if d.decided_by else ""
    if not d.worse and not close:
        head = (f"Nothing separates the {len(d.group)} activations: none is significantly worse than the best "
                f"({test}).")
    else:
        total = len(d.group) + len(d.worse)
        if len(alike) == 1:
            head = f"{d.best.label} has the best mean and every other activation differs significantly ({test})."
        else:
            head = (f"{len(alike)} of {total} activations are statistically indistinguishable from the best "
                    f"({test}): {names}.")
        if close:
            head += (" " + ", ".join(s.label for s in close) + (" is" if len(close) == 1 else " are")
                     + f" significantly worse but by less than ±{d.margin_text} (equivalent in practice, TOST), "
                     "so in the group too.")
    tail = f" Recommended: {rec.label}{why}"
    if rec is not d.best:
        tail += f"; {d.best.label} has the highest mean ({_pct(d.best.mean, c)} vs {_pct(rec.mean, c)})"
    tail += "."
    if same:
        tail += (f" Equivalent in practice to {d.best.label} (within ±{d.margin_text}, TOST): "
                 + ", ".join(same) + ".")
    if d.worse:
        tail += " Significantly worse: " + ", ".join(s.label for s in d.worse) + "."
    return head + tail
