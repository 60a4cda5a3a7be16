"""What a search found, read from its store: the funnel, the final comparison, the leaders.

The final round trains the finalists and the baselines with the same seeds; each finalist is compared
with each baseline by the paired t-test on test accuracy (regression: test loss), all comparisons
Holm-corrected together (:mod:`actlab.report.stats`).  A finalist is *better* only when it is
significantly better than every baseline at α = 0.05 after the correction.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actlab.report.stats import ALPHA, bounded_interval, holm, paired_t_pvalue

__all__ = ["Finalist", "Summary", "summarize"]


@dataclass
class Finalist:
    candidate: int
    formula: str
    origin: str
    values: dict[int, float]  # seed → test metric
    mean: float | None
    interval: tuple[float, float] | None
    diverged: int
    versus: dict[str, dict[str, Any]] = field(default_factory=dict)  # baseline → difference, p, adjusted p
    better: bool = False
    details: dict[str, Any] | None = None


@dataclass
class Summary:
    config: dict[str, Any]
    funnel: dict[str, int]
    rungs: list[dict[str, Any]]
    finalists: list[Finalist]  # best mean first (candidates and baselines)
    classification: bool
    screen_failures: dict[str, int]
    leaders_by_rung: dict[int, list[tuple[str, float]]]

    @property
    def leaders(self) -> list[Finalist]:
        return [f for f in self.finalists if f.origin != "baseline"]

    def to_json(self) -> dict[str, Any]:
        return {**self.funnel, "leaders": [{"formula": f.formula, "test_accuracy": f.mean if self.classification
                                            else None, "test_loss": None if self.classification else f.mean,
                                            "better_than_baselines": f.better} for f in self.leaders],
                "baselines": [{"name": f.formula, "test_accuracy" if self.classification else "test_loss": f.mean}
                              for f in self.finalists if f.origin == "baseline"]}


def summarize(out: str | Path) -> Summary:
    """The search in ``out`` as plain data (the store is only read)."""
    from actlab.search.race import score
    from actlab.store import Store
    from actlab.store.search import SearchTables

    with Store(out, readonly=True) as store:
        tables = SearchTables(store)
        config = tables.config() or {}
        candidates = {c["id"]: c for c in tables.candidates()}
        verdicts = tables.verdicts()
        rungs = tables.rungs()
        runs = tables.runs()
    classification = config.get("classification", True)
    generated = [c for c in candidates.values() if c["origin"] != "baseline"]
    distinct = [c for c in generated if c["duplicate_of"] is None]
    passed = [c for c in distinct if verdicts.get(c["id"]) and all(v["passed"] for v in verdicts[c["id"]].values())
              and len(verdicts[c["id"]]) == len(config.get("rules", []))]
    failures: dict[str, int] = {}
    for c in distinct:
        for rule, verdict in (verdicts.get(c["id"]) or {}).items():
            if not verdict["passed"]:
                failures[rule] = failures.get(rule, 0) + 1
    final_rung = len(config.get("plan", {}).get("rungs", []))
    by_rung: dict[int, dict[int, list[dict[str, Any]]]] = {}
    for row in runs:
        by_rung.setdefault(row["rung"], {}).setdefault(row["candidate"], []).append(row)
    leaders_by_rung = {}
    for rung, per in by_rung.items():
        ranked = sorted(per, key=lambda cid: (-score(per[cid], classification), cid))
        leaders_by_rung[rung] = [(candidates[cid]["formula"], score(per[cid], classification)) for cid in ranked[:5]]
    finalists = _finalists(by_rung.get(final_rung, {}), candidates, classification)
    funnel = {"generated": len(generated), "distinct": len(distinct), "screened": len(passed),
              "raced": len(rungs[0]["entered"]) if rungs else 0,
              "final": sum(1 for f in finalists if f.origin != "baseline")}
    return Summary(config, funnel, rungs, finalists, classification, failures, leaders_by_rung)


def _metric(row: dict[str, Any], classification: bool) -> float | None:
    value = row["test_accuracy"] if classification else row["test_loss"]
    return None if row["status"] != "finished" or value is None or not math.isfinite(value) else float(value)


def _finalists(per: dict[int, list[dict[str, Any]]], candidates: dict[int, dict[str, Any]],
               classification: bool) -> list[Finalist]:
    out = []
    for cid, rows in per.items():
        values = {r["seed"]: v for r in rows if (v := _metric(r, classification)) is not None}
        finite = list(values.values())
        out.append(Finalist(cid, candidates[cid]["formula"], candidates[cid]["origin"], values,
                            sum(finite) / len(finite) if finite else None,
                            bounded_interval(finite, "accuracy" if classification else "loss"),
                            len(rows) - len(values), details=candidates[cid].get("details")))
    baselines = [f for f in out if f.origin == "baseline"]
    tests = []
    for f in out:
        if f.origin == "baseline":
            continue
        for b in baselines:
            seeds = sorted(set(f.values) & set(b.values))
            diffs = [f.values[s] - b.values[s] for s in seeds]
            if not classification:
                diffs = [-d for d in diffs]  # positive: the candidate is better (lower loss)
            p = paired_t_pvalue([d for d in diffs], [0.0] * len(diffs)) if len(diffs) >= 2 else math.nan
            f.versus[b.formula] = {"difference": sum(diffs) / len(diffs) if diffs else None, "p": p, "seeds": len(seeds)}
            tests.append((f, b.formula))
    pvalues = [f.versus[name]["p"] for f, name in tests]
    adjusted = holm([1.0 if math.isnan(p) else p for p in pvalues]) if pvalues else []
    for (f, name), adj in zip(tests, adjusted, strict=True):
        f.versus[name]["adjusted"] = adj
    for f in out:
        if f.origin != "baseline" and f.versus:
            f.better = all(v["adjusted"] < ALPHA and (v["difference"] or 0) > 0 for v in f.versus.values())
    sign = -1 if classification else 1
    out.sort(key=lambda f: (math.inf if f.mean is None else sign * f.mean, f.candidate))
    return out
