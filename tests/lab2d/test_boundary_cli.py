"""``actlab boundary``: JSON keys, strict JSON, exit 2 on bad input, figure and animation files."""
from __future__ import annotations

import json

import pytest

from actlab.cli import main

KEYS = {"activation", "hidden", "bias", "seeds", "train_accuracy", "train_accuracy_std", "test_accuracy",
        "test_accuracy_std", "extrapolation_accuracy", "extrapolation_accuracy_std", "final_loss",
        "output_weights", "output_bias", "figure"}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_json_one_object_per_activation(capsys, tmp_path):
    figure = tmp_path / "fig.png"
    code, out, err = run(capsys, "boundary", "--dataset", "circle", "--act", "tanh", "--act", "cos,identity",
                         "--hidden", "2", "--no-bias", "--epochs", "40", "--seeds", "2", "--points", "120",
                         "-o", str(figure), "--json")
    assert code == 0, err
    rows = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert [r["activation"] for r in rows] == ["tanh", "cos,identity"]
    for row in rows:
        assert KEYS <= set(row)
        assert row["hidden"] == 2 and row["bias"] is False and row["seeds"] == [0, 1]
        for key in ("train_accuracy", "test_accuracy", "extrapolation_accuracy"):
            assert 0.0 <= row[key] <= 1.0 and row[key + "_std"] >= 0.0
        assert len(row["output_weights"]) == 2 and isinstance(row["output_bias"], float)
        assert row["figure"] == str(figure)
    assert figure.stat().st_size > 10_000 and figure.read_bytes()[:4] == b"\x89PNG"


def test_no_extrapolation_split_gives_null(capsys, tmp_path):
    code, out, err = run(capsys, "boundary", "--dataset", "moons", "--act", "relu", "--hidden", "3", "--epochs", "20",
                         "--points", "100", "-o", str(tmp_path / "m.png"), "--json")
    assert code == 0, err
    row = json.loads(out)[0]
    assert row["extrapolation_accuracy"] is None and row["extrapolation_accuracy_std"] is None


@pytest.mark.parametrize("argv, message", [
    (["--act", "cos,identity,relu", "--hidden", "2"], "lists 3 activations but --hidden is 2"),
    (["--act", "nosuchact"], "nosuchact"),
    (["--dataset", "plane"], "classification"),
    (["--hidden", "0"], "--hidden"),
    (["--steps", "0"], "--steps"),
    (["--restarts", "0"], "--restarts"),
    (["--weight-scale", "-1"], "--weight-scale"),
    (["--init", "glorat"], "glorat"),
    (["--lr", "-1"], "--lr"),
    (["--act", "relu:per_unit"], "per_unit"),
    (["-o", "fig.jpg"], "PNG"),
    (["--animate", "out.avi"], ".gif or .mp4"),
])
def test_bad_input_exit_2(capsys, tmp_path, argv, message):
    argv = [a if a != "fig.jpg" else str(tmp_path / "fig.jpg") for a in argv]
    if "-o" not in argv:
        argv += ["-o", str(tmp_path / "f.png")]
    code, _, err = run(capsys, "boundary", "--steps", "5", *argv) if "--steps" not in argv else run(capsys, "boundary", *argv)
    assert code == 2
    assert message in " ".join(err.split()) and "Traceback" not in err


def test_mp4_without_ffmpeg_is_a_clear_error(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    code, _, err = run(capsys, "boundary", "--epochs", "5", "-o", str(tmp_path / "f.png"), "--animate", str(tmp_path / "a.mp4"))
    assert code == 2 and "ffmpeg" in err


@pytest.mark.slow
def test_table_and_animation(capsys, tmp_path, monkeypatch):
    from actlab.cli.app import console

    monkeypatch.setattr(console, "width", 160)  # the table's rows, whatever the terminal's (or COLUMNS') width
    gif = tmp_path / "train.gif"
    code, out, err = run(capsys, "boundary", "--dataset", "xor", "--act", "relu", "--hidden", "2", "--epochs", "30",
                         "--points", "80", "-o", str(tmp_path / "x.png"), "--animate", str(gif), "--frames", "3")
    assert code == 0, err
    assert "relu" in out and "3 frames" in out
    from PIL import Image

    with Image.open(gif) as image:
        assert image.n_frames == 3
