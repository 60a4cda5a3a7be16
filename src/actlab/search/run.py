"""``actlab search``: generate formulas, screen them, race the survivors, compare the finalists with baselines.

Every stage writes the store (``OUT/results.sqlite``, :mod:`actlab.store.search`) before the next reads it,
so the same call again resumes where the last one stopped: candidates are generated once, verdicts are
kept, the plan is fixed when it is first made, rungs go on chunk by chunk.  The report
(``OUT/report.html``, :mod:`actlab.search.report`) reads the store only.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from actlab.errors import ActlabError
from actlab.search import screen as screening
from actlab.search.plan import MIN_STEPS, make_plan, parse_budget
from actlab.search.race import CHUNK, Entrant, score, train_chunk, train_config
from actlab.search.space import BASELINES, BETA, BINARY, SPACES, UNARY, generate, parse_set

__all__ = ["search", "TASKS"]

TASKS = ("mnist1d", "digits")
CALIBRATION_ROUNDS = 3  # timings of each calibration grid; the fastest counts
IDENTITY = ("space", "depth", "unary", "binary", "task", "seed", "rules", "normalise", "top_k", "eta",
            "final_seeds", "baselines", "width", "net_depth", "min_steps", "budget", "extra")
Progress = Callable[[str], None]


def _check_store(tables: Any, config: Mapping[str, Any]) -> dict[str, Any] | None:
    stored = tables.config()
    if stored is None:
        return None
    changed = [key for key in IDENTITY if stored.get(key) != config.get(key)]
    if changed:
        key = changed[0]
        raise ActlabError(f"{tables.store.run_dir} holds a search with {key} = {stored.get(key)!r}, not "
                          f"{config.get(key)!r}; use the same options to resume it, or another --out")
    return stored


def _screen(tables: Any, distinct: Sequence[Any], rules: Sequence[str], normalise: bool, progress: Progress) -> list[
        tuple[int, str, dict[str, float]]]:
    """Verdicts for every distinct candidate that has none; the survivors as (id, trained formula, params)."""
    done = tables.verdicts()
    trained = {c["id"]: c["trained"] for c in tables.candidates()}
    context: dict[str, Any] = {}
    early = [r for r in rules if r not in ("bounded_gain", "distinct")]
    late = [r for r in rules if r in ("bounded_gain", "distinct")]
    survivors, batch, started = [], [], time.monotonic()
    for number, candidate in enumerate(distinct):
        verdicts = done.get(candidate.index)
        text = trained.get(candidate.index) or candidate.formula
        if verdicts and len(verdicts) == len(rules) and all(v["passed"] for v in verdicts.values()):
            if "distinct" in rules:  # rebuild the fingerprints of the survivors so far
                screening.RULES["distinct"](screening.probe(text, candidate.params), context)
            survivors.append((candidate.index, text, candidate.params))
            continue
        if verdicts:
            continue  # failed earlier
        found = screening.run_screen(candidate.formula, candidate.params, early, context)
        if all(v.passed for v in found.values()) and normalise:
            text = screening.normalised(candidate.formula, candidate.params) or ""
            if not text:
                found["normalise"] = screening.Verdict(False, None, "E f or Var f is not finite, or Var f = 0")
            else:
                tables.set_trained(candidate.index, text)
        if all(v.passed for v in found.values()) and late:
            found.update(screening.run_screen(text, candidate.params, late, context))
        batch.extend((candidate.index, rule, v.passed, v.value, v.detail) for rule, v in found.items())
        if all(v.passed for v in found.values()):
            survivors.append((candidate.index, text, candidate.params))
        if len(batch) >= 500 or number == len(distinct) - 1:
            tables.add_verdicts(batch)
            batch = []
            progress(f"screen: {number + 1}/{len(distinct)} checked, {len(survivors)} passed "
                     f"({time.monotonic() - started:.0f} s)")
    if batch:
        tables.add_verdicts(batch)
    return survivors


def _race_order(survivors: Sequence[tuple[int, str, dict]], origins: Mapping[int, str], seed: int) -> list:
    """Catalog seeds and the user's formulas first, then the generated ones in an order drawn with ``seed``."""
    first = [s for s in survivors if origins[s[0]] != "generated"]
    rest = [s for s in survivors if origins[s[0]] == "generated"]
    random.Random(seed).shuffle(rest)
    return first + rest


