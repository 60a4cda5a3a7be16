"""``actlab diagnose``: JSON schema, store resume, presets on small subsets, bad input (exit 2)."""
from __future__ import annotations

import json
import sqlite3

import pytest

from actlab.cli import main

LAYER_KEYS = {"layer", "speed_at_init", "speed_at_init_std", "speed_final", "dead_fraction_final",
              "saturated_fraction_final"}
TOP_KEYS = {"verdict", "layers", "growth_factor", "clipped_fraction"}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def strict_json(text):
    def refuse(constant):
        raise AssertionError(f"non-strict JSON constant {constant}")
    return json.loads(text, parse_constant=refuse)


SMALL = ("--dataset", "moons", "--depth", "3", "--width", "8", "--epochs", "2", "--batch-size", "32",
         "--eval-size", "200")


def test_json_schema_single_activation(capsys, tmp_path):
    code, out, _ = run(capsys, "diagnose", "--act", "tanh", *SMALL, "--seeds", "2", "--clip-norm", "0.5",
                       "-o", tmp_path / "d", "--json")
    assert code == 0
    data = strict_json(out)
    assert set(data) == TOP_KEYS
    assert data["verdict"] in ("vanishing", "exploding", "dying", "healthy")
    assert [layer["layer"] for layer in data["layers"]] == [1, 2, 3]
    for layer in data["layers"]:
        assert set(layer) == LAYER_KEYS
        assert layer["speed_at_init"] > 0 and layer["speed_at_init_std"] >= 0 and layer["speed_final"] > 0
        assert 0 <= layer["dead_fraction_final"] <= 1 and 0 <= layer["saturated_fraction_final"] <= 1
    assert data["growth_factor"] is None
    assert 0 <= data["clipped_fraction"] <= 1
    written = strict_json((tmp_path / "d" / "diagnostics.json").read_text())
    assert written["summary"] == data
    assert {"speed.png", "dead_saturated.png", "histograms-tanh.png"} <= {p.name for p in (tmp_path / "d").iterdir()}
    # the store: WAL, 2 runs, 3 measurement points (init + 2 epochs) × 3 layers each
    with sqlite3.connect(tmp_path / "d" / "diagnostics.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT COUNT(*) FROM runs WHERE status = 'finished'").fetchone()[0] == 2
        assert db.execute("SELECT COUNT(*) FROM layers").fetchone()[0] == 2 * 3 * 3


def test_epochs_zero_measures_at_init_only(capsys, tmp_path):
    code, out, _ = run(capsys, "diagnose", "--act", "relu", "--dataset", "moons", "--depth", "2", "--width", "8",
                       "--epochs", "0", "--seeds", "2", "-o", tmp_path / "z", "--json")
    assert code == 0
    data = strict_json(out)
    for layer in data["layers"]:
        assert layer["speed_final"] == pytest.approx(layer["speed_at_init"])
    assert data["clipped_fraction"] is None
    with sqlite3.connect(tmp_path / "z" / "diagnostics.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM points").fetchone()[0] == 2


def test_every_k_steps_and_update_ratios(capsys, tmp_path):
    # moons: 600 training points, batch 32 -> 19 steps per epoch, 38 in two epochs (the last one is measured too)
    code, _, _ = run(capsys, "diagnose", "--act", "gelu", *SMALL, "--seeds", "1", "--every", "7", "-o", tmp_path / "k")
    assert code == 0
    summary = strict_json((tmp_path / "k" / "diagnostics.json").read_text())
    points = summary["activations"]["gelu"]["runs"][0]["points"]
    assert [p["step"] for p in points] == [0, 7, 14, 21, 28, 35, 38]
    assert [p["epoch"] for p in points] == pytest.approx([s / 19 for s in (0, 7, 14, 21, 28, 35, 38)])
    assert all(layer["update_ratio"] is None for layer in points[0]["layers"])
    assert all(0 < layer["update_ratio"] < 1 for p in points[1:] for layer in p["layers"])


def test_rerun_resumes_and_skips_finished_seeds(capsys, tmp_path):
    out_dir = tmp_path / "r"
    code, first, _ = run(capsys, "diagnose", "--act", "elu", *SMALL, "--seeds", "1", "-o", out_dir, "--json")
    assert code == 0
    with sqlite3.connect(out_dir / "diagnostics.sqlite") as db:
        db.execute("INSERT INTO runs (run_id, activation, seed, status) VALUES ('elu/seed=1', 'elu', 1, 'running')")
        db.execute("INSERT INTO points VALUES ('elu/seed=1', 99, 9.0, 1.0)")  # a half-written earlier attempt
    code, _, err = run(capsys, "diagnose", "--act", "elu", *SMALL, "--seeds", "2", "-o", out_dir)
    assert code == 0
    assert "elu/seed=0: skipped" in err and "elu/seed=1: finished" in err
    with sqlite3.connect(out_dir / "diagnostics.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM points WHERE step = 99").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM runs WHERE status = 'finished'").fetchone()[0] == 2
    # the same seed gives the same numbers: seed 0's speeds are unchanged by the resumed session
    code, again, _ = run(capsys, "diagnose", "--act", "elu", *SMALL, "--seeds", "1", "-o", tmp_path / "fresh", "--json")
    assert strict_json(again)["layers"] == strict_json(first)["layers"]
    # other numbers into the same directory: refused, nothing trained
    code, _, err = run(capsys, "diagnose", "--act", "elu", *SMALL, "--seeds", "1", "--lr", "0.3", "-o", out_dir)
    assert code == 2 and "other options" in err and "lr" in err


