"""The space's canonical de-duplication and the plan's budget arithmetic."""
from __future__ import annotations

import pytest

from actlab.errors import ActlabError
from actlab.search import plan, space


def test_canonical_key_sees_what_sympy_sees() -> None:
    assert space.canonical_key("x*x") == space.canonical_key("x**2")
    assert space.canonical_key("x + x") == space.canonical_key("2*x")
    assert space.canonical_key("(x)*(sigmoid(x))") == space.canonical_key("sigmoid(x)*x")
    assert space.canonical_key("x") != space.canonical_key("-x")


def test_generate_counts_and_marks_repeats() -> None:
    unary = space.parse_set("x,neg,square", space.UNARY, "--unary")
    binary = space.parse_set("add,mul", space.BINARY, "--binary")
    generated = space.generate(unary=unary, binary=binary, seeds=["x*x"])
    assert len(generated.candidates) == 1 + 3 * 3 * 2
    # x*x is the seed; (x)*(x), (-x)*(-x) repeat it; x + -x and -x + x are both 0; ...
    keys = [c.key for c in generated.distinct]
    assert len(keys) == len(set(keys))
    by_text = {c.formula: c for c in generated.candidates}
    assert by_text["(x)*(x)"].duplicate_of == 0
    assert by_text["(-x)*(-x)"].duplicate_of == 0
    assert by_text["-x + x"].duplicate_of == by_text["x + -x"].index
    expected = {space.canonical_key(c.formula) for c in generated.candidates}
    assert len(generated.distinct) == len(expected)


def test_full_depth_one_space_size() -> None:
    assert len(space.UNARY) == 25 and len(space.BINARY) == 10
    assert len(space._units(space.UNARY, space.BINARY)) == 25 * 25 * 10


def test_parse_set_suggests() -> None:
    with pytest.raises(ActlabError, match="did you mean tanh"):
        space.parse_set("x,tnh", space.UNARY, "--unary")


@pytest.mark.parametrize(("text", "seconds", "steps"), [("20m", 1200, None), ("90s", 90, None), ("1.5h", 5400, None),
                                                         ("5000steps", None, 5000), ("300", None, 300)])
def test_parse_budget(text: str, seconds: float | None, steps: int | None) -> None:
    budget = plan.parse_budget(text)
    assert (budget.seconds, budget.steps) == (seconds, steps)


@pytest.mark.parametrize("text", ["soon", "5s", "-3m", "0steps"])
def test_parse_budget_refuses(text: str) -> None:
    with pytest.raises(ActlabError, match="--budget"):
        plan.parse_budget(text)


def test_plan_fits_the_budget_and_halves() -> None:
    made = plan.make_plan(1000, 200_000, eta=3, top_k=3, baselines=3, final_seeds=5, min_steps=100)
    assert made.cost <= 200_000 and made.raced < 1000
    counts = [n for n, _, _ in made.rungs]
    assert counts[0] == made.raced and all(b == max(3, -(-a // 3)) for a, b in zip(counts, counts[1:], strict=False))
    assert [s for _, s, _ in made.rungs] == [100 * 2 ** r for r in range(len(made.rungs))]
    assert [k for _, _, k in made.rungs] == list(range(1, len(made.rungs) + 1))
    assert made.final == (6, 100 * 2 ** len(made.rungs), 5)
    # every survivor fits: the steps grow instead
    roomy = plan.make_plan(20, 10_000_000)
    assert roomy.raced == 20 and roomy.rungs[0][1] > 100 and roomy.cost <= 10_000_000


def test_a_measured_speed_that_drifts_a_little_gives_the_same_plan() -> None:
    # the raced count snaps down to 10, 15, 20, 30, 40, 60, …: every rung entrant count is on that ladder
    assert [plan.ladder_floor(n) for n in (7, 10, 14, 15, 29, 31, 59, 61, 119, 121, 250)] == \
        [7, 10, 10, 15, 20, 30, 40, 60, 80, 120, 240]
    base = plan.make_plan(2000, 400_000)
    drifted = [plan.make_plan(2000, int(400_000 * f)) for f in (0.97, 1.0, 1.04)]
    assert {p.raced for p in drifted} == {base.raced} and {p.rungs for p in drifted} == {base.rungs}
    # a budget twice as large races more candidates (the ladder does not freeze the plan)
    assert plan.make_plan(2000, 800_000).raced > base.raced


def test_calibration_keeps_the_fastest_of_its_rounds(monkeypatch) -> None:
    # a fake clock: a grid of n steps takes 1 + 0.01·n seconds, and a neighbour's burst slows some rounds
    from actlab.search import run
    from actlab.search.race import Entrant

    clock = {"now": 0.0, "calls": 0}
    bursts = iter([0.0, 5.0, 3.0, 0.0, 0.0, 9.0, 0.0])  # extra seconds per call: warm-up, then 20/60 interleaved

    def fake_chunk(dataset, config, rung, sample, seeds):
        clock["now"] += 1 + 0.01 * config.steps * len(sample) + next(bursts)
        clock["calls"] += 1

    monkeypatch.setattr(run, "train_chunk", fake_chunk)
    monkeypatch.setattr(run.time, "monotonic", lambda: clock["now"])
    entrants = [Entrant(i, "relu") for i in range(4)]
    _, per_step = run._calibrate(None, entrants, {"net_depth": 1, "width": 8})
    assert clock["calls"] == 1 + 2 * run.CALIBRATION_ROUNDS
    assert per_step == pytest.approx(0.01)  # (1 + 0.01·60·4) − (1 + 0.01·20·4), per candidate and step: no burst
