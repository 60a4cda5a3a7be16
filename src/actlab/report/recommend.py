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

Scores add up. The numbers are a documented heuristic for ordering, not a probability:
the reasons are the answer.  The property rules describe risks and benefits that the
cited papers show grow with depth, so their weight grows with depth (full from
:data:`DEEP` hidden layers).  Without measurements, candidates whose scores lie within
:data:`TIE_SCORE` of the top are *not separated by the evidence* (actlab's own demo,
MNIST at depth 2, measured the nine defaults statistically indistinguishable): they are
ordered by the report's tie-break keys that need no measurement — fewest parameters,
then piecewise linear (:func:`piecewise_linear`: comparisons and products only, the
cheapest to compute), then the score, then the name.  With measurements the ranking is
by score, then cost, then name.
"""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEEP = 4  # hidden layers from which depth-related rules apply in full
CANDIDATES = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish")
SHOWN = 5
TIE_SCORE = 0.75  # closer to the top than one rule's full weight (the largest, smooth_non_monotonic's): a tie


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
    reference: tuple[str, str] | None  # (catalog record, a substring of one of its references); None: the
    # activation's own references (the paper that introduced it)
    applies: Callable[[Mapping[str, Any], Situation], bool]
    score: Callable[[Mapping[str, Any], Situation], float]
    reason: Callable[[Mapping[str, Any], Situation], str]


def _depth_weight(s: Situation) -> float:
    return (s.depth / DEEP) * (0.4 if s.normalized else 1.0)


def _grow(s: Situation) -> float:
    """The weight of a benefit that shows in deep nets: depth / DEEP, at most 1."""
    return min(1.0, s.depth / DEEP)


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
         lambda p, s: 0.3 * _grow(s),
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
         lambda p, s: 0.5 * _grow(s),
         lambda p, s: f"negative outputs down to {p['range_min']:.3g} push mean activations toward zero, no dead units"),
    Rule("smooth_non_monotonic", "smooth and not monotonic", None,
         lambda p, s: bool(p.get("smooth")) and p.get("monotonic") is False,
         lambda p, s: 0.75 * _grow(s),
         lambda p, s: "smooth and non-monotonic (a small negative bump): reported by the paper that introduced it to "
                      "train deep nets as well as or better than ReLU"),
)


@dataclass
class Candidate:
    activation: str
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    relative_cost: float | None = None
    measured: bool = False
    params: int = 99  # parameters of its record (99: a formula the catalog does not hold)
    piecewise_linear: bool = False

    def add(self, delta: float, reason: str, evidence: dict[str, Any]) -> None:
        self.score += delta
        self.reasons.append(reason)
        self.evidence.append({**evidence, "score": round(delta, 3)})


def _reference(reference: tuple[str, str] | None, activation: str) -> str:
    import actlab

    if reference is None:
        return " / ".join(actlab.get(activation).references) or "no reference in the catalog"
    record, needle = reference
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


def piecewise_linear(name: str) -> bool:
    """Whether the activation's derivative is constant between its kinks on [−8, 8] (float64, from the spec)."""
    import torch

    import actlab

    spec = actlab.get(name)
    if spec.kind != "elementwise":
        return False
    kinks = sorted(spec.kink_points())
    edges = [-8.0, *[k for k in kinks if -8 < k < 8], 8.0]
    params = spec.resolve()
    for low, high in zip(edges, edges[1:]):
        x = torch.linspace(low + 1e-6, high - 1e-6, 257, dtype=torch.float64)
        slope = spec.derivative(x, **params)
        if not torch.all(torch.isfinite(slope)) or float(slope.max() - slope.min()) > 1e-9:
            return False
    return True


def _apply_properties(c: Candidate, s: Situation) -> None:
    import actlab
    from actlab.analysis import properties

    table = properties(c.activation, measure_cost=False).to_dict()
    c.params = len(actlab.get(c.activation).params)
    c.piecewise_linear = piecewise_linear(c.activation)
    for rule in RULES:
        if not rule.applies(table, s):
            continue
        delta = rule.score(table, s)
        keys = [k for k in ("derivative_max", "derivative_min", "saturation_high", "zero_at_origin", "range_min", "range_max",
                            "dead_region", "self_normalizing", "smooth", "monotonic") if k in rule.trigger]
        c.add(delta, rule.reason(table, s), {
            "kind": "property", "rule": rule.key, "trigger": rule.trigger,
            "values": {k: table.get(k) for k in keys},
            "reference": _reference(rule.reference, c.activation)})
    if s.budget == "fast":
        c.relative_cost = _relative_cost(c.activation)
        if c.relative_cost is not None and c.relative_cost > 1.3:
            c.add(-min(2.0, 0.5 * (c.relative_cost - 1)), f"costs {c.relative_cost:g}× ReLU (measured) on a fast budget",
                  {"kind": "cost", "relative_cost": c.relative_cost, "trigger": "--budget fast"})