def test_compare_acts_one_entry_per_activation(capsys, tmp_path):
    code, out, _ = run(capsys, "diagnose", "--compare-acts", "sigmoid,relu", *SMALL, "--seeds", "1",
                       "-o", tmp_path / "c", "--json")
    assert code == 0
    data = strict_json(out)
    assert set(data) == TOP_KEYS
    assert list(data["verdict"]) == ["sigmoid", "relu"]
    assert all(len(layers) == 3 and set(layers[0]) == LAYER_KEYS for layers in data["layers"].values())
    assert (tmp_path / "c" / "speed_by_activation.png").is_file()


@pytest.mark.slow
def test_nielsen_preset_on_a_subset_is_vanishing(capsys, tmp_path):
    code, out, _ = run(capsys, "diagnose", "--preset", "nielsen", "--subset", "300", "--epochs", "1", "--seeds", "2",
                       "--eval-size", "300", "-o", tmp_path / "n", "--json")
    assert code == 0
    data = strict_json(out)
    assert data["verdict"] == "vanishing"
    speeds = [layer["speed_at_init"] for layer in data["layers"]]
    assert len(speeds) == 4 and all(a < b for a, b in zip(speeds, speeds[1:]))
    setup = strict_json((tmp_path / "n" / "diagnostics.json").read_text())["setup"]
    assert setup["init"] == "nielsen" and setup["loss"] == "sigmoid" and setup["l2"] == 5.0
    assert setup["batch_size"] == 10 and setup["lr"] == 0.1 and setup["width"] == 30


@pytest.mark.slow
def test_dying_relu_preset_on_a_subset(capsys, tmp_path):
    code, out, _ = run(capsys, "diagnose", "--preset", "dying-relu", "--subset", "400", "--epochs", "1",
                       "--seeds", "1", "--width", "16", "--eval-size", "200", "-o", tmp_path / "y", "--json")
    assert code == 0
    data = strict_json(out)
    assert list(data["verdict"]) == ["relu", "leaky_relu", "prelu", "elu"]
    # leaky ReLU's f' is alpha or 1, never 0: no unit can die (ELU's alpha·e^z can underflow to 0 in float32)
    assert all(layer["dead_fraction_final"] == 0 for layer in data["layers"]["leaky_relu"])
    assert (tmp_path / "y" / "dead_saturated.png").is_file()


def test_exploding_preset_json(capsys, tmp_path):
    code, out, _ = run(capsys, "diagnose", "--preset", "exploding", "--depth", "4", "-o", tmp_path / "e", "--json")
    assert code == 0
    data = strict_json(out)
    assert set(data) == TOP_KEYS and data["verdict"] == "exploding"
    assert data["growth_factor"] == pytest.approx([25.0, 25.0, 25.0])
    assert [layer["speed_at_init"] for layer in data["layers"]] == pytest.approx([0.125 * 25 ** k for k in (3, 2, 1, 0)])
    assert data["clipped_fraction"] > 0
    assert (tmp_path / "e" / "exploding.png").is_file()


@pytest.mark.parametrize("argv,message", [
    (("--preset", "nope"), "unknown preset"),
    (("--act", "relux"), "relux"),
    (("--act", "relu", "--compare-acts", "relu,elu"), "not both"),
    (("--clip-value", "1", "--clip-norm", "1"), "not both"),
    (("--epochs", "-1"), "epochs"),
    (("--depth", "0"), "depth"),
    (("--lr", "0"), "lr"),
    (("--init", "xavier"), "unknown init"),
    (("--optimizer", "rmsprop"), "unknown optimizer"),
    (("--compare-acts", "relu,,elu"), "empty item"),
    (("--compare-acts", "relu,relu"), "twice"),
    (("--act", "softmax"), "elementwise"),
    (("--dataset", "nosuchset"), "nosuchset"),
    (("--dataset", "multi_gaussian"), "regression"),
    (("--param", "alpha"), "NAME=VALUE"),
    (("--clip-norm", "-2"), "clip-norm"),
    (("--act", "relu", "--param", "alpha=0.2"), "no activation in relu has such a parameter"),
])
def test_bad_input_exits_2(capsys, tmp_path, argv, message):
    code, out, err = run(capsys, "diagnose", *argv, "--epochs" if "--epochs" not in argv else "--seeds",
                         "0" if "--epochs" not in argv else "1", "-o", tmp_path / "bad")
    assert code == 2, (out, err)
    assert message in err


def test_compare_acts_keeps_commas_inside_formulas(capsys, tmp_path):
    code, out, _ = run(capsys, "diagnose", "--compare-acts", "tanh,maximum(x, 0.1 * x)", "--dataset", "moons",
                       "--depth", "2", "--width", "4", "--epochs", "0", "--seeds", "1", "-o", tmp_path / "g", "--json")
    assert code == 0
    assert list(strict_json(out)["verdict"]) == ["tanh", "maximum(x, 0.1 * x)"]


def test_out_is_a_file(capsys, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    code, _, err = run(capsys, "diagnose", "--act", "relu", "--epochs", "0", "-o", blocker)
    assert code == 2 and "a file of that name exists" in err
