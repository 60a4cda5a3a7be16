"""The catalog commands through the CLI entry point: output, JSON schema, exit codes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import actlab
from actlab.cli import main

ACTLAB = str(Path(sys.executable).with_name("actlab"))


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_json_schema(capsys):
    code, out, _ = run(capsys, "list", "--json")
    assert code == 0
    data = json.loads(out)
    assert {d["name"] for d in data} >= set(n for n in actlab.names() if actlab.get(n).source == "catalog")
    for item in data:
        assert isinstance(item["name"], str) and isinstance(item["aliases"], list) and item["summary"]
    silu = next(d for d in data if d["name"] == "silu")
    assert "swish" in silu["aliases"]


def test_list_table_mentions_every_activation(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    for name in ("relu", "gelu_tanh", "log_softmax", "maxout"):
        assert name in out


def test_show_prints_formula_derivative_params_init(capsys):
    code, out, _ = run(capsys, "show", "leaky_relu")
    assert code == 0
    assert "alpha*x" in out and "recommended init: he" in out and "Keras" in out and "Maas" in out


def test_show_json_with_param(capsys):
    code, out, _ = run(capsys, "show", "elu", "--param", "alpha=0.5", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["name"] == "elu" and data["params"][0]["default"] == 0.5 and data["kinks"] == [0.0]
    assert data["init"]["scheme"] == "he"


def test_show_says_what_the_module_runs(capsys):
    """show names the module's implementation, and it is the one actlab.nn.create picks."""
    for name, impl in (("gelu", "native"), ("quick_gelu", "fused"), ("sinc", "fused"), ("rrelu", "fused"),
                       ("maxout", "fused"), ("softmax", "native")):
        code, out, _ = run(capsys, "show", name, "--json")
        assert code == 0
        assert json.loads(out)["module"]["impl"] == impl, name
        module = actlab.nn.create(name)
        assert module.impl == ("native" if impl == "native" else "reference") and module.fused == (impl == "fused")
    code, out, _ = run(capsys, "show", "gelu")
    assert "module (actlab.nn.create, impl='auto'): the native PyTorch op" in out and "_native.gelu" in out


def test_eval_json_values_and_derivatives(capsys):
    code, out, _ = run(capsys, "eval", "relu", "--x", "0.5,-1,3", "--json")
    assert code == 0
    data = json.loads(out)
    assert data == {"name": "relu", "params": {}, "x": [0.5, -1.0, 3.0], "y": [0.5, 0.0, 3.0], "dy": [1.0, 0.0, 1.0]}


def test_eval_accepts_a_list_starting_with_minus(capsys):
    code, out, _ = run(capsys, "eval", "elu", "--x=-1,2", "--param", "alpha=2", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["params"] == {"alpha": 2.0}
    assert data["y"][0] == pytest.approx(2 * (2.718281828459045**-1 - 1))
    assert data["dy"] == pytest.approx([2 * 2.718281828459045**-1, 1.0])


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["show", "gleu"], "gelu"),  # among the suggestions (glu is nearer)
        (["eval", "sigmod", "--x", "1"], "did you mean sigmoid"),
        (["show", "elu", "--param", "alpha=-1"], "alpha"),
        (["eval", "rrelu", "--x", "1", "-p", "lower=0.5", "-p", "upper=0.2"], "lower"),
        (["eval", "elu", "--x", "1", "-p", "alpah=1"], "did you mean alpha"),
        (["eval", "relu", "--x", "1,abc"], "'abc' is not a number"),
        (["eval", "relu", "--x", "1", "-p", "alpha"], "NAME=VALUE"),
        (["eval", "maxout", "--x", "1,2,3"], "multiple of k"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert needle in err
    assert "Traceback" not in err + out


def test_console_script_exit_code_and_no_traceback():
    done = subprocess.run([ACTLAB, "show", "gleu"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "unknown activation 'gleu'" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([ACTLAB, "eval", "tanh", "--x=-1,2", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and json.loads(done.stdout)["x"] == [-1.0, 2.0]


def test_unknown_command_is_a_usage_error(capsys):
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "No such command" in err
