"""The report's data model: per-activation summaries read from the store (nothing else).

* Curves: mean over seeds of each finished run's validation loss / accuracy per
  epoch, with a 95 % confidence band from the t-distribution (n − 1 degrees of
  freedom; no band with fewer than 2 runs at that epoch).
* Ranking: test metrics are taken at each run's best validation epoch. Mean ±
  sample standard deviation and a 95 % confidence interval over seeds computed on
  the metric's unbounded scale (t interval of the logits for accuracies, of the
  logs for losses, mapped back), so it never leaves [0, 1] or goes negative.
* Runs that failed to learn — diverged (loss NaN/inf), or finished at chance-level
  accuracy or with an exploded loss (thresholds in :mod:`actlab.report.failure`) —
  are counted and listed, but excluded from every mean, band and test; an
  activation none of whose runs learned has no mean and is never the best.
* Significance: a paired t-test (pairs are runs with the same seed) of each
  activation against the best one, Holm–Bonferroni corrected across the
  comparisons, at α = 0.05. With fewer than 2 paired seeds there is no test.
* Epochs to threshold: the first epoch whose validation accuracy reaches the
  threshold — 97 % on MNIST, otherwise 90 % of the best activation's mean best
  validation accuracy (for regression: validation loss at most 1.1 × the best
  mean best validation loss). Averaged over the runs that reach it.
* Learning-rate grid: for each activation, the learning rate whose finished runs
  have the best mean validation accuracy (at their best epoch) is chosen; a rate
  where fewer seeds finished (the rest diverged) ranks below one where more did.
"""

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from actlab.errors import ActlabError
from actlab.report.failure import Baseline, failure_reason, stored_baseline
from actlab.report.stats import ALPHA, _finite, _mean, _std, bounded_interval, holm, paired_t_pvalue
from actlab.store import EpochRow, RunRow, Store
from actlab.store.measured import CostRow, ThumbnailFrame, ThumbnailRow, read_costs, read_thumbnails

MNIST_THRESHOLD = 0.97
RELATIVE_THRESHOLD = 0.9
# ----------------------------------------------------------------- model
@dataclass
class ActivationSummary:
    label: str
    activation: str  # what actlab.get takes
    lr: float | None
    runs: list[RunRow]
    finished: list[RunRow]  # finished and learned (the runs every mean, band and test uses)
    diverged: list[RunRow]
    failed: list[RunRow] = field(default_factory=list)  # finished, but at chance level or with an exploded loss
    failures: dict[str, str] = field(default_factory=dict)  # run id → why it failed to learn (diverged runs too)
    metric_values: dict[int, float] = field(default_factory=dict)  # seed → test metric (runs that learned)
    mean: float | None = None
    std: float | None = None
    ci: tuple[float, float] | None = None
    test_loss: float | None = None
    seconds_per_epoch: float | None = None
    epochs_to_threshold: float | None = None
    reached: int = 0
    p_value: float | None = None
    p_adjusted: float | None = None
    significant: bool | None = None
    test_note: str = ""
    lr_scores: dict[float, tuple[int, float | None]] = field(default_factory=dict)  # lr → (finished, mean val)


@dataclass
class ReportData:
    run_dir: Path
    sweep: dict[str, Any]
    runs: list[RunRow]
    epochs: dict[str, list[EpochRow]]
    classification: bool
    summaries: list[ActivationSummary]  # ranked, best first
    best: ActivationSummary | None
    threshold: float | None
    threshold_text: str
    lr_grid: bool
    status_counts: dict[str, int]
    baseline: Baseline | None = None
    failures: dict[str, str] = field(default_factory=dict)  # run id → why it failed to learn, every run
    costs: dict[str, CostRow] = field(default_factory=dict)  # label → module cost timed when the sweep ran
    thumbnail_frame: ThumbnailFrame | None = None  # the 2-D thumbnails drawn when the sweep ran (None: none)
    thumbnails: dict[str, ThumbnailRow] = field(default_factory=dict)

    @property
    def all_failed(self) -> bool:
        """Runs ended and not one of them learned (every activation failed)."""
        ended = [r for r in self.runs if r.status in ("finished", "diverged")]
        return bool(ended) and all(r.run_id in self.failures for r in ended)

    @property
    def metric_name(self) -> str:
        return "test accuracy" if self.classification else "test loss"


