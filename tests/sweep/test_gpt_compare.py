"""``actlab compare --model gpt --match params`` end to end on a tiny transformer: sizes stored and matched,
runs.csv's n_parameters, the report's language-model section, and bad options refused in one line."""
from __future__ import annotations

import csv

import pytest

from actlab.cli import main
from actlab.store import Store, to_csv
from actlab.store.sizes import read_sizes
from actlab.sweep import compare

pytestmark = pytest.mark.slow  # a whole sweep with its report (about 15 s on an idle core)

TINY = dict(model="gpt", acts=["gelu", "swiglu"], match="params", seeds=2, steps=6, eval_every=3, depth=1,
            width=16, heads=2, context=16, batch_size=4, precision="fp32")


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpt") / "run"
    outcome = compare({**TINY, "out": str(out)})
    assert not outcome.interrupted
    return out


def test_sizes_are_stored_and_matched(sweep_dir):
    with Store(sweep_dir, create=False) as store:
        sizes = read_sizes(store)
        runs = store.runs()
        config = store.sweep()["config"]
    assert config["dataset"] == "kjv" and config["dataset_task"] == "language-model"  # kjv when no --dataset is given
    assert all(r.status == "finished" for r in runs) and len(runs) == 4
    gelu, swiglu = sizes["gelu"], sizes["swiglu"]
    assert gelu.hidden_width == 64 and swiglu.hidden_width == 42  # 4·16, and 8/3·16 ≈ 42.7 (the nearest count)
    assert abs(swiglu.n_parameters - gelu.n_parameters) / gelu.n_parameters < 0.01
    assert gelu.flops_unit == "token" and gelu.flops > 2 * gelu.n_parameters - 2 * 16 * 16


def test_runs_csv_has_the_parameter_count_of_every_run(sweep_dir, tmp_path):
    to_csv(sweep_dir, tmp_path)
    with open(tmp_path / "runs.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with Store(sweep_dir, create=False) as store:
        sizes = read_sizes(store)
    assert len(rows) == 4
    assert all(int(row["n_parameters"]) == sizes[row["label"]].n_parameters for row in rows)


def test_the_report_shows_bits_per_character(sweep_dir):
    markdown = (sweep_dir / "report.md").read_text(encoding="utf-8")
    assert "## Language model: bits per character, size and speed" in markdown
    assert (sweep_dir / "figures" / "bpc.png").stat().st_size > 1000
    section = markdown.split("## Language model")[1].split("\n## ")[0]
    assert "| gelu |" in section and "+0.00 %" in section and "vs the first arm" in section and "FLOPs / token" in section


@pytest.mark.parametrize(("argv", "message"), [
    (["--match", "param"], "did you mean params"),
    (["--model", "mlp", "--dataset", "moons", "--heads", "2"], "--heads is for --model gpt"),
    (["--dataset", "moons"], "the gpt model trains on text"),
])
def test_bad_options_exit_2_in_one_line(capsys, tmp_path, argv, message):
    base = ["compare", "--model", "gpt", "--acts", "gelu", "--steps", "1", "--out", str(tmp_path / "x")]
    code = main([*base, *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
