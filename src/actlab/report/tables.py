"""The report's tables (ranking, properties, diverged runs, config) as header + rows of text."""

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from actlab.errors import ActlabError
from actlab.report.decision import Decision
from actlab.report.summary import ReportData, failure_note

PROPERTY_COLUMNS = (
    ("range_min", "min"),
    ("range_max", "max"),
    ("monotonic", "monotonic"),
    ("zero_at_origin", "f(0)=0"),
    ("derivative_max", "max f'"),
    ("vanishing_risk", "vanishing risk"),
    ("exploding_risk", "exploding risk"),
    ("dead_region", "dead region"),
    ("sparsity", "sparsity"),
    ("self_normalizing", "self-normalizing"),
    ("relative_cost", "relative cost"),
)
# ---------------------------------------------------------------- tables
def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(value)
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "—"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return f"{value:.{digits}g}"
    return str(value)


def _pct_or_num(value: float | None, classification: bool) -> str:
    if value is None:
        return "—"
    return f"{100 * value:.2f} %" if classification else f"{value:.4g}"


def _interval(ci: tuple[float, float] | None, classification: bool) -> str:
    return "—" if ci is None else f"[{_pct_or_num(ci[0], classification)}, {_pct_or_num(ci[1], classification)}]"


def _verdict(s: Any, decision: Decision) -> str:
    failed = failure_note(s)
    if s.mean is None:
        return failed or "no finished run"
    verdict = _group_verdict(s, decision)
    return verdict if not failed or failed == verdict else f"{verdict}; {failed}"


def _group_verdict(s: Any, decision: Decision) -> str:
    if s is decision.recommended:
        return "recommended" + (" (best mean)" if s is decision.best else "")
    if s is decision.best:
        return "best mean"
    if s in decision.worse:
        return "significantly worse"
    if s.p_adjusted is None:
        return s.test_note or "not enough seeds for a test"
    return "indistinguishable from the best"


def _ranking_table(data: ReportData, decision: Decision) -> tuple[list[str], list[list[str]]]:
    c = data.classification
    unit = "test acc." if c else "test loss"
    header = ["rank", "activation"]
    if data.lr_grid:
        header.append("best lr")
    header += [f"{unit} mean ± std", "95 % CI", "epochs to threshold", "learned", "failed to learn", "verdict"]
    rows = []
    for i, s in enumerate(data.summaries, 1):
        mean_std = "—" if s.mean is None else (
            _pct_or_num(s.mean, c) + ("" if s.std is None else " ± " + _pct_or_num(s.std, c))
        )
        if s.epochs_to_threshold is None:
            reach = f"not reached (0/{len(s.finished)})" if s.finished else "—"
        else:
            reach = f"{s.epochs_to_threshold:.1f}"
            if s.reached < len(s.finished):
                reach += f" ({s.reached}/{len(s.finished)} runs)"
        row = [str(i), s.label]
        if data.lr_grid:
            row.append(_fmt(s.lr))
        row += [mean_std, _interval(s.ci, c), reach, f"{len(s.finished)}/{len(s.runs)}",
                str(len(s.diverged) + len(s.failed)), _verdict(s, decision)]
        rows.append(row)
    return header, rows


def _effect_table(data: ReportData, decision: Decision) -> tuple[list[str], list[list[str]]]:
    c = data.classification
    unit = "points" if c else "loss"
    header = ["activation", f"worse than {decision.best.label if decision.best else 'best'} by ({unit})",
              "95 % paired CI", "Holm p", f"equivalent (±{decision.margin_text})", "seeds for 80 % power"]
    def num(v: float) -> str:
        return f"{100 * v:+.2f}" if c else f"{v:+.3g}"

    rows = []
    for s in data.summaries:
        e = decision.effects.get(s.label)
        if s is decision.best or e is None or e.difference is None:
            continue
        ci = "—" if e.ci is None else f"[{num(e.ci[0])}, {num(e.ci[1])}]"
        p = "—" if s.p_adjusted is None else f"{s.p_adjusted:.3g}"
        same = "—" if e.equivalent is None else ("yes" if e.equivalent else "equivalence not shown")
        if e.seeds_needed is None:
            power = "—"
        elif e.seeds_needed > 1000:
            power = "> 1000"
        else:
            power = str(e.seeds_needed)
        rows.append([s.label, num(e.difference), ci, p, same, power])
    return header, rows


