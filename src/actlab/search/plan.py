"""The race's plan: the budget (wall clock or trained steps) → how many candidates race, and each rung's size.

Successive halving (Jamieson & Talwalkar 2016; Li et al. 2017): rung ``r`` trains ``n_r`` candidates for
``s0 · 2^r`` steps with ``r + 1`` seeds, and the best ``ceil(n_r / eta)`` by validation score go on, until
``top_k`` are left; they and the baselines then train ``final_seeds`` seeds at the last rung's steps × 2.
The cost of a plan is counted in candidate-steps (one optimiser step of one run).  A wall-clock budget is
turned into candidate-steps with the throughput measured on this machine before the race (recorded in
the plan, so a resumed search keeps its plan); a budget in steps gives the same plan everywhere.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

from actlab.errors import ActlabError

__all__ = ["Budget", "Plan", "parse_budget", "make_plan", "ladder_floor", "MIN_STEPS"]

MIN_STEPS = 100  # the first rung's fewest steps per run: below it the ranking is noise
STEP_QUANTUM = 50  # s0 is rounded down to a multiple of this, and N down to the ladder 10, 15, 20, 30, 40,
# 60, 80, … ({1, 1.5} × 10 · 2^k): a measured speed that drifts by less than a third gives the same plan


def ladder_floor(n: int) -> int:
    """The largest of 10, 15, 20, 30, 40, 60, 80, 120, … not above ``n`` (``n`` itself below 10)."""
    if n < 10:
        return n
    best, base = 10, 10
    while base <= n:
        best = max(best, base if int(base * 1.5) > n else int(base * 1.5))
        base *= 2
    return best


@dataclass(frozen=True)
class Budget:
    text: str
    seconds: float | None  # wall clock
    steps: int | None  # candidate-steps


def parse_budget(text: str) -> Budget:
    """``"20m"``, ``"90s"``, ``"1.5h"`` (wall clock) or ``"200000steps"`` / ``"200000"`` (candidate-steps)."""
    raw = str(text).strip().lower().replace(" ", "")
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m|min|h)", raw)
    if match:
        value = float(match.group(1)) * {"s": 1, "m": 60, "min": 60, "h": 3600}[match.group(2)]
        if not value >= 10:
            raise ActlabError(f"--budget {text!r} is under 10 seconds: too short to train anything")
        return Budget(text, value, None)
    match = re.fullmatch(r"(\d+)(steps?)?", raw)
    if match:
        steps = int(match.group(1))
        if steps < 1:
            raise ActlabError(f"--budget {text!r}: the number of steps must be at least 1")
        return Budget(text, None, steps)
    raise ActlabError(f"--budget {text!r} is neither a duration (20m, 90s, 1h) nor a number of steps "
                      "(200000steps)")


@dataclass(frozen=True)
class Plan:
    raced: int  # candidates entering rung 0
    rungs: tuple[tuple[int, int, int], ...]  # (candidates, steps, seeds) per rung
    final: tuple[int, int, int]  # (entrants incl. baselines, steps, seeds)
    cost: int  # candidate-steps
    budget_steps: int
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Plan:
        return cls(data["raced"], tuple(tuple(r) for r in data["rungs"]), tuple(data["final"]), data["cost"],
                   data["budget_steps"], data.get("note", ""))


def _rungs(n: int, s0: int, eta: int, top_k: int) -> list[tuple[int, int, int]]:
    rungs = []
    r = 0
    while n > top_k:
        rungs.append((n, s0 * 2 ** r, r + 1))
        n = max(top_k, math.ceil(n / eta))
        r += 1
    return rungs


def _cost(n: int, s0: int, eta: int, top_k: int, baselines: int, final_seeds: int,
          per_candidate: int = 0) -> tuple[int, list, tuple]:
    rungs = _rungs(n, s0, eta, top_k)
    final_steps = s0 * 2 ** len(rungs)
    final = (min(n, top_k) + baselines, final_steps, final_seeds)
    setup = (n + baselines) * per_candidate  # building each candidate's spec, in candidate-steps of time
    return sum(a * b * c for a, b, c in rungs) + final[0] * final[1] * final[2] + setup, rungs, final


def make_plan(survivors: int, budget_steps: int, *, eta: int = 3, top_k: int = 3, baselines: int = 3,
              final_seeds: int = 5, min_steps: int = MIN_STEPS, per_candidate: int = 0) -> Plan:
    """The plan that fits ``budget_steps`` (``per_candidate``: the time to build one candidate's spec, in
    candidate-steps; 0 for a step budget): as many candidates as it allows at ``min_steps``; when every survivor
    fits, longer rungs instead.  With too small a budget, ``top_k`` candidates at ``min_steps`` (noted)."""
    if survivors < 1:
        raise ActlabError("no candidate passed the screen: nothing to race (loosen it with --screen, or widen the "
                          "space with --unary/--binary)")
    top_k = min(top_k, survivors)

    def fits(n: int, s0: int) -> bool:
        return _cost(n, s0, eta, top_k, baselines, final_seeds, per_candidate)[0] <= budget_steps

    n = survivors
    if not fits(n, min_steps):
        low, high = top_k, survivors  # the largest n that fits
        while low < high:
            mid = (low + high + 1) // 2
            low, high = (mid, high) if fits(mid, min_steps) else (low, mid - 1)
        n = max(top_k, ladder_floor(low))
    s0 = min_steps
    if n == survivors:
        while fits(n, s0 + STEP_QUANTUM) and s0 < 64 * min_steps:
            s0 += STEP_QUANTUM
    cost, rungs, final = _cost(n, s0, eta, top_k, baselines, final_seeds, per_candidate)
    note = "" if cost <= budget_steps else (f"the budget ({budget_steps} candidate-steps) is below the smallest "
                                            f"race ({cost}); racing {n} candidates anyway")
    return Plan(n, tuple(rungs), final, cost, budget_steps, note)
