"""``actlab recommend``: which activation, and why — from evidence, not opinion.

Three kinds of evidence, each reason carrying what triggered it:

* **Property rules** (:data:`RULES`): a property of the activation's computed
  property table (``actlab props``) and the situation (depth, normalisation,
  budget) trigger a rule; each rule cites a paper the catalog already cites for
  one of its records (looked up in the catalog, so the citation is the catalog's).
* **Measurements** (``--from RUN_DIR``): the report's decision per sweep — in the
  group indistinguishable from the best, recommended by the tie-break, or
  significantly worse (paired difference with its 95 % interval), and diverged runs.
* **Cost** (``--budget fast``): forward + backward timed against ReLU on one thread.

Scores add up; the ranking is by score, then cost, then name. The numbers are a
documented heuristic for ordering, not a probability: the reasons are the answer.
"""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEEP = 4  # hidden layers from which depth-related rules apply in full
CANDIDATES = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish")
SHOWN = 5


@dataclass(frozen=True)
class Situation:
    task: str = "classification"
    depth: int = 2
    normalization: str = "none"  # none, batch, layer
    budget: str = "any"  # fast, any

    @property
    def deep(self) -> bool:
        return self.depth >= DEEP

    @property
    def normalized(self) -> bool:
        return self.normalization != "none"


@dataclass(frozen=True)
class Rule:
    key: str
    trigger: str  # the property (and situation) that triggers it, in words
    reference: tuple[str, str]  # (catalog record, a substring of one of its references)
    applies: Callable[[Mapping[str, Any], Situation], bool]
    score: Callable[[Mapping[str, Any], Situation], float]
    reason: Callable[[Mapping[str, Any], Situation], str]


def _depth_weight(s: Situation) -> float:
    return (s.depth / DEEP) * (0.4 if s.normalized else 1.0)


RULES: tuple[Rule, ...] = (
    Rule("vanishing_gradient", "derivative_max ≤ 0.25 (bounded derivative)", ("relu", "Glorot, Bordes"),
         lambda p, s: p.get("derivative_max") is not None and p["derivative_max"] <= 0.25 + 1e-9,
         lambda p, s: -1.5 * _depth_weight(s),
         lambda p, s: (f"f' ≤ {p['derivative_max']:.3g}: the backpropagated gradient shrinks by ≥ "
                       f"{1 / p['derivative_max']:.0f}× per layer (≥ {(1 / p['derivative_max']) ** s.depth:.3g}× "
                       f"over {s.depth} layers) — vanishing gradients"
                       + (" (normalisation eases it)" if s.normalized else ""))),
    Rule("saturation", "saturation_high is finite (saturates on both sides) and derivative_max > 0.25",
         ("relu", "Glorot, Bordes"),
         lambda p, s: p.get("saturation_high") is not None and p.get("saturation_low") is not None
         and (p.get("derivative_max") or 0) > 0.25 + 1e-9,
         lambda p, s: -0.6 * _depth_weight(s),
         lambda p, s: (f"saturates on both sides (|f'| < 1 % of its maximum beyond |x| ≈ {p['saturation_high']:.3g}): gradients "
                       "vanish in saturated units, more so in deep nets")),
    Rule("not_zero_centred", "zero_at_origin is false and range_min ≥ 0", ("tanh", "Efficient BackProp"),
         lambda p, s: p.get("zero_at_origin") is False and (p.get("range_min") or 0) >= 0,
         lambda p, s: -0.5,
         lambda p, s: "outputs are not centred on zero (f(0) ≠ 0, never negative): slower, zig-zagging updates"),
    Rule("dead_region", "dead_region (f' = 0 on a half-line)", ("leaky_relu", "Maas"),
         lambda p, s: bool(p.get("dead_region")),
         lambda p, s: -0.4 * _depth_weight(s),
         lambda p, s: "dead region (f' = 0 for x < 0): units pushed there stop learning (dying units)"),
    Rule("no_dead_units", "derivative_min > 0 and range_max = ∞ (a gradient everywhere)", ("leaky_relu", "Maas"),
         lambda p, s: (p.get("derivative_min") or 0) > 0 and p.get("range_max") == math.inf,
         lambda p, s: 0.3,
         lambda p, s: f"a gradient everywhere (f' ≥ {p['derivative_min']:.3g}): no dying units, unbounded above"),
    Rule("self_normalizing", "self_normalizing (fixed point mean 0, variance 1)", ("selu", "Klambauer"),
         lambda p, s: bool(p.get("self_normalizing")),
         lambda p, s: 1.5 if s.deep and not s.normalized else 0.0,
         lambda p, s: ("self-normalising: keeps mean 0 / variance 1 through depth without normalisation layers; "
                       "needs lecun_normal init and AlphaDropout (plain dropout breaks it)"
                       + ("; with normalisation layers the property is not needed" if s.normalized else ""))),
    Rule("negative_saturation", "range_min < 0 and finite, range_max = ∞, no dead region, monotonic", ("elu", "Clevert"),
         lambda p, s: (p.get("range_min") is not None and -math.inf < p["range_min"] < 0
                       and p.get("range_max") == math.inf and not p.get("dead_region") and bool(p.get("monotonic")) and not p.get("self_normalizing")),
         lambda p, s: 0.5,
         lambda p, s: f"negative outputs down to {p['range_min']:.3g} push mean activations toward zero, no dead units"),
    Rule("smooth_non_monotonic", "smooth and not monotonic", ("silu", "Ramachandran"),
         lambda p, s: bool(p.get("smooth")) and p.get("monotonic") is False,
         lambda p, s: 0.75 if s.deep else 0.4,
         lambda p, s: "smooth and non-monotonic (a small negative bump): found to train deep nets as well as or "
                      "better than ReLU in a large search"),
)