def _cost_table(data: ReportData, decision: Decision) -> tuple[list[str], list[list[str]]]:
    costs = {k: v for k, v in decision.cost.items() if v is not None}
    cheapest = min(costs.values()) if costs else None
    header = ["activation", "activation time per epoch (measured)", "± spread", "× the cheapest",
              "wall s / epoch (grid share)"]
    rows = []
    for s in data.summaries:
        value = decision.cost.get(s.label)
        spread = decision.cost_spread.get(s.label)
        estimate = decision.cost_ratio.get(s.label)
        if value is None or not cheapest:
            ratio = "—"
        elif estimate is None or value == cheapest:
            ratio = f"{value / cheapest:.2f}"
        else:
            ratio = f"{estimate[0]:.2f} [{estimate[1]:.2f}, {estimate[2]:.2f}]" + (
                " (within noise)" if decision.within_noise.get(s.label) else "")
        rows.append([s.label, "not measured" if value is None else f"{1000 * value:.1f} ms",
                     "—" if spread is None else f"{1000 * spread:.1f} ms", ratio, _fmt(s.seconds_per_epoch, 3)])
    return header, rows


def _property_table(data: ReportData) -> tuple[list[str], list[list[str]], str]:
    try:
        from actlab.analysis import properties
    except ImportError:
        return [], [], "The property analysis (actlab.analysis) is not available in this installation."
    import actlab

    header = ["activation"]
    rows: list[list[str]] = []
    present: list[str] = []
    tables = {}
    for s in data.summaries:
        try:
            tables[s.label] = properties(actlab.get(s.activation), measure_cost=False).to_dict()
        except ActlabError as error:
            tables[s.label] = {"error": str(error)}
    for key, _ in PROPERTY_COLUMNS:
        if any(t.get(key) is not None for t in tables.values()):
            present.append(key)
    header += [title for key, title in PROPERTY_COLUMNS if key in present]
    for s in data.summaries:
        t = tables[s.label]
        rows.append([s.label] + [_fmt(t.get(key), 3) for key in present])
    return header, rows, ""


def _diverged_rows(data: ReportData) -> list[list[str]]:
    """Every run that failed to learn: diverged (epoch and step where the loss became NaN/inf), or finished at
    chance level / with an exploded loss (the reason says which)."""
    rows = []
    for run in data.runs:
        if run.status == "diverged":
            rows.append([run.label, _fmt(run.lr), str(run.seed), _fmt(run.diverged_epoch),
                         _fmt(run.diverged_step), run.reason or ""])
        elif run.run_id in data.failures:
            rows.append([run.label, _fmt(run.lr), str(run.seed), "—", "—", data.failures[run.run_id]])
    return rows


def _duration(seconds: float | None) -> str:
    if not seconds:
        return "—"
    minutes, sec = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {sec:02d} s" if hours else f"{minutes} min {sec:02d} s"


def _config_rows(config: Mapping[str, Any]) -> list[list[str]]:
    skip = {"lr_resolved", "tune", "baseline"}  # shown by the tuning section / spelled out in the decision section
    skip |= {"not_applying", *config.get("not_applying", ())}  # recorded by the sweep: e.g. momentum with Adam
    rows = []
    for key, value in config.items():
        if key in skip:
            continue
        if key == "lr" and value is None:
            value = f"{config.get('lr_resolved')} (default)" if config.get("lr_resolved") is not None else None
        if isinstance(value, list):
            value = ", ".join(_fmt(v) for v in value)
        rows.append([key, _fmt(value)])
    return rows

