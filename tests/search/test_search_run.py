"""The whole search on small problems: rediscovery of a planted family, resume after an interruption, the CLI."""
from __future__ import annotations

import json
import math

import pytest
import torch

from actlab.data import Dataset


def sine_task(n: int = 768, seed: int = 0) -> Dataset:
    """y = sin(3x) on x ∈ [-3, 3]: an activation that is itself periodic needs few units to draw it."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 1, generator=g) * 6 - 3).float()
    y = torch.sin(3 * x)
    a, b = n // 2, 3 * n // 4
    return Dataset("sine", x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:], 0, (1,), "regression")


SPACE = {"unary": "x,sin,tanh,sigmoid,square", "binary": "add,mul,max"}


def run(out, **options):
    from actlab.search import search

    settings = {"task": sine_task(), **SPACE, "budget": "40000steps", "width": 8, "net_depth": 1, "top_k": 2,
                "final_seeds": 2, "baselines": ["relu", "tanh"], "min_steps": 150, "report": False}
    settings.update(options)
    return search(out=out, **settings)


@pytest.mark.slow
def test_rediscovers_the_periodic_family(tmp_path) -> None:
    summary = run(tmp_path / "sine")
    assert summary.funnel["generated"] > summary.funnel["distinct"] >= summary.funnel["screened"] > 0
    leader = summary.leaders[0]
    assert "sin(" in leader.formula, [f.formula for f in summary.finalists]
    # and it beats both baselines on the held-out test loss
    baselines = {f.formula: f.mean for f in summary.finalists if f.origin == "baseline"}
    assert all(leader.mean < value for value in baselines.values())


@pytest.mark.slow
def test_resume_after_an_interruption_gives_the_same_search(tmp_path) -> None:
    from actlab.search.results import summarize
    from actlab.store import Store
    from actlab.store.search import SearchTables

    polls = {"n": 0}

    def stop_in_the_second_rung() -> bool:
        polls["n"] += 1
        return polls["n"] > 2500

    assert run(tmp_path / "a", should_stop=stop_in_the_second_rung) is None
    with Store(tmp_path / "a", readonly=True) as store:
        before = SearchTables(store).runs()
    assert before and max(r["rung"] for r in before) < 3  # it stopped before the final round
    resumed = run(tmp_path / "a")
    with Store(tmp_path / "a", readonly=True) as store:
        after = SearchTables(store).runs()
    kept = {(r["rung"], r["candidate"], r["seed"]): r for r in after}
    assert all(kept[(r["rung"], r["candidate"], r["seed"])] == r for r in before)  # nothing trained twice
    fresh = run(tmp_path / "b")
    assert resumed.funnel == fresh.funnel
    assert [f.formula for f in resumed.finalists] == [f.formula for f in fresh.finalists]
    for a, b in zip(resumed.finalists, fresh.finalists, strict=True):
        assert a.mean == pytest.approx(b.mean, rel=1e-4)
    assert summarize(tmp_path / "a").funnel == resumed.funnel


def test_another_search_in_the_same_directory_is_refused(tmp_path) -> None:
    from actlab.errors import ActlabError

    run(tmp_path / "c", budget="3000steps", final_seeds=2)
    with pytest.raises(ActlabError, match="holds a search with unary"):
        run(tmp_path / "c", budget="3000steps", unary="x,sin")


def test_cli_json_and_report(tmp_path, capsys) -> None:
    from actlab.cli import main

    code = main(["search", "--task", "digits", "--unary", "x,tanh,sin", "--binary", "add", "--budget", "4000steps",
                 "--out", str(tmp_path / "d"), "--final-seeds", "2", "--top-k", "1", "--baselines", "relu", "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert all(isinstance(data[k], int) for k in ("generated", "distinct", "screened", "raced"))
    assert data["leaders"] and all(0 <= item["test_accuracy"] <= 1 for item in data["leaders"])
    html = (tmp_path / "d" / "report.html").read_text()
    assert "The funnel" in html and "actlab define found_1" in html and "Final comparison" in html
    import re

    assert "gaussian mean" in html and not re.search(r"\d\.\d{7,}", html)  # properties as a reader writes them


@pytest.mark.parametrize("argv", [
    ["--budget", "soon"], ["--unary", "x,tnh"], ["--binary", "plus"], ["--task", "mnst1d"], ["--screen", "finit"],
    ["--space", "pangaea"], ["--depth", "3"], ["--baselines", "rleu"], ["--formula", "x +* 2"], ["--top-k", "0"],
])
def test_bad_input_exits_2(tmp_path, capsys, argv) -> None:
    from actlab.cli import main

    assert main(["search", "--out", str(tmp_path / "e"), *argv]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err
    assert not (tmp_path / "e").exists()  # refused before anything is written


def test_scores_rank_diverged_last() -> None:
    from actlab.search.race import score

    ok = {"status": "finished", "val_accuracy": 0.5, "val_loss": 1.0}
    assert score([ok, {**ok, "val_accuracy": 0.7}], True) == pytest.approx(0.6)
    assert score([ok, {"status": "diverged", "val_accuracy": None, "val_loss": None}], True) == -math.inf
    assert score([ok], False) == -1.0