def _load(run_dir: Path) -> tuple[dict[str, Any], list[RunRow], dict[str, list[EpochRow]], dict[str, int],
                                  dict[str, Any]]:
    with Store(run_dir, readonly=True) as store:
        sweep = store.sweep()
        if sweep is None:
            raise ActlabError(f"{run_dir} holds no sweep yet (nothing was started there)")
        runs = store.runs()
        epochs: dict[str, list[EpochRow]] = defaultdict(list)
        for row in store.epochs():
            epochs[row.run_id].append(row)
        counts = store.status_counts()
        frame, thumbnails = read_thumbnails(store)
        measured = {"costs": read_costs(store), "thumbnail_frame": frame, "thumbnails": thumbnails}
    return sweep, runs, dict(epochs), counts, measured


def summarize(run_dir: str | Path) -> ReportData:
    """Everything the report shows, computed from the store."""
    run_dir = Path(run_dir)
    sweep, runs, epochs, counts, measured = _load(run_dir)
    config = sweep["config"]
    task = config.get("dataset_task") or config.get("task")
    if task not in ("classification", "regression"):  # older stores: infer from what was recorded
        task = "classification" if any(r.test_accuracy is not None for r in runs) or any(
            e.val_accuracy is not None for rows in epochs.values() for e in rows) else "regression"
    classification = task == "classification"
    lr_grid = bool(config.get("lr_grid"))
    baseline = stored_baseline(config, classification,
                               [e.val_accuracy for rows in epochs.values() for e in rows] if classification else [])
    failures = {r.run_id: why for r in runs if (why := failure_reason(r, epochs.get(r.run_id, []), baseline))}

    by_label: dict[str, list[RunRow]] = defaultdict(list)
    for run in runs:
        by_label[run.label].append(run)

    summaries = []
    for label, group in by_label.items():
        lr_scores: dict[float, tuple[int, float | None]] = {}
        chosen_lr = group[0].lr
        if lr_grid:
            rates = sorted({r.lr for r in group if r.lr is not None})
            for rate in rates:
                done = [r for r in group if r.lr == rate and r.status == "finished" and r.run_id not in failures]
                score = _mean([r.val_accuracy for r in done]) if classification else _mean([r.val_loss for r in done])
                lr_scores[rate] = (len(done), score)

            def key(rate: float, lr_scores: dict = lr_scores) -> tuple[int, float]:
                n, score = lr_scores[rate]
                if score is None:
                    return (n, -math.inf)
                return (n, score if classification else -score)

            if rates:
                chosen_lr = max(rates, key=key)
            group = [r for r in group if r.lr == chosen_lr]
        finished = [r for r in group if r.status == "finished" and r.run_id not in failures]
        failed = [r for r in group if r.status == "finished" and r.run_id in failures]
        diverged = [r for r in group if r.status == "diverged"]
        metric = {
            r.seed: (r.test_accuracy if classification else r.test_loss)
            for r in finished
            if (r.test_accuracy if classification else r.test_loss) is not None
        }
        metric = {s: v for s, v in metric.items() if math.isfinite(v)}
        summary = ActivationSummary(
            label=label, activation=group[0].activation, lr=chosen_lr, runs=group,
            finished=finished, diverged=diverged, failed=failed, metric_values=metric, lr_scores=lr_scores,
            failures={r.run_id: failures[r.run_id] for r in group if r.run_id in failures},
        )
        values = list(metric.values())
        # the interval on the metric's own scale (logit for accuracies, log for losses): never outside its range
        summary.mean, summary.std = _mean(values), _std(values)
        summary.ci = bounded_interval(values, "accuracy" if classification else "loss")
        summary.test_loss = _mean([r.test_loss for r in finished])
        spe = _finite([r.seconds_per_epoch for r in finished + failed])
        if not spe:
            spe = _finite([e.seconds for r in group for e in epochs.get(r.run_id, [])])
        summary.seconds_per_epoch = float(np.mean(spe)) if spe else None
        summaries.append(summary)

    def rank_key(s: ActivationSummary) -> tuple[int, float]:
        if s.mean is None:
            return (1, 0.0)
        return (0, -s.mean if classification else s.mean)

    summaries.sort(key=rank_key)
    best = summaries[0] if summaries and summaries[0].mean is not None else None

    threshold, threshold_text = _threshold(config, summaries, classification)
    for s in summaries:
        hits = []
        for run in s.finished:
            for e in epochs.get(run.run_id, []):
                value = e.val_accuracy if classification else e.val_loss
                if value is None or threshold is None:
                    continue
                if (classification and value >= threshold) or (not classification and value <= threshold):
                    hits.append(e.epoch)
                    break
        s.reached = len(hits)
        s.epochs_to_threshold = float(np.mean(hits)) if hits else None

    _significance(summaries, best, classification)
    return ReportData(run_dir, sweep, runs, epochs, classification, summaries, best, threshold,
                      threshold_text, lr_grid, counts, baseline, failures, **measured)