@dataclass
class Candidate:
    activation: str
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    relative_cost: float | None = None
    measured: bool = False

    def add(self, delta: float, reason: str, evidence: dict[str, Any]) -> None:
        self.score += delta
        self.reasons.append(reason)
        self.evidence.append({**evidence, "score": round(delta, 3)})


def _reference(record: str, needle: str) -> str:
    import actlab

    for ref in actlab.get(record).references:
        if needle in ref:
            return ref
    raise LookupError(f"the catalog's {record} cites no reference containing {needle!r}")


def _relative_cost(name: str) -> float | None:
    """The activation's time over native ReLU's, measured side by side (:mod:`actlab.analysis.cost`)."""
    import torch

    import actlab
    from actlab.analysis.cost import _relative_cost as measured_ratio

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ratio, _ = measured_ratio(actlab.get(name), {})
    finally:
        torch.set_num_threads(threads)
    return ratio


def _apply_properties(c: Candidate, s: Situation) -> None:
    from actlab.analysis import properties

    table = properties(c.activation, measure_cost=False).to_dict()
    for rule in RULES:
        if not rule.applies(table, s):
            continue
        delta = rule.score(table, s)
        keys = [k for k in ("derivative_max", "derivative_min", "saturation_high", "zero_at_origin", "range_min", "range_max",
                            "dead_region", "self_normalizing", "smooth", "monotonic") if k in rule.trigger]
        c.add(delta, rule.reason(table, s), {
            "kind": "property", "rule": rule.key, "trigger": rule.trigger,
            "values": {k: table.get(k) for k in keys},
            "reference": _reference(*rule.reference)})
    if s.budget == "fast":
        c.relative_cost = _relative_cost(c.activation)
        if c.relative_cost is not None and c.relative_cost > 1.3:
            c.add(-min(2.0, 0.5 * (c.relative_cost - 1)), f"costs {c.relative_cost:g}× ReLU (measured) on a fast budget",
                  {"kind": "cost", "relative_cost": c.relative_cost, "trigger": "--budget fast"})


def _apply_measurements(candidates: dict[str, Candidate], run_dir: Path) -> str:
    """Add one sweep's decision; returns a one-line description of the sweep."""
    from actlab.report.decision import decide
    from actlab.report.summary import failure_note, summarize

    data = summarize(run_dir)
    decision = decide(data, cost={})  # no timing here: the group does not depend on it
    config = data.sweep["config"]
    where = f"{config.get('dataset')} (depth {config.get('depth')}, {run_dir})"
    scale, unit = (100, " points") if data.classification else (1, "")
    for s in data.summaries:
        c = candidates.setdefault(s.activation, Candidate(s.activation))
        c.measured = True
        e = decision.effects.get(s.label)
        base = {"kind": "measurement", "run_dir": str(run_dir), "dataset": config.get("dataset"),
                "depth": config.get("depth"), "metric": data.metric_name, "mean": s.mean,
                "seeds": len(s.metric_values), "diverged": len(s.diverged),
                "failed_to_learn": len(s.diverged) + len(s.failed)}
        if e is not None and e.difference is not None and s is not decision.best:
            base.update({"difference": e.difference, "ci95": list(e.ci) if e.ci else None,
                         "p_holm": s.p_adjusted})
        diff = "" if e is None or e.difference is None or s is decision.best else (
            f" ({scale * e.difference:+.2f}{unit} vs {decision.best.label}"  # type: ignore[union-attr]
            + ("" if e.ci is None else f", 95 % CI [{scale * e.ci[0]:+.2f}, {scale * e.ci[1]:+.2f}]") + ")")
        if s.mean is None:  # no run learned: a failure is evidence against, never a measurement for it
            if failure_note(s):
                c.add(-3.0, f"{failure_note(s)} on {where}", base)
        elif s is decision.recommended:
            c.add(3.0, f"recommended by the report on {where}", base)
        elif s in decision.group:
            c.add(2.0, f"statistically indistinguishable from the best on {where}{diff}", base)
        else:
            c.add(-2.0 - min(2.0, scale * (e.difference or 0) / 2 if e else 0.0),
                  f"significantly worse than {decision.best.label} on {where}{diff}", base)  # type: ignore[union-attr]
        if (s.diverged or s.failed) and s.mean is not None:
            share = (len(s.diverged) + len(s.failed)) / max(len(s.runs), 1)
            c.add(-2.0 * share, f"{failure_note(s)} (diverged, chance level or exploded loss) on {where}", base)
    return where


