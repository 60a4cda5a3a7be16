"""The report's tuning section, for a comparison that ``actlab tune`` ran at each activation's best settings.

Reads only the sweep's stored config (``config["tune"]``, written by :mod:`actlab.sweep.tune`):
the searched space, each activation's best settings and best trial value, its trial counts
(finished, pruned — diverged runs are pruned trials — and interrupted ones that were tried
again) and the importance of each searched option.  Rendered by ``templates/tuning.html``
(HTML) and :func:`markdown` here; :func:`tuning_section` returns None for a plain sweep.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["random_start_warning", "tuning_section", "title"]

TITLE = "Tuned settings"


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if math.isfinite(value) else "—"
    return str(value)


def _score(value: Any, objective: str) -> str:
    if value is None:
        return "—"
    return f"{100 * value:.2f} %" if "accuracy" in objective else f"{value:.4g}"


def _names(tune: Mapping[str, Any]) -> list[str]:
    return [d["name"] for d in tune.get("dimensions", [])]


def random_start_warning(config: Mapping[str, Any]) -> str:
    """A warning when a tuned sweep ran no more trials than its sampler's random start ("" otherwise)."""
    tune = config.get("tune")
    if not tune or not isinstance(tune.get("trials"), int):
        return ""
    start = int(tune.get("random_start", 10))  # Optuna's TPE default
    if tune["trials"] > start:
        return ""
    return (f"--trials {tune['trials']} is not more than the sampler's {start} random-start trials: every "
            "activation's search was seeded random search (the same settings tried in the same order), not TPE; "
            f"its \"best\" settings say little. Run more than {start} trials for a guided search.")


def title(config: Mapping[str, Any]) -> str:
    return f"actlab tune — {config.get('dataset')} / {config.get('model')}, each activation at its tuned settings"


def view(config: Mapping[str, Any], order: Sequence[str]) -> dict[str, Any] | None:
    """The section as plain data (None unless the sweep was tuned)."""
    tune = config.get("tune")
    if not tune:
        return None
    names = _names(tune)
    objective = tune.get("objective", "validation accuracy")
    studies, settings = tune.get("studies", {}), tune.get("settings", {})
    labels = [label for label in order if label in studies] + [label for label in studies if label not in order]
    flags = [name.replace("_", "-") for name in names]
    best_header = ["activation", *flags, f"best trial's {objective}", "trials finished", "pruned (diverged)",
                   "interrupted, retried", "search time"]
    best_rows, weight_rows = [], []
    for label in labels:
        study, chosen = studies[label], settings.get(label, {})
        best_rows.append([label, *(_value(chosen.get(name)) for name in names),
                          _score(study.get("best_value"), objective) + (f" (#{study['best_trial']})"
                                                                        if study.get("best_trial") is not None else ""),
                          str(study.get("complete", 0)), f"{study.get('pruned', 0)} ({study.get('diverged', 0)})",
                          str(study.get("failed", 0)), f"{study.get('seconds', 0):.0f} s"])
        weights = study.get("importance")
        if weights:
            weight_rows.append([label, *(f"{100 * weights.get(name, 0.0):.0f} %" for name in names),
                                study.get("importance_note", "")])
        else:
            weight_rows.append([label, *("—" for _ in names), study.get("importance_note", "")])
    pruner = "Optuna's MedianPruner (after 5 finished trials, a trial whose validation score after an epoch is " \
             "worse than the median of earlier trials' at that epoch stops)" if tune.get("pruner") == "median" \
        else "no pruning"
    intro = (f"Each activation was tuned separately: an Optuna study of {tune.get('trials')} trials per activation "
             f"(finished + pruned), {tune.get('sampler', 'TPE')} sampler (seed {tune.get('sampler_seed', 0)}), over "
             f"{tune.get('space')}; the other options as in the resolved config. A trial trains one run (seed "
             f"{tune.get('trial_seed', 0)}, {config.get('epochs')} epochs) and scores the {objective} at its best "
             f"validation-loss epoch; {pruner}. The comparison above re-runs each activation at its best trial's "
             f"settings with {config.get('seeds')} seeds; the test set is used only there.")
    importance_note = (f"Importance: each searched option's share of the variance of the {objective} across the "
                       f"finished trials, by {tune.get('importance_method', 'fANOVA')}; with few trials it is rough.")
    resume = f"Studies: {tune.get('storage', 'optuna.sqlite')} in the run directory (study per activation: " \
             f"actlab-tune:<activation>); rerunning the command resumes them."
    warning = random_start_warning(config)
    return {"id": "tuning", "title": TITLE, "intro": intro + (f" Warning: {warning}" if warning else ""), "best": {"header": best_header, "rows": best_rows},
            "importance": {"header": ["activation", *flags, "from"], "rows": weight_rows},
            "notes": [importance_note, resume]}


def markdown(section: Mapping[str, Any]) -> list[str]:
    def table(t: Mapping[str, Any]) -> list[str]:
        lines = ["| " + " | ".join(t["header"]) + " |", "|" + "|".join("---" for _ in t["header"]) + "|"]
        return lines + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in t["rows"]] + [""]

    lines = [f"## {section['title']}", "", section["intro"], ""]
    lines += ["### Best settings per activation", "", *table(section["best"])]
    lines += ["### Importance of each searched option", "", *table(section["importance"])]
    return lines + [p + "\n" for p in section["notes"]]


def html(section: Mapping[str, Any]) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("actlab.report", "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("tuning.html").render(section=section)


def tuning_section(config: Mapping[str, Any], order: Sequence[str]) -> dict[str, Any] | None:
    """The report section (``raw_html`` / ``raw_markdown``, as the renderer places them), or None."""
    section = view(config, order)
    if section is None:
        return None
    return {"id": "tuning", "title": TITLE, "before": [], "tables": [], "figures": [], "bullets": [], "after": [],
            "pre": [], "raw_html": html(section), "raw_markdown": markdown(section)}