def _calibrate(dataset: Any, entrants: Sequence[Entrant], options: Mapping[str, Any]) -> tuple[float, float]:
    """(seconds per candidate to build its spec, seconds per candidate-step) measured on this machine: a grid of
    up to :data:`CHUNK` candidates trained for 20 and for 60 steps; the difference is the marginal cost of a step
    (the fixed costs of a grid, its data and its evaluations, cancel).  After a warm-up grid, each is timed
    :data:`CALIBRATION_ROUNDS` times, interleaved, and the fastest kept: a neighbour's burst only ever slows a
    round, so the minimum is the stable figure, and two runs of the same search plan the same race."""
    from actlab.models import resolve_activation

    sample = list(entrants[:CHUNK])
    started = time.monotonic()
    for entrant in sample:
        resolve_activation(entrant.formula, dict(entrant.params), "mlp")  # cached: the race reuses them
    build = (time.monotonic() - started) / max(1, len(sample))
    configs = {steps: train_config(steps, depth=options["net_depth"], width=options["width"]) for steps in (5, 20, 60)}
    train_chunk(dataset, configs[5], -1, sample, [0])  # warm-up: first-call costs stay out of the timings
    seconds: dict[int, list[float]] = {20: [], 60: []}
    for _ in range(CALIBRATION_ROUNDS):
        for steps in (20, 60):
            started = time.monotonic()
            train_chunk(dataset, configs[steps], -1, sample, [0])
            seconds[steps].append(time.monotonic() - started)
    short, long = min(seconds[20]), min(seconds[60])
    per_step = max(long - short, 0.25 * long) / (len(sample) * 40)
    return build, per_step


def _budget_steps(budget: Any, per_step: float) -> int:
    """The race's candidate-steps: a step budget as given; a wall-clock one (the race's time: generating and
    screening come before it and are not counted) at the measured speed, less a 15 % margin for evaluation."""
    if budget.steps is not None:
        return budget.steps
    return max(0, int(0.85 * budget.seconds / per_step))