def _apply_measurements(candidates: dict[str, Candidate], run_dir: Path) -> tuple[str, dict[str, Any]]:
    """Add one sweep's decision; returns a one-line description of the sweep and what reproduces it (its
    ``reproduce`` command and, per activation, the paired seeds its difference from the best needs for 80 %
    power)."""
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
    source = {"reproduce": data.sweep.get("reproduce") or data.sweep.get("command") or "", "out": str(run_dir),
              "seeds": decision.max_seeds,
              "power": {s.activation: decision.effects[s.label].seeds_needed for s in data.summaries
                        if s.label in decision.effects and decision.effects[s.label].seeds_needed is not None}}
    return where, source


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
    sweeps: list[str] = []
    sources: list[dict[str, Any]] = []
    for run_dir in run_dirs:
        from actlab.store import is_store

        path = Path(run_dir)
        if not is_store(path):
            raise ActlabError(f"{path} holds no actlab results (results.sqlite not found)")
        where, source = _apply_measurements(pool, path)
        sweeps.append(where)
        sources.append(source)
    names = list(candidates or ([] if pool else CANDIDATES))
    for name in names:
        pool.setdefault(name, Candidate(name))
    for c in pool.values():
        try:
            _apply_properties(c, situation)
        except ActlabError:
            c.reasons.append("not in the catalog (a formula): no property rules")
    ranked = sorted(pool.values(), key=lambda c: (-c.score, c.relative_cost or 1.0, c.activation))
    tied: list[Candidate] = []
    if not sweeps and ranked:
        tied = [c for c in ranked if ranked[0].score - c.score < TIE_SCORE]
        tied.sort(key=lambda c: (c.params, not c.piecewise_linear, -c.score, c.activation))
        ranked = tied + [c for c in ranked if c not in tied]
    shown = ranked[:max(SHOWN, len(tied))] if not sweeps else ranked
    inputs = {"task": task, "depth": depth, "normalization": normalization, "budget": budget,
              "from": [str(p) for p in run_dirs],
              "measurements": ("; ".join(sweeps) if sweeps else
                               "none: ranked from documented evidence only — the property table and the papers the "
                               "catalog cites (no --from RUN_DIR)")}
    command = try_next(shown, situation, sources)
    method = METHOD_MEASURED if sweeps else METHOD_PRIOR.format(tie=TIE_SCORE, tied=len(tied))
    return {
        "recommendations": [{"activation": c.activation, "score": round(c.score, 3),
                             "reasons": c.reasons or ["no rule applies"], "evidence": c.evidence,
                             "critical_init": critical_init_of(c.activation),
                             **({"tied": c in tied} if not sweeps else {})} for c in shown],
        "inputs": inputs,
        "method": method,
        "not_recommended": [c.activation for c in ranked if c not in shown],
        "ranked_lower": [{"activation": c.activation, "score": round(c.score, 3),
                          "reasons": c.reasons or ["no rule applies"]} for c in ranked if c not in shown],
        "next": _next_step(command, shown, measured=bool(sweeps)),
        "try_next": command,
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


METHOD_PRIOR = ("Each property rule adds a documented score (weighted by depth: the cited effects grow with depth); "
                "the {tied} activations within {tie} of the top score are not separated by this evidence (actlab's "
                "demo measured the nine defaults statistically indistinguishable on MNIST at depth 2) and are listed "
                "by the report's tie-break keys that need no measurement: fewest parameters, then piecewise linear "
                "(cheapest), then score. Measure them to decide.")
METHOD_MEASURED = ("Measured decisions (recommended +3, indistinguishable +2, significantly worse −2 or less, failed "
                   "to learn −3) plus the property rules; ranked by score, then cost, then name.")


def try_next(shown: Sequence[Candidate], s: Situation, sources: Sequence[Mapping[str, Any]]) -> str:
    """A command that measures the leaders: the source sweep's own command (its --dataset and every other
    option) with --acts the top two or three and --seeds the power estimate's, into a new --out."""
    import shlex

    top = [c.activation for c in shown[:3]]
    if not sources or not sources[0].get("reproduce"):
        dataset = "moons" if s.task == "classification" else "multi_gaussian"
        return shlex.join(["actlab", "compare", "--dataset", dataset, "--acts", ",".join(top), "--depth",
                           str(s.depth), "--seeds", "5"])
    source = sources[0]
    pair = top[:2]
    needed = [source["power"][a] for a in pair if a in source.get("power", {})]
    seeds = max([int(source.get("seeds") or 3), *needed]) if needed else max(int(source.get("seeds") or 3), 5)
    words = shlex.split(source["reproduce"])
    changes = {"--acts": ",".join(pair), "--seeds": str(seeds), "--out": source["out"].rstrip("/") + "-next"}
    out: list[str] = []
    skip = False
    for i, word in enumerate(words):
        if skip:
            skip = False
            continue
        flag = word.split("=", 1)[0]
        if flag in changes:
            skip = "=" not in word and i + 1 < len(words)
            continue
        if word == "--resume":
            continue
        out.append(word)
    for flag, value in changes.items():
        out += [flag, value]
    return shlex.join(out)


def _next_step(command: str, shown: Sequence[Candidate], *, measured: bool) -> str:
    if not measured:
        return f"measure them: run `{command}`, then `actlab recommend --from RUN_DIR`."
    if len(shown) >= 2 and abs(shown[0].score - shown[1].score) < 1.5:
        return (f"run `{command}` to separate {shown[0].activation} and {shown[1].activation} (the sweep's own "
                "options; as many seeds as its power estimate asks).")
    return f"{shown[0].activation} leads clearly; confirm on your own data with `{command}`."
