"""diagnose, boundary and selfnorm take their training flags from the options table; an optimiser's option given
for an optimiser that does not use it is refused (exit 2), whatever its value."""
from __future__ import annotations

import json

import pytest
import torch

from actlab.cli import main
from actlab.cli.diagnose import setup_values
from actlab.diagnostics.presets import Setup
from actlab.diagnostics.run import train_config
from actlab.errors import ActlabError
from actlab.models import build
from actlab.sweep.options import resolve_config

SMALL = ["--dataset", "digits", "--acts", "relu", "--seeds", "1", "--epochs", "1", "--width", "8", "--quiet"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- diagnose
def test_diagnose_table_rows_reach_its_train_config():
    values = setup_values({}, {"optimizer": "sgd", "momentum": 0.5, "nesterov": True, "bias_init": 0.25,
                               "depth": 2, "width": 6, "no_bias": None})
    setup = Setup(**values)
    setup.validate()
    config = train_config(setup, 100)
    assert (config.momentum, config.nesterov, config.bias_init, config.depth, config.width) == (0.5, True, 0.25, 2, 6)
    net = build(config.model_config, "tanh", (5,), 3, seed=0)
    biases = [m.bias for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert len(biases) == 3 and all(torch.equal(b, torch.full_like(b, 0.25)) for b in biases)
    # the setup without them hashes as before they existed; with them, differently
    assert Setup().fingerprint() == Setup(**setup_values({}, {"momentum": None})).fingerprint()
    assert setup.fingerprint() != Setup(**setup_values({}, {"depth": 2, "width": 6})).fingerprint()


@pytest.mark.parametrize("extra, message", [
    (["--adam-beta1", "0.9"], "--adam-beta1 is for --optimizer adam; sgd does not use it"),  # Adam's own default
    (["--optimizer", "adam", "--momentum", "0.0"], "--momentum is for --optimizer sgd; adam does not use it"),
    (["--optimizer", "adam", "--nesterov"], "--nesterov is for --optimizer sgd"),
    (["--epochs", "1", "--steps", "3"], "not both"),
])
def test_diagnose_refuses_an_option_its_optimiser_does_not_use(tmp_path, capsys, extra, message):
    code, _, err = run(capsys, "diagnose", "--dataset", "digits", "--depth", "1", "--width", "4", "-o",
                       str(tmp_path / "d"), *extra)
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "d").exists()


# ---------------------------------------------------------------- boundary
def test_boundary_keeps_bias_flag_and_refuses_two_budgets(tmp_path, capsys):
    code, _, err = run(capsys, "boundary", "--steps", "5", "--epochs", "5", "-o", str(tmp_path / "b.png"))
    assert code == 2 and "not both" in err
    code, out, _ = run(capsys, "boundary", "--dataset", "xor", "--act", "relu", "--bias", "--epochs", "3",
                       "--restarts", "1", "--points", "40", "--lr", "0.05", "-o", str(tmp_path / "b.png"), "--json")
    assert code == 0
    (row,) = json.loads(out)
    assert row["bias"] is True and "test_accuracy" in row


# ---------------------------------------------------------------- selfnorm
@pytest.mark.parametrize("argv, message", [
    (["selfnorm", "selu", "--depth", "3"], "--depth: for --depth-experiment only"),
    (["selfnorm", "--depth-experiment", "--dropout", "0.1,0.2"], "one rate"),
    (["selfnorm", "selu", "--dropout", "1.5"], "[0, 1)"),
])
def test_selfnorm_table_flags_refused_where_they_mean_nothing(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err


# ---------------------------------------------------------------- compare and TOML: given, not "differs"
@pytest.mark.parametrize("extra, message", [
    (["--optimizer", "sgd", "--adam-beta1", "0.9"], "--adam-beta1 is for --optimizer adam; sgd does not use it"),
    (["--eps", "1e-08", "--optimizer", "sgd"], "--eps is for --optimizer adam or rmsprop"),
    (["--rmsprop-centered"], "--rmsprop-centered is for --optimizer rmsprop; adam does not use it"),
])
def test_compare_refuses_an_unused_optimiser_option_at_its_default(tmp_path, capsys, extra, message):
    code, _, err = run(capsys, "compare", *SMALL, "--out", str(tmp_path / "o"), *extra)
    assert code == 2 and message in err
    assert not (tmp_path / "o" / "results.sqlite").exists()


def test_toml_recipe_refuses_an_unused_optimiser_option_at_its_default(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text("nesterov = false\n")  # the default value, for an optimiser (adam) that has no nesterov
    with pytest.raises(ActlabError, match=f"nesterov in {toml} is for --optimizer sgd; adam does not use it"):
        resolve_config({}, config_file=toml)
    toml.write_text('optimizer = "sgd"\nnesterov = true\nmomentum = 0.5\n')  # its own optimiser: fine
    assert resolve_config({}, config_file=toml)["nesterov"] is True
    # the file's sgd replaced on the command line: its sgd options no longer apply (back to their defaults)
    config = resolve_config({"optimizer": "rmsprop"}, config_file=toml)
    assert (config["optimizer"], config["nesterov"]) == ("rmsprop", False)
