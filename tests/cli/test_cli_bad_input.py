"""Bad input found by a user-style review: each gets exit 2 and a clear message, never a traceback."""
from __future__ import annotations

import json

import pytest

from actlab.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_softmax_dim_out_of_range(capsys):
    code, _, err = run(capsys, "eval", "softmax", "--x", "1", "--param", "dim=5")
    assert code == 2 and "out of range" in err


def test_infinite_parameter_is_rejected(capsys):
    code, _, err = run(capsys, "show", "elu", "--param", "alpha=inf")
    assert code == 2 and "finite" in err


@pytest.mark.parametrize("target", ["/proc/actlab-x.png", "{tmp}/afile/x.png", "{tmp}"])
def test_plot_to_an_unwritable_path(capsys, tmp_path, target):
    (tmp_path / "afile").write_text("not a directory")
    code, _, err = run(capsys, "plot", "relu", "-o", target.format(tmp=tmp_path))
    assert code == 2 and ("cannot write" in err or "image type" in err)


def test_plot_range_too_wide(capsys, tmp_path):
    code, _, err = run(capsys, "plot", "relu", "--range=-1e308,1e308", "-o", str(tmp_path / "a.png"))
    assert code == 2 and "--range" in err


def test_data_preview_must_be_png(capsys, tmp_path):
    code, _, err = run(capsys, "data", "show", "circle", "-o", str(tmp_path / "x.gif"))
    assert code == 2 and "PNG" in err
    assert not (tmp_path / "x.gif").exists()


def test_resume_on_a_directory_without_a_sweep_does_not_train(capsys, tmp_path):
    code, _, err = run(capsys, "compare", "--resume", "--out", str(tmp_path / "empty"), "--quiet")
    assert code == 2 and "no sweep to resume" in err
    assert not (tmp_path / "empty" / "results.sqlite").exists()


def test_compare_out_is_a_file(capsys, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    code, _, err = run(capsys, "compare", "--dataset", "moons", "--acts", "relu", "--seeds", "1", "--epochs", "1",
                       "--subset", "200", "--out", str(blocker), "--quiet")
    assert code == 2 and "a file of that name exists" in err


def test_define_refuses_reserved_and_empty_names(capsys):
    for name in ("x", "pi", "sqrt", ""):
        code, _, err = run(capsys, "define", name, "x**2")
        assert code == 2, name
        assert "reserved" in err or "identifier" in err


def test_broken_saved_formulas_are_never_overwritten(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ACTLAB_CONFIG_DIR", str(tmp_path))
    broken = '{"formulas": {"keepme": {"formula": "x*3", "params": {}}},}'
    (tmp_path / "formulas.json").write_text(broken)
    code, _, err = run(capsys, "define", "zz", "x", "--save")
    assert code == 2 and "formulas.json" in err
    assert (tmp_path / "formulas.json").read_text() == broken


def test_export_into_a_file_path(capsys, tmp_path):
    code, out, _ = run(capsys, "compare", "--dataset", "moons", "--acts", "relu", "--seeds", "1", "--epochs", "1",
                       "--subset", "200", "--out", str(tmp_path / "run"), "--json")
    assert code in (0, 3) and json.loads(out)  # 3: a 1-epoch net may not learn; the store is written either way
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    code, _, err = run(capsys, "export", str(tmp_path / "run"), "--csv", str(blocker))
    assert code == 2 and "a file of that name exists" in err


def test_compare_formula_with_free_parameter_points_to_define(capsys, tmp_path):
    code, _, err = run(capsys, "compare", "--dataset", "moons", "--acts", "relu,where(x > 0, x, a*x)",
                       "--out", str(tmp_path / "r"), "--quiet")
    assert code == 2 and "actlab define" in err and "--param a=VALUE" in err
    assert not (tmp_path / "r").exists()