def _threshold(config: Mapping[str, Any], summaries: list[ActivationSummary], classification: bool) -> tuple[float | None, str]:
    if classification:
        if str(config.get("dataset", "")).lower() == "mnist":
            return MNIST_THRESHOLD, f"{MNIST_THRESHOLD:.0%} validation accuracy (MNIST)"
        bests = [_mean([r.val_accuracy for r in s.finished]) for s in summaries]
        bests = [b for b in bests if b is not None]
        if not bests:
            return None, "no finished run"
        value = RELATIVE_THRESHOLD * max(bests)
        return value, f"{value:.1%} validation accuracy (90 % of the best mean best-epoch validation accuracy)"
    bests = [_mean([r.val_loss for r in s.finished]) for s in summaries]
    bests = [b for b in bests if b is not None]
    if not bests:
        return None, "no finished run"
    value = min(bests) / RELATIVE_THRESHOLD if min(bests) > 0 else min(bests)
    return value, f"validation loss ≤ {value:.4g} (the best mean best-epoch validation loss / 0.9)"


def _significance(summaries: list[ActivationSummary], best: ActivationSummary | None, classification: bool) -> None:
    for s in summaries:
        if s.mean is None:  # not a candidate: say why (every seed failed to learn, or none has ended)
            s.test_note = failure_note(s) or "no finished run"
    if best is None:
        return
    best.test_note = "best"
    tested: list[ActivationSummary] = []
    pvalues: list[float] = []
    for s in summaries:
        if s is best or s.mean is None:
            continue
        seeds = sorted(set(s.metric_values) & set(best.metric_values))
        if len(seeds) < 2:
            s.test_note = "not enough seeds for a test"
            continue
        a = np.array([best.metric_values[k] for k in seeds])
        b = np.array([s.metric_values[k] for k in seeds])
        diff = a - b
        if np.allclose(diff, diff[0]):
            p = 1.0 if abs(diff[0]) < 1e-15 else 0.0  # no spread: the t statistic is 0 or unbounded
        else:
            p = paired_t_pvalue(a, b)
        s.p_value = p
        tested.append(s)
        pvalues.append(p)
    for s, adjusted in zip(tested, holm(pvalues)):
        s.p_adjusted = adjusted
        s.significant = adjusted < ALPHA
        s.test_note = "significantly worse" if s.significant else "not significantly different"




def failure_note(s: ActivationSummary) -> str:
    """"all N seeds failed to learn (…)" / "k of N seeds failed to learn" ("" when every run learned)."""
    failed = len(s.diverged) + len(s.failed)
    if not failed:
        return ""
    total = len(s.runs)
    if not s.finished and failed == len([r for r in s.runs if r.status in ("finished", "diverged")]):
        kinds = []
        if s.diverged:
            kinds.append("diverged")
        reasons = [s.failures.get(r.run_id, "") for r in s.failed]
        if any(why.startswith("exploded") for why in reasons):
            kinds.append("exploded loss")
        if any(why.startswith(("chance", "no better")) for why in reasons):
            kinds.append("chance level")
        return f"all {failed} seeds failed to learn ({' / '.join(kinds)})" if failed == total else (
            f"{failed} of {total} seeds failed to learn ({' / '.join(kinds)}), none learned")
    return f"{failed} of {total} seeds failed to learn"
