"""The report: statistics, self-contained HTML, Markdown with figures — from synthetic stores."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import stats

from actlab.report import holm, summarize, t_interval, write_report
from actlab.store import Store


def _make(path, acts=("relu", "tanh", "sigmoid"), seeds=3, lrs=(None,), diverge=(), quality=None, dataset="moons"):
    """A synthetic sweep: accuracy grows with the activation's quality; (act, seed, lr) in ``diverge`` blow up."""
    quality = quality or {a: 0.95 - 0.05 * i for i, a in enumerate(acts)}
    config = {"dataset": dataset, "model": "mlp", "depth": 2, "width": 8, "acts": list(acts), "seeds": seeds,
              "epochs": 4, "lr": None, "lr_grid": [lr for lr in lrs] if lrs != (None,) else None,
              "task": "classification", "lr_resolved": 1e-3}
    rng = np.random.default_rng(0)
    with Store(path) as st:
        st.init_sweep(config, "fp", command="actlab compare --dataset moons", reproduce="actlab compare --dataset moons")
        grid = [(a, s, lr) for a in acts for lr in lrs for s in range(seeds)]
        rows = [{"run_id": f"{a}/seed={s}/lr={lr}", "activation": a, "label": a, "seed": s, "lr": lr or 1e-3}
                for a, s, lr in grid]
        st.add_runs(rows)
        for row, (a, s, lr) in zip(rows, grid):
            if (a, s, lr) in diverge:
                st.record_epoch(row["run_id"], 1, 8, 3.0, math.inf, 0.1, 0.1)
                st.record_diverged(row["run_id"], 2, 11, "loss became nan")
                continue
            top = quality[a] - (0.1 if lr == 1e-2 else 0.0) + rng.normal(0, 0.005)
            for epoch in range(1, 5):
                acc = top * (1 - 0.5 ** epoch)
                st.record_epoch(row["run_id"], epoch, epoch * 8, 1 - acc, 1.1 - acc, acc, 0.05)
            st.record_end(row["run_id"], best_epoch=4, test_loss=1.1 - top, test_accuracy=top, val_loss=1.1 - acc,
                          val_accuracy=acc, seconds_per_epoch=0.05)
        st.add_wall_time(12.0)
    return path


def test_t_interval_matches_scipy():
    values = [0.91, 0.93, 0.92, 0.95]
    low, high = t_interval(values)
    expected = stats.t.interval(0.95, 3, loc=np.mean(values), scale=stats.sem(values))
    assert (low, high) == pytest.approx(expected)
    assert t_interval([0.9]) is None


def test_holm_adjustment():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5]
    assert holm([]) == []


def test_ranking_and_paired_test(tmp_path):
    data = summarize(_make(tmp_path / "r"))
    assert [s.label for s in data.summaries] == ["relu", "tanh", "sigmoid"]
    best, second = data.summaries[0], data.summaries[1]
    seeds = sorted(best.metric_values)
    p = stats.ttest_rel([best.metric_values[k] for k in seeds], [second.metric_values[k] for k in seeds]).pvalue
    assert second.p_value == pytest.approx(p)
    assert second.p_adjusted >= second.p_value
    assert best.test_note == "best"


def test_report_is_self_contained_and_names_every_activation(tmp_path):
    run = _make(tmp_path / "r", diverge={("tanh", 1, None)})
    paths = write_report(run)
    text = paths["html"].read_text()
    assert "<img" in text and "data:image/png;base64," in text
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", text)
    assert "<link" not in text and "<script" not in text
    for act in ("relu", "tanh", "sigmoid"):
        assert act in text
    assert "paired t-test" in text and "Holm" in text
    assert "Diverged runs" in text and "loss became nan" in text
    md = paths["markdown"].read_text()
    for name in re.findall(r"\(figures/([\w.]+)\)", md):
        assert (run / "figures" / name).stat().st_size > 1000
    assert "figures/curves.png" in md and "figures/ranking.png" in md
    data = summarize(run)
    tanh = next(s for s in data.summaries if s.label == "tanh")
    assert len(tanh.diverged) == 1 and len(tanh.metric_values) == 2  # counted, not averaged


def test_single_seed_says_no_test(tmp_path):
    paths = write_report(_make(tmp_path / "r", seeds=1))
    assert "not enough seeds for a test" in paths["html"].read_text()


def test_lr_grid_picks_best_validation_rate(tmp_path):
    run = _make(tmp_path / "r", lrs=(1e-2, 1e-3), diverge={("relu", 0, 1e-3)})
    data = summarize(run)
    chosen = {s.label: s.lr for s in data.summaries}
    assert chosen["tanh"] == 1e-3 and chosen["sigmoid"] == 1e-3
    assert chosen["relu"] == 1e-2  # the 1e-3 grid point lost a seed to divergence
    html = write_report(run)["html"].read_text()
    assert "learning rate with the best mean validation accuracy" in html
    assert (run / "figures" / "lr_grid.png").is_file()


def test_everything_diverged_still_renders(tmp_path):
    run = _make(tmp_path / "r", acts=("relu",), seeds=2, diverge={("relu", 0, None), ("relu", 1, None)})
    text = write_report(run)["html"].read_text()
    assert "Every activation failed to learn" in text and "relu" in text  # not "no run has finished yet"
    assert "all 2 seeds failed to learn (diverged)" in text


def test_t_functions_equal_scipy_stats():
    """The report's t quantile, noncentral t CDF and paired t-test (scipy.special, a fraction of scipy.stats'
    import time) give scipy.stats' values."""
    import math

    import numpy as np
    from scipy import stats as reference

    from actlab.report.stats import nct_cdf, paired_t_pvalue, t_ppf

    for df in (1, 2, 4, 9, 29):
        for q in (0.025, 0.5, 0.9, 0.975):
            assert t_ppf(q, df) == pytest.approx(float(reference.t.ppf(q, df)), rel=1e-10, abs=1e-12)
        for nc in (0.0, 0.7, 3.0):
            for x in (-2.5, 0.0, 1.3, 4.0):
                assert nct_cdf(x, df, nc) == pytest.approx(float(reference.nct.cdf(x, df, nc)), rel=1e-8, abs=1e-12)
    rng = np.random.default_rng(0)
    for n in (2, 3, 5, 10):
        a, b = rng.normal(size=n), rng.normal(size=n) + 0.3
        assert paired_t_pvalue(a, b) == pytest.approx(float(reference.ttest_rel(a, b).pvalue), rel=1e-10)
    assert paired_t_pvalue([1.0, 2.0], [1.0, 2.0]) != paired_t_pvalue([1.0, 2.0], [1.0, 2.0])  # nan, as scipy
    assert math.isnan(float(reference.ttest_rel([1.0, 2.0], [1.0, 2.0]).pvalue))
    assert paired_t_pvalue([2.0, 3.0], [1.0, 2.0]) == 0.0 == float(reference.ttest_rel([2.0, 3.0], [1.0, 2.0]).pvalue)
