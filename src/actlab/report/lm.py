"""The report's language-model section: size, bits per character, speed and steps to a target, per arm.

Everything is read from the store: each arm's size (``model_size``, measured at sweep time), and per run the
evaluation points (step, validation loss in nats per character, seconds of the chunk that ended there).  Derived
here by arithmetic only: bits per character = loss / ln 2; tokens per second = steps × batch × context / seconds
(the seconds include the evaluations, as a user waiting for the run sees them); the **target** is the highest of
the arms' final mean validation bpc — the loss every arm reaches — and "steps to target" is the first evaluation
point at or below it (mean over the runs that reach it), as llm.c's "converges faster" comparisons ask.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from actlab.report.stats import t_interval

__all__ = ["is_language_model", "lm_rows", "figure_bpc", "LM_HEADER", "LM_NOTE"]

LN2 = math.log(2.0)
LM_HEADER = ("activation", "parameters", "vs the first arm", "hidden width", "FLOPs / token", "final val bpc",
             "95 % CI", "test bpc", "tokens / s", "steps to target", "seconds to target")
LM_NOTE = ("Bits per character (bpc) = loss in nats / ln 2. Final val bpc: the last evaluation, mean over seeds "
           "with its 95 % t interval; test bpc: at each run's reported point. Tokens / s: steps × batch × context "
           "over the wall time of training and evaluating (mean over seeds). Target: {target} — the highest final "
           "mean validation bpc of the arms, the level every arm reaches; steps (seconds) to target: the first "
           "evaluation at or below it, mean over the runs that reach it. Parameters counted once per tied weight; "
           "FLOPs per token: the forward pass, 2·N + 4·layers·context·width (nanoGPT's estimate).")


def is_language_model(config: Mapping[str, Any]) -> bool:
    return (config.get("dataset_task") or config.get("task")) == "language-model"


def _curves(data: Any, label_runs: Sequence[Any]) -> list[list[tuple[int, float, float]]]:
    """Per finished run: (step, val bpc, cumulative seconds) at each evaluation point."""
    out = []
    for run in label_runs:
        rows = sorted(data.epochs.get(run.run_id, []), key=lambda e: e.step)
        elapsed, points = 0.0, []
        for e in rows:
            elapsed += float(e.seconds or 0.0)
            if e.val_loss is not None and math.isfinite(e.val_loss):
                points.append((int(e.step), e.val_loss / LN2, elapsed))
        if points:
            out.append(points)
    return out


def _fmt(value: float | None, digits: int = 4) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def lm_rows(data: Any, sizes: Mapping[str, Any]) -> tuple[list[list[str]], float | None]:
    """The section's table rows (ranking order) and the target bpc."""
    config = data.sweep["config"]
    tokens_per_step = int(config.get("batch_size") or 0) * int(config.get("context") or 64)
    curves = {s.label: _curves(data, s.finished) for s in data.summaries}
    finals = {label: float(np.mean([c[-1][1] for c in runs])) for label, runs in curves.items() if runs}
    target = max(finals.values()) if finals else None
    arms = list(dict.fromkeys(run.label for run in data.runs))  # the sweep's order: the first arm is the reference
    first = next((sizes[label].n_parameters for label in arms if label in sizes), None)
    rows = []
    for s in data.summaries:
        runs = curves.get(s.label, [])
        size = sizes.get(s.label)
        finals_s = [c[-1][1] for c in runs]
        interval = t_interval(finals_s)
        speeds = [c[-1][0] * tokens_per_step / c[-1][2] for c in runs if c[-1][2] > 0]
        reach = [next(((step, sec) for step, bpc, sec in c if bpc <= target + 1e-12), None) for c in runs] \
            if target is not None else []
        reached = [r for r in reach if r is not None]
        tests = [r.test_loss / LN2 for r in s.finished if r.test_loss is not None]
        rows.append([
            s.label,
            "—" if size is None else f"{size.n_parameters:,}",
            "—" if size is None or not first else f"{100 * (size.n_parameters - first) / first:+.2f} %",
            "—" if size is None else str(size.hidden_width),
            "—" if size is None else f"{size.flops:,}",
            _fmt(float(np.mean(finals_s))) if finals_s else "—",
            "—" if interval is None else f"[{interval[0]:.4f}, {interval[1]:.4f}]",
            _fmt(float(np.mean(tests))) if tests else "—",
            f"{np.mean(speeds):,.0f}" if speeds else "—",
            (f"{np.mean([r[0] for r in reached]):.0f} ({len(reached)}/{len(runs)})" if reached else "—"),
            (f"{np.mean([r[1] for r in reached]):.1f}" if reached else "—"),
        ])
    return rows, target


def figure_bpc(data: Any, colors: Mapping[str, str]) -> Any:
    """Validation bpc against optimiser steps (left) and against wall-clock seconds (right): mean over seeds per
    arm, the band the 95 % t interval at each evaluation point."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.6), layout="constrained")
    by_step, by_time = fig.subplots(1, 2, sharey=True)
    for s in data.summaries:
        runs = _curves(data, s.finished)
        if not runs:
            continue
        length = min(len(c) for c in runs)
        steps = np.array([runs[0][i][0] for i in range(length)])
        values = np.array([[c[i][1] for c in runs] for i in range(length)])
        seconds = np.array([np.mean([c[i][2] for c in runs]) for i in range(length)])
        mean = values.mean(axis=1)
        color = colors.get(s.label)
        bands = [t_interval(v.tolist()) for v in values]
        for axis, xs in ((by_step, steps), (by_time, seconds)):
            axis.plot(xs, mean, color=color, label=s.label, linewidth=1.6)
            if all(b is not None for b in bands):
                axis.fill_between(xs, [b[0] for b in bands], [b[1] for b in bands], color=color, alpha=0.18,
                                  linewidth=0)
    by_step.set_xlabel("optimiser steps")
    by_time.set_xlabel("wall-clock seconds (training + evaluation, mean over seeds)")
    by_step.set_ylabel("validation bits per character")
    if by_step.lines:  # no curve when every run failed to learn
        by_step.legend(frameon=False, fontsize=8)
    for axis in (by_step, by_time):
        axis.grid(alpha=0.3)
    return fig
