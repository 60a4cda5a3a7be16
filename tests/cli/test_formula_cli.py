"""Formulas on the command line: ``actlab define`` and formulas through ``show`` / ``eval``."""
from __future__ import annotations

import json

import pytest

from actlab import registry
from actlab.cli import main
from actlab.formula.store import config_path


@pytest.fixture(autouse=True)
def _environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ACTLAB_COMPILE", "0")
    monkeypatch.setenv("ACTLAB_CONFIG_DIR", str(tmp_path / "config"))
    yield
    for name in ("cli_elu", "cli_swish"):
        if registry.lookup(name) is not None:
            registry.unregister(name)


def test_show_formula(capsys):
    assert main(["show", "sign(x)*x**2"]) == 0
    out = capsys.readouterr().out
    assert "2*x*sign(x)" in out


def test_eval_formula_json(capsys):
    assert main(["eval", "x*sigmoid(x)", "--x=-1,2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["y"] == pytest.approx([-0.2689414213699951, 1.7615941559557649])
    assert data["dy"] == pytest.approx([0.07232948812851325, 1.0907842487848955])


def test_eval_formula_with_param(capsys):
    assert main(["eval", "where(x > 0, x, a*(exp(x) - 1))", "--x=-1", "--param", "a=2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["y"] == pytest.approx([2 * (pow(2.718281828459045, -1) - 1)])


def test_define_and_save(capsys):
    assert main(["define", "cli_elu", "where(x > 0, x, a*(exp(x) - 1))", "--param", "a=2", "--save"]) == 0
    out = capsys.readouterr().out
    assert "where(x > 0, 1, a*exp(x))" in out
    assert "kinks at x = 0" in out
    saved = json.loads(config_path().read_text())
    assert saved["formulas"]["cli_elu"] == {"formula": "where(x > 0, x, a*(exp(x) - 1))", "params": {"a": 2.0}}
    assert main(["show", "cli_elu", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["source"] == "formula"


def test_define_json(capsys):
    assert main(["define", "cli_swish", "x*sigmoid(x)", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["derivative_formula"] and data["saved_to"] is None and data["kinks"] == []
    assert not config_path().exists()


@pytest.mark.parametrize(
    "argv,token",
    [
        (["show", "x.__class__"], "__class__"),
        (["eval", "__import__('os')", "--x=1"], "__import__"),
        (["define", "bad", "x**9**9**9"], "**"),
        (["define", "bad", "x*sigmod(x)"], "sigmoid"),
        (["eval", "where(x > 0, x, a*(exp(x) - 1))", "--x=1"], "--param a=VALUE"),
        (["show", "x*(1 +"], "syntax error"),
        (["define", "relu", "x"], "catalog"),
        (["define", "cli_swish", "x", "--param", "a=1"], "'a'"),
    ],
)
def test_bad_formula_exit_code_2(capsys, argv, token):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert token in err.replace("\n", ""), err