def recommend(*, task: str = "classification", depth: int = 2, normalization: str = "none", budget: str = "any",
              run_dirs: Sequence[str | Path] = (), candidates: Sequence[str] | None = None) -> dict[str, Any]:
    """The ranked recommendations (JSON-ready): ``recommendations``, ``inputs``, ``not_recommended``, ``next``."""
    from actlab.errors import ActlabError

    if task not in ("classification", "regression"):
        raise ActlabError(f"--task must be classification or regression, got {task!r}")
    if normalization not in ("none", "batch", "layer"):
        raise ActlabError(f"--normalization must be none, batch or layer, got {normalization!r}")
    if budget not in ("fast", "any"):
        raise ActlabError(f"--budget must be fast or any, got {budget!r}")
    if depth < 1:
        raise ActlabError(f"--depth must be at least 1, got {depth}")
    situation = Situation(task, depth, normalization, budget)
    pool: dict[str, Candidate] = {}
    sweeps = []
    for run_dir in run_dirs:
        from actlab.store import is_store

        path = Path(run_dir)
        if not is_store(path):
            raise ActlabError(f"{path} holds no actlab results (results.sqlite not found)")
        sweeps.append(_apply_measurements(pool, path))
    names = list(candidates or ([] if pool else CANDIDATES))
    for name in names:
        pool.setdefault(name, Candidate(name))
    for c in pool.values():
        try:
            _apply_properties(c, situation)
        except ActlabError:
            c.reasons.append("not in the catalog (a formula): no property rules")
    ranked = sorted(pool.values(), key=lambda c: (-c.score, c.relative_cost or 1.0, c.activation))
    shown = ranked[:SHOWN] if len(ranked) > SHOWN and not sweeps else ranked
    inputs = {"task": task, "depth": depth, "normalization": normalization, "budget": budget,
              "from": [str(p) for p in run_dirs],
              "measurements": ("; ".join(sweeps) if sweeps else
                               "none: ranked from the property table and the literature only (no --from RUN_DIR)")}
    return {
        "recommendations": [{"activation": c.activation, "reasons": c.reasons or ["no rule applies"],
                             "evidence": c.evidence, "critical_init": critical_init_of(c.activation)}
                            for c in shown],
        "inputs": inputs,
        "not_recommended": [c.activation for c in ranked if c not in shown],
        "next": _next_step(shown, situation, measured=bool(sweeps)),
    }


def critical_init_of(name: str) -> dict[str, float] | None:
    """The edge-of-chaos init of ``--init critical`` for ``name`` (σ_w², σ_b²), None where it has none."""
    from actlab.analysis.signal_critical import critical_init
    from actlab.errors import ActlabError

    try:
        found = critical_init(name)
    except ActlabError:
        return None
    return None if found is None else {"weight_variance": found[0], "bias_variance": found[1]}


def _next_step(shown: Sequence[Candidate], s: Situation, *, measured: bool) -> str:
    top = [c.activation for c in shown[:3]]
    dataset = "moons" if s.task == "classification" else "multi_gaussian"
    if not measured:
        return (f"measure them: run `actlab compare --dataset {dataset} --acts {','.join(top)} --depth {s.depth} "
                "--seeds 5`, then `actlab recommend --from RUN_DIR`.")
    if len(shown) >= 2 and abs(shown[0].score - shown[1].score) < 1.5:
        return (f"run `actlab compare --acts {shown[0].activation},{shown[1].activation} --depth {s.depth} "
                "--seeds 5` to separate these two.")
    return f"{shown[0].activation} leads clearly; confirm on your own data with `actlab compare --acts {','.join(top)}`."
