"""Every ``--json`` command prints strict JSON (no NaN/Infinity); the commands are discovered from the app,
so a new ``--json`` command without an invocation here fails the coverage test."""
from __future__ import annotations

import json
import math

import pytest
import typer.main

from actlab.cli import app, main
from actlab.cli.app import strict_json

SMALL = ["--dataset", "moons", "--subset", "300", "--width", "8", "--epochs", "1", "--seeds", "1"]


def _strict_parse(text: str):
    def refuse(constant: str):
        raise AssertionError(f"non-strict JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def _invocations(tmp) -> dict[str, list[str]]:
    return {
        "list": ["list", "--json"],
        "show": ["show", "softplus", "--json"],  # range_max is +inf: becomes null plus non_finite
        "eval": ["eval", "exponential", "--x=-1,100,1000", "--json"],  # exp(1000) overflows float64
        "props": ["props", "relu", "elu", "--json", "--no-cost"],
        "define": ["define", "strict_json_act", "x*tanh(x)", "--json"],
        "data list": ["data", "list", "--json"],
        "data show": ["data", "show", "circle", "--json", "-O", "n=60"],
        "selfnorm": ["selfnorm", "relu", "--json"],
        "signal": ["signal", "tanh", "--json"],  # ξ_c is infinite on the edge of chaos: null plus non_finite
        "compare": ["compare", *SMALL, "--acts", "relu", "--out", str(tmp / "run"), "--json"],
        "report": ["report", str(tmp / "run"), "--json"],
        "tune": ["tune", *SMALL, "--acts", "relu", "--trials", "2", "--space", "lr=1e-3:1e-1:log", "--out",
                 str(tmp / "tune"), "--json"],
        "recommend": ["recommend", "--depth", "20", "--from", str(tmp / "run"), "--json"],
        "boundary": ["boundary", "--dataset", "circle", "--act", "tanh", "--hidden", "2", "--epochs", "2",
                     "--seeds", "1", "--points", "60", "-o", str(tmp / "b.png"), "--json"],
        "diagnose": ["diagnose", "--act", "tanh", "--dataset", "moons", "--depth", "2", "--width", "8", "--epochs", "1",
                     "--batch-size", "32", "--eval-size", "100", "--seeds", "1", "-o", str(tmp / "d"), "--json"],
        "search": ["search", "--task", "digits", "--unary", "x,tanh", "--binary", "add", "--budget", "2000steps",
                   "--top-k", "1", "--final-seeds", "2", "--baselines", "relu", "--out", str(tmp / "search"), "--json"],
    }


def _json_commands() -> set[str]:
    found = set()
    group = typer.main.get_command(app)

    def walk(command, prefix: str) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{prefix} {name}".strip())
        if any("--json" in getattr(p, "opts", ()) for p in getattr(command, "params", ())):
            found.add(prefix)

    walk(group, "")
    return found


def test_every_json_command_is_covered(tmp_path) -> None:
    assert _json_commands() <= set(_invocations(tmp_path)), _json_commands() - set(_invocations(tmp_path))


@pytest.mark.slow
def test_every_json_command_prints_strict_json(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ACTLAB_CONFIG_DIR", str(tmp_path / "config"))
    for name, argv in _invocations(tmp_path).items():
        code = main(argv)
        out, err = capsys.readouterr()
        # 3: a training command whose tiny sweep learned nothing (still a full, strict JSON summary)
        assert code == 0 or (code == 3 and name in ("compare", "tune", "demo")), f"{name}: exit {code}: {err}"
        _strict_parse(out)


def test_strict_json_convention() -> None:
    data = {"a": math.inf, "b": [1.0, -math.inf, {"c": math.nan}], "d": 2}
    out = strict_json(data)
    assert out["a"] is None and out["b"][1] is None and out["b"][2]["c"] is None
    assert out["non_finite"] == {"a": "inf", "b/1": "-inf"}
    assert out["b"][2]["non_finite"] == {"c": "nan"}
    json.dumps(out, allow_nan=False)
