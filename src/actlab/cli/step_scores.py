"""Step scores (MNIST-1D's score: each run's mean training loss over its last N steps), grouped per activation,
for ``compare --json`` and ``export --last-steps``; the per-run scores are :func:`actlab.store.export.step_scores`."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

__all__ = ["step_scores_json", "step_score_groups"]


def step_scores_json(run_dir: Path, last: int | None) -> dict[str, Any]:
    """``step_scores`` (with --last-steps): per activation (and lr) the mean ± std over seeds of each run's mean
    training loss over its last ``last`` steps, and the runs' own scores (:func:`actlab.store.export.step_scores`)."""
    if not last:
        return {}
    from actlab.store.export import step_scores

    runs = step_scores(run_dir, last)
    return {"step_scores": {"last_steps": last, "by_activation": [
        {"activation": label, "lr": lr, "runs": len(values), "scored": len(finite), "mean": mean, "std": std}
        for (label, lr), values, finite, mean, std in step_score_groups(runs)], "runs": runs}}


def step_score_groups(scores: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """((label, lr), values, finite values, mean, std) per activation and lr, best (lowest mean) first."""
    import statistics

    groups: dict[tuple[str, Any], list[float | None]] = {}
    for row in scores:
        groups.setdefault((row["label"], row["lr"]), []).append(row["mean_train_loss"])
    out = []
    for key, values in groups.items():
        finite = [v for v in values if v is not None]
        mean = statistics.fmean(finite) if finite else None
        out.append((key, values, finite, mean, statistics.stdev(finite) if len(finite) > 1 else None))
    return sorted(out, key=lambda item: math.inf if item[3] is None else item[3])