def search(*, out: str | Path, task: str | Any = "mnist1d", space: str = "ramachandran", depth: int = 1,
           unary: str | None = None, binary: str | None = None, extra: Sequence[str] = (), budget: str = "20m",
           seed: int = 0, screen: str | None = None, normalise: bool = False, top_k: int = 3, eta: int = 3,
           final_seeds: int = 5, baselines: Sequence[str] = BASELINES, width: int = 64, net_depth: int = 2,
           min_steps: int = MIN_STEPS, engine: str = "local", progress: Progress | None = None,
           should_stop: Callable[[], bool] | None = None, command: str = "", report: bool = True) -> Any:
    """Run (or resume) a search into ``out``; returns its :class:`~actlab.search.results.Summary`.

    ``task``: a data set name (:data:`TASKS`, or any actlab data set) or a :class:`~actlab.data.Dataset`.
    """
    from actlab.search.results import summarize
    from actlab.store import Store
    from actlab.store.search import SearchTables

    say = progress or (lambda line: None)
    stop = should_stop or (lambda: False)
    if space not in SPACES:
        raise ActlabError(f"--space must be {' or '.join(SPACES)}, got {space!r}")
    if depth not in (1, 2):
        raise ActlabError(f"--depth must be 1 or 2, got {depth!r}")
    if engine not in ("local", "ray"):
        raise ActlabError(f"--engine must be local or ray, got {engine!r}")
    for name, value, low in (("--top-k", top_k, 1), ("--eta", eta, 2), ("--final-seeds", final_seeds, 2),
                             ("--seed", seed, 0), ("--min-steps", min_steps, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ActlabError(f"{name} must be a whole number of at least {low}, got {value!r}")
    parsed_budget = parse_budget(budget)
    unary_set, binary_set = parse_set(unary, UNARY, "--unary"), parse_set(binary, BINARY, "--binary")
    rules = screening.rule_names(screen)
    dataset, task_name, dataset_options = _dataset(task)
    if engine == "ray" and not dataset_options:
        raise ActlabError("--engine ray needs a named data set (its workers load it themselves)")
    for text in extra:
        from actlab.formula import parse

        parse(text)
    config = {"space": space, "depth": depth, "unary": sorted(unary_set), "binary": sorted(binary_set),
              "task": task_name, "seed": seed, "rules": rules, "normalise": normalise, "top_k": top_k, "eta": eta,
              "final_seeds": final_seeds, "baselines": list(baselines), "width": width, "net_depth": net_depth,
              "min_steps": min_steps, "budget": parsed_budget.text, "extra": list(extra), "beta": BETA,
              "classification": dataset.task == "classification", "engine": engine}
    with Store(out) as store:
        tables = SearchTables(store)
        stored = _check_store(tables, config)
        if stored is None:
            tables.begin(config, command)
        config = {**config, **({"plan": stored["plan"]} if stored and "plan" in stored else {})}
        generated = _candidates(tables, depth, unary_set, binary_set, extra, seed, say)
        origins = {c.index: c.origin for c in generated.candidates}
        survivors = _screen(tables, generated.distinct, rules, normalise, say)
        if stop():
            return None
        order = _race_order(survivors, origins, seed)
        entrants = [Entrant(cid, text, tuple(sorted(params.items()))) for cid, text, params in order]
        if "plan" not in config:
            build, per_step = (0.0, 0.0) if parsed_budget.steps is not None else _calibrate(dataset, entrants, config)
            plan = make_plan(len(entrants), _budget_steps(parsed_budget, per_step), eta=eta, top_k=top_k,
                             baselines=len(baselines), final_seeds=final_seeds, min_steps=min_steps,
                             per_candidate=0 if per_step == 0 else math.ceil(build / per_step))
            config["plan"] = {**plan.to_dict(), "seconds_per_candidate_step": per_step, "build_seconds": build}
            tables.begin(config, command)
            say(f"plan: {plan.raced} of {len(entrants)} survivors race; rungs (candidates, steps, seeds) "
                f"{list(plan.rungs)}; final {plan.final}; {plan.cost} candidate-steps" + (f" ({plan.note})"
                                                                                        if plan.note else ""))
        interrupted = _race(tables, dataset, config, entrants, baselines, dataset_options, say, stop)
    if interrupted:
        say("interrupted: run the same command again to resume")
        return None
    _details(out, config)
    if report:
        from actlab.search.report import write_report

        write_report(out)
    return summarize(out)


def _dataset(task: Any) -> tuple[Any, str, dict[str, Any]]:
    if not isinstance(task, str):
        return task, getattr(task, "name", "custom"), {}
    from actlab import data

    if task.lower() not in data.names():
        data.info(task)  # UnknownNameError with suggestions
    return data.load(task), task.lower(), {"dataset": task.lower()}


def _candidates(tables: Any, depth: int, unary: Mapping[str, str], binary: Mapping[str, str], extra: Sequence[str],
                seed: int, say: Progress) -> Any:
    from actlab.search.space import Candidate, Generated

    stored = [c for c in tables.candidates() if c["origin"] != "baseline"]
    if stored:
        return Generated(tuple(Candidate(c["id"], c["formula"], c["origin"], c["canonical"], c["duplicate_of"])
                               for c in stored))
    started = time.monotonic()
    generated = generate(depth=depth, unary=unary, binary=binary, extra=extra, seed=seed)
    tables.add_candidates((c.index, c.formula, c.origin, c.key, c.duplicate_of) for c in generated.candidates)
    say(f"space: {len(generated.candidates)} generated, {len(generated.distinct)} distinct after SymPy's "
        f"canonical form ({time.monotonic() - started:.0f} s)")
    return generated


def _race(tables: Any, dataset: Any, config: Mapping[str, Any], entrants: Sequence[Entrant],
          baselines: Sequence[str], dataset_options: Mapping[str, Any], say: Progress, stop: Callable[[], bool]) -> bool:
    """Every rung, then the final round; True when ``stop`` interrupted it."""
    plan = config["plan"]
    classification = config["classification"]
    by_id = {e.candidate: e for e in entrants}
    base = 1_000_000  # baselines' candidate ids: above every generated one
    tables.add_candidates((base + i, name, "baseline", name, None) for i, name in enumerate(baselines))
    for i, name in enumerate(baselines):
        by_id[base + i] = Entrant(base + i, name)
    current = [e.candidate for e in entrants[:plan["raced"]]]
    stages = [(n, steps, seeds) for n, steps, seeds in plan["rungs"]] + [tuple(plan["final"])]
    for rung, (_n, steps, seeds) in enumerate(stages):
        final = rung == len(stages) - 1
        if final:
            current = current[:config["top_k"]] + [base + i for i in range(len(baselines))]
        known = {r["rung"]: r for r in tables.rungs()}
        if rung in known:
            current = known[rung]["entered"]
        tables.open_rung(rung, steps, seeds, current)
        seed_list = [config["seed"] + s for s in range(seeds)]
        done = {(r["candidate"], r["seed"]) for r in tables.runs(rung)}
        todo = [c for c in current if any((c, s) not in done for s in seed_list)]
        train = train_config(steps, depth=config["net_depth"], width=config["width"])
        started = time.monotonic()
        label = "final" if final else f"rung {rung + 1}/{len(stages) - 1}"
        say(f"{label}: {len(current)} candidates × {seeds} seeds × {steps} steps ({len(todo)} to train)")
        for start in range(0, len(todo), CHUNK):
            chunk = [by_id[c] for c in todo[start:start + CHUNK]]
            rows = train_chunk(dataset, train, rung, chunk, seed_list, engine=config["engine"],
                               dataset_options=dataset_options, should_stop=stop)
            if rows is None:
                return True
            tables.add_runs(rows)
            say(f"{label}: {min(start + CHUNK, len(todo))}/{len(todo)} trained")
        per: dict[int, list[dict[str, Any]]] = {}
        for row in tables.runs(rung):
            per.setdefault(row["candidate"], []).append(row)
        ranked = sorted(current, key=lambda c: (-score(per.get(c, []), classification), c))
        keep = ranked if final else ranked[:max(config["top_k"], math.ceil(len(ranked) / config["eta"]))]
        tables.close_rung(rung, keep, time.monotonic() - started)
        leaders = ", ".join(f"{by_id[c].formula} ({score(per.get(c, []), classification):.4g})" for c in ranked[:3])
        say(f"{label}: {len(keep)} go on; leaders {leaders}")
        current = keep
    return False


def _details(out: str | Path, config: Mapping[str, Any]) -> None:
    """f, f' on [-5, 5] and the property row of every finalist, measured once and stored for the report."""
    import numpy as np

    from actlab.store import Store
    from actlab.store.search import SearchTables

    with Store(out) as store:
        tables = SearchTables(store)
        rungs = tables.rungs()
        if not rungs:
            return
        final = set(rungs[-1]["entered"])
        for c in tables.candidates():
            if c["id"] not in final or c["details"]:
                continue
            text = c["trained"] or c["formula"]
            params = {"beta": config.get("beta", 1.0)} if "beta" in text else {}
            details: dict[str, Any] = {"formula": text, "params": params}
            if c["origin"] != "baseline":
                x = np.linspace(-5, 5, 201)
                p = screening.probe(text, params)
                details["curve"] = {"x": x.tolist(), "f": np.nan_to_num(p.f(x)).tolist(),
                                    "df": np.nan_to_num(p.df(x)).tolist()}
                details["properties"] = _properties(text, params)
            tables.set_details(c["id"], details)


def _properties(text: str, params: Mapping[str, float]) -> dict[str, Any]:
    import actlab

    props = actlab.properties(actlab.get(text, **params)).to_dict()
    keep = ("range_min", "range_max", "monotonic", "smooth", "zero_at_origin", "derivative_min", "derivative_max",
            "dead_region", "sparsity", "gaussian_mean", "gaussian_variance", "gaussian_mean_derivative")
    return {k: props[k] for k in keep if k in props and (props[k] is None or isinstance(props[k], (bool, int, float, str)))
            and not (isinstance(props[k], float) and not math.isfinite(props[k]))}
