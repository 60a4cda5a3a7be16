"""The report only reads the store: cost and 2-D thumbnails are measured when the sweep runs, rendering one store
twice gives the same bytes, and the report package imports neither trainer."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from actlab.analysis.cost import time_modules
from actlab.cli import main
from actlab.report import summarize, write_report
from actlab.report.decision import decide
from actlab.store import Store
from actlab.store.measured import read_costs, read_thumbnails, write_costs
from actlab.sweep.measure import measure_store
from conftest import build_store, noisy

REPORT = Path(__file__).resolve().parents[2] / "src" / "actlab" / "report"
ENTRIES = [("relu", "relu", {}), ("tanh", "tanh", {})]


def _outputs(run: Path) -> dict[str, bytes]:
    files = {name: (run / name).read_bytes() for name in ("report.html", "report.md")}
    files.update({f"figures/{p.name}": p.read_bytes() for p in sorted((run / "figures").iterdir())})
    return files


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """A synthetic toy-set sweep whose measurements were taken as a sweep takes them."""
    run = build_store(tmp_path_factory.mktemp("pure") / "r", {"relu": noisy(0.95, seeds=3), "tanh": noisy(0.9, seeds=3)},
                      dataset="moons")
    with Store(run) as store:
        config = store.sweep()["config"]
        measure_store(store, config, ENTRIES)
    return run


def test_measured_rows_are_stored(measured):
    with Store(measured, readonly=True) as store:
        costs = read_costs(store)
        frame, thumbs = read_thumbnails(store)
    assert set(costs) == {"relu", "tanh"}
    for row in costs.values():
        assert (row.batch, row.width, row.layers) == (32, 8, 2)  # the sweep's batch × width, its hidden layers
        assert len(row.rounds) == 9 and row.median == pytest.approx(float(np.median(row.rounds)))
        assert row.best == min(row.rounds) and 0 <= row.spread <= max(row.rounds) - min(row.rounds)
    assert frame is not None and frame.dataset == "moons" and frame.grid == 120 and frame.recipe["hidden"] == 8
    assert frame.points.shape[1] == 3 and set(np.unique(frame.points[:, 2])) == {0.0, 1.0}
    for thumb in thumbs.values():
        assert thumb.probabilities.shape == (120, 120)
        assert 0.0 <= thumb.probabilities.min() < 0.5 < thumb.probabilities.max() <= 1.0  # a boundary inside
        assert thumb.test_accuracy >= 0.8


def test_report_twice_gives_identical_bytes(measured, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["report", str(measured), "--out", str(first)]) == 0
    assert main(["report", str(measured), "--out", str(second)]) == 0
    a, b = _outputs(first), _outputs(second)
    assert "figures/boundaries.png" in a and a == b
    html, md = a["report.html"].decode(), a["report.md"].decode()
    assert "trained when the sweep ran" in html and "| not measured |" not in md
    # the cost table shows the stored medians, scaled to an epoch (× hidden layers × steps of epoch 1)
    with Store(measured, readonly=True) as store:
        relu = read_costs(store)["relu"]
    assert f"{1000 * relu.median * 2 * 10:.1f} ms" in html


def test_an_old_store_without_measurements_still_renders(tmp_path, store):
    run = store(tmp_path / "old", {"relu": noisy(0.95, seeds=3), "tanh": noisy(0.9, seeds=3)}, dataset="moons")
    paths = write_report(run)
    html, md = paths["html"].read_text(), paths["markdown"].read_text()
    assert md.count("| not measured |") == 2 and html.count(">not measured<") == 2  # the cost table's cells
    assert not (run / "figures" / "boundaries.png").exists() and "Decision boundary per activation" not in html
    d = decide(summarize(run))
    assert d.cost == {"relu": None, "tanh": None} and d.decided_by != "lowest measured cost"


def test_within_noise_is_flagged_and_ties_the_tie_break(tmp_path, store):
    run = store(tmp_path / "r", {"gelu": noisy(0.95, seeds=4), "relu": noisy(0.95, seeds=4, seed=7)})
    base = {"params": {}, "batch": 32, "width": 8, "layers": 2, "calls": 10, "threads": 1, "load": 1.0}
    relu = 0.7e-4 * np.array([1, 1.6, 0.7, 1.5, 0.8, 1.4, 0.9, 1.3, 1.0])  # round-to-round noise as large as
    gelu = 1.0e-4 * np.array([1.4, 0.7, 1.5, 0.8, 1.3, 0.9, 1.2, 1.0, 1.1])  # the difference
    with Store(run) as st:  # relu 30 % cheaper on median, but not repeatably so over the rounds: within noise
        write_costs(st, [{**base, "label": "gelu", "activation": "gelu", "median": float(np.median(gelu)),
                          "spread": 2e-5, "best": float(gelu.min()), "rounds": gelu.tolist()},
                         {**base, "label": "relu", "activation": "relu", "median": float(np.median(relu)),
                          "spread": 2e-5, "best": float(relu.min()), "rounds": relu.tolist()}])
    d = decide(summarize(run))
    assert d.within_noise == {"gelu": True, "relu": False}
    assert d.decided_by != "lowest measured cost"
    assert "within noise" in write_report(run)["html"].read_text()
    steady = 1.0e-4 * (1 + 0.01 * np.sin(np.arange(9)))
    with Store(run) as st:  # now clearly apart, round after round: the cheaper one is picked for its measured cost
        write_costs(st, [{**base, "label": "gelu", "activation": "gelu", "median": 1.0e-4, "spread": 1e-6,
                          "best": 0.99e-4, "rounds": steady.tolist()},
                         {**base, "label": "relu", "activation": "relu", "median": 0.7e-4, "spread": 1e-6,
                          "best": 0.69e-4, "rounds": (0.7 * steady[::-1]).tolist()}])
    d = decide(summarize(run))
    assert d.within_noise["gelu"] is False
    if len(d.group) == 2:
        assert d.recommended.label == "relu" and d.decided_by == "lowest measured cost"


def test_timing_rounds_are_interleaved_and_unknown_activations_are_skipped():
    rounds = time_modules([("relu", {}), ("no_such_activation", {}), ("elu", {"alpha": 0.5})], (16, 16), rounds=3,
                          calls=2)
    assert rounds[1] is None and len(rounds[0]) == len(rounds[2]) == 3 and all(t > 0 for t in rounds[0])


def test_report_package_imports_no_trainer():
    # statically: no module of the report package names the trainer, the lab's trainer or the sweep's measuring
    forbidden = ("actlab.train", "actlab.lab2d", "actlab.sweep", "actlab.web")
    for path in sorted(REPORT.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"


@pytest.mark.slow
def test_report_run_loads_no_trainer(measured):
    # dynamically: writing a report (thumbnails and cost included) loads neither trainer
    code = ("import json, sys; from actlab.report import write_report; write_report(sys.argv[1], out_dir=sys.argv[2]); "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('actlab.train', 'actlab.lab2d')))))")
    out = subprocess.run([sys.executable, "-c", code, str(measured), str(measured / "copy")], capture_output=True,
                         text=True, check=True, timeout=300)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
    assert (measured / "copy" / "figures" / "boundaries.png").is_file()


def test_a_store_from_before_the_measured_tables_is_upgraded_and_renders(tmp_path, store):
    import sqlite3

    run = store(tmp_path / "v4", {"relu": noisy(0.95, seeds=3), "tanh": noisy(0.9, seeds=3)}, dataset="moons")
    conn = sqlite3.connect(run / "results.sqlite")  # as an older actlab left it: schema 4, no measured tables
    for table in ("cost", "thumbnail_frame", "thumbnails"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    assert main(["report", str(run)]) == 0
    md = (run / "report.md").read_text()
    assert md.count("| not measured |") == 2 and not (run / "figures" / "boundaries.png").exists()
    with Store(run, readonly=True) as st:
        assert read_costs(st) == {} and read_thumbnails(st) == (None, {})


@pytest.mark.slow
def test_a_sweep_measures_once_and_its_report_is_reproducible(tmp_path):
    from actlab.sweep import compare

    out = tmp_path / "sweep"
    compare({"dataset": "moons", "subset": 200, "acts": ["relu", "tanh"], "seeds": 2, "epochs": 2, "width": 8,
             "batch_size": 50, "precision": "fp32", "out": str(out)})
    with Store(out, readonly=True) as st:
        costs, (frame, thumbs) = read_costs(st), read_thumbnails(st)
    assert set(costs) == set(thumbs) == {"relu", "tanh"} and frame.dataset == "moons"
    assert all(c.median > 0 and (c.batch, c.width) == (50, 8) for c in costs.values())
    before = _outputs(out)
    assert main(["report", str(out)]) == 0
    assert _outputs(out) == before  # the sweep's own report and a later one: the same bytes


@pytest.mark.slow
@pytest.mark.parametrize("point, words", [("final", "final evaluation point"),
                                          ("best-val-loss", "best validation epoch (lowest validation loss)")])
def test_the_report_names_the_reported_point(tmp_path, point, words):
    out = tmp_path / "sweep"
    assert main(["compare", "--dataset", "digits", "--acts", "relu,tanh", "--seeds", "2", "--epochs", "2",
                 "--report-at", point, "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    assert f"Test metrics are taken at each run's {words}" in text
