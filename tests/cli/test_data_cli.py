"""``actlab data list`` / ``actlab data show``: exit codes, JSON, pictures."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from actlab import data
from actlab.cli import main
from actlab.cli.data import parse_options
from actlab.errors import ActlabError


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTLAB_CACHE_DIR", str(tmp_path / "cache"))


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_json(capsys):
    code, out, _ = run(capsys, "data", "list", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["name"] for r in rows] == data.names()
    circle = next(r for r in rows if r["name"] == "circle")
    assert circle["task"] == "classification" and circle["options"]["n"] == 1000
    assert next(r for r in rows if r["name"] == "plane")["task"] == "regression"


def test_list_table(capsys):
    code, out, _ = run(capsys, "data", "list")
    assert code == 0 and "multi_gaussian" in out and "mnist1d" in out


def test_show_json_with_options(capsys):
    code, out, _ = run(capsys, "data", "show", "circle", "--json", "-O", "n=100", "--option", "noise=0.1")
    assert code == 0
    info = json.loads(out)
    assert info["name"] == "circle" and info["input_shape"] == [2] and info["num_classes"] == 2
    assert [info["splits"][p]["size"] for p in ("train", "val", "test")] == [60, 20, 20]
    assert sum(sum(info["splits"][p]["class_counts"]) for p in info["splits"]) == 100
    assert info["true_boundary"] == "0.6 - sqrt(x0^2 + x1^2)"


def test_show_regression_json(capsys):
    code, out, _ = run(capsys, "data", "show", "plane", "--json", "-O", "n=50")
    info = json.loads(out)
    assert code == 0 and info["task"] == "regression" and "target" in info["splits"]["train"]
    assert -1 <= info["splits"]["train"]["target"]["min"] <= info["splits"]["train"]["target"]["max"] <= 1


def test_show_table(capsys):
    code, out, _ = run(capsys, "data", "show", "xor", "-O", "n=40")
    assert code == 0 and "train" in out and "true boundary: x0 * x1 = 0" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["data", "show", "circel"], "did you mean circle"),
        (["data", "show", "circle", "-O", "n=-3"], "n must be >= 1"),
        (["data", "show", "circle", "-O", "noise"], "KEY=VALUE"),
        (["data", "show", "circle", "-O", "nosie=0.1"], "unknown option 'nosie'"),
        (["data", "show", "circle", "--target", "label"], "unknown option 'target'"),
        (["data", "show", "missing.csv", "--target", "label"], "no such file"),
    ],
)
def test_show_bad_input_exits_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in " ".join(err.split())
    assert "Traceback" not in err and out == ""


def test_show_csv_with_target(capsys, tmp_path):
    path = tmp_path / "my.csv"
    path.write_text("a,b,kind\n" + "\n".join(f"{i},{-i},{'yes' if i % 2 else 'no'}" for i in range(20)) + "\n")
    code, out, _ = run(capsys, "data", "show", str(path), "--target", "kind", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["classes"] == ["no", "yes"] and info["name"] == "my" and info["input_shape"] == [2]
    code, _, err = run(capsys, "data", "show", str(path), "--target", "knid")
    assert code == 2 and "did you mean 'kind'" in err and "columns: a, b, kind" in err


@pytest.mark.parametrize("name, options", [("moons", ["-O", "n=200", "-O", "noise=0.05"]), ("multi_gaussian", []), ("digits", [])])
def test_show_writes_png(capsys, tmp_path, name, options):
    target = tmp_path / f"{name}.png"
    code, out, _ = run(capsys, "data", "show", name, "-o", str(target), *options)
    assert code == 0 and "wrote" in out
    blob = target.read_bytes()
    assert blob[:8] == b"\x89PNG\r\n\x1a\n" and len(blob) > 10_000


def test_show_png_for_a_table(capsys, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c,label\n" + "\n".join(f"{i},{i % 7},{i % 3},{i % 4}" for i in range(40)) + "\n")
    target = tmp_path / "t.png"
    code, out, _ = run(capsys, "data", "show", str(path), "--target", "label", "-o", str(target), "--json")
    assert code == 0 and json.loads(out)["preview"] == str(target)
    assert target.read_bytes()[:4] == b"\x89PNG"


def test_parse_options_types():
    assert parse_options(["n=5", "noise=0.5", "flatten=false", "subset=none", "source=mirror"]) == {
        "n": 5, "noise": 0.5, "flatten": False, "subset": None, "source": "mirror"
    }
    with pytest.raises(ActlabError):
        parse_options(["=3"])


@pytest.mark.slow
def test_console_script_exit_code(tmp_path):
    script = Path(sys.executable).with_name("actlab")
    if not script.exists():
        pytest.skip("console script not installed")
    env = {**os.environ, "ACTLAB_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([str(script), "data", "show", "spirall"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert "did you mean spiral" in done.stderr and "Traceback" not in done.stderr
