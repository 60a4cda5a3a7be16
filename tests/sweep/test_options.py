"""The options table: one row per option; CLI, defaults, TOML and the reproduce command derive from it."""
from __future__ import annotations

import shlex

import pytest
import typer

from actlab.cli import app
from actlab.sweep import (
    DEFAULTS,
    OPTIONS,
    config_fingerprint,
    identity_of,
    reproduce_command,
    resolve_config,
)
from actlab.sweep.options import train_options

# a value different from the default for every option (and consistent with the others it needs)
NON_DEFAULT = {
    "heads": 2,
    "context": 32,
    "ffn_width": 100,
    "match": "params",
    "dataset": "moons",
    "target": "label",
    "subset": 300,
    "model": "cnn",
    "task": "regress",
    "image_size": 24,
    "depth": 3,
    "width": 17,
    "acts": ["relu", "maximum(x, 0.5*x)"],
    "seeds": 2,
    "epochs": 7,
    "batch_size": 32,
    "optimizer": "sgd",
    "lr": 0.0123,
    "lr_grid": [0.1, 0.01],
    "momentum": 0.5,
    "weight_decay": 1e-4,
    "clip_value": 0.5,
    "clip_norm": 2.0,
    "dropout": 0.25,
    "init": "lecun",
    "precision": "fp32",
    "diagnostics": True,
    "engine": "sequential",
    "grid_size": 4,
    "address": "ray://head:10001",
    "cpus_per_task": 2,
    "gpus_per_task": 0.5,
    "max_memory": "8G",
    "margin": 0.5,
    "device": "cpu",
    "compile": "off",
    "out": "runs/x y",
    "steps": 301,
    "eval_every": 100,
    "val_size": 0,
    "report_at": "final",
    "log_every_step": True,
    "last_steps": 5,
    "nesterov": True,
    "adam_beta1": 0.8,
    "adam_beta2": 0.99,
    "eps": 1e-6,
    "rmsprop_alpha": 0.4,
    "rmsprop_momentum": 0.5,
    "rmsprop_centered": True,
    "weight_scale": 0.5,
    "bias_init": 0.1,
    "no_bias": True,
}
# options that exclude another one (the CLI refuses both at once)
EXCLUSIVE = {"lr": "lr_grid", "lr_grid": "lr", "clip_value": "clip_norm", "clip_norm": "clip_value",
             "steps": "epochs", "no_bias": "bias_init"}
# the optimizer an option is for
FOR_OPTIMIZER = {"momentum": "sgd", "nesterov": "sgd", "adam_beta1": "adam", "adam_beta2": "adam", "eps": "adam",
                 "rmsprop_alpha": "rmsprop", "rmsprop_momentum": "rmsprop", "rmsprop_centered": "rmsprop"}
GPT_ONLY = ("heads", "context", "ffn_width")  # options of --model gpt


def _parse(command: str) -> dict:
    """What the ``actlab compare`` command line parses to (click's own parser, no training)."""
    args = shlex.split(command)
    assert args[:2] == ["actlab", "compare"]
    group = typer.main.get_command(app)
    compare = group.commands["compare"]
    context = compare.make_context("compare", args[2:])
    params = dict(context.params)
    for key in ("config", "resume", "quiet", "json"):
        params.pop(key)
    return params


def test_every_option_has_a_non_default_value_here():
    assert set(NON_DEFAULT) == {option.key for option in OPTIONS}
    for option in OPTIONS:
        assert NON_DEFAULT[option.key] != option.default, option.key


@pytest.mark.parametrize("key", [option.key for option in OPTIONS])
def test_option_round_trips_through_the_reproduce_command(key):
    given = {key: NON_DEFAULT[key]}
    if key in FOR_OPTIMIZER:
        given["optimizer"] = FOR_OPTIMIZER[key]  # momentum only applies to SGD, beta1 to Adam...
    if key == "last_steps":
        given["log_every_step"] = True  # it scores the stored step losses
    if key in GPT_ONLY:
        given["model"] = "gpt"
    config = resolve_config(given)
    command = reproduce_command(config)
    again = resolve_config(_parse(command))
    assert again == config, command
    assert config_fingerprint(identity_of(again)) == config_fingerprint(identity_of(config))


def test_all_options_together_round_trip():
    given = {k: v for k, v in NON_DEFAULT.items() if k not in ("lr", "clip_norm", "epochs", "bias_init", *GPT_ONLY)
             and FOR_OPTIMIZER.get(k, "sgd") == "sgd"}
    config = resolve_config(given)
    assert resolve_config(_parse(reproduce_command(config))) == config


def test_precision_is_in_the_reproduce_command():
    """The bug issue 9 found: the stored reproduce command dropped --precision (a different fingerprint)."""
    config = resolve_config({"precision": "fp32"})
    assert "--precision fp32" in reproduce_command(config)


def test_help_shows_each_options_default_from_the_table(capsys):
    from actlab.cli import main

    assert main(["compare", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for option in OPTIONS:
        assert option.flag in text
    assert "[default: 128]" in text and "[default: adam]" in text


def test_train_options_map_to_trainconfig_fields():
    from dataclasses import fields

    from actlab.train import TrainConfig

    names = {f.name for f in fields(TrainConfig)}
    for option in OPTIONS:
        if option.train_field is not None:
            assert option.train_field in names, option.key
    options = train_options(resolve_config({"depth": 3, "precision": "fp32"}))
    config = TrainConfig(**options)
    assert config.depth == 3 and config.precision == "fp32" and config.lr == 1e-3


def test_unknown_key_suggests_the_near_miss():
    from actlab.errors import ActlabError

    with pytest.raises(ActlabError, match="did you mean batch_size"):
        resolve_config({"batch_sise": 3})
    assert set(DEFAULTS) == {option.key for option in OPTIONS}


@pytest.mark.parametrize("content", [b"\xfb\xff binary", None])
def test_a_binary_or_directory_config_file_is_a_clear_error(tmp_path, content):
    from actlab.errors import ActlabError
    from actlab.sweep import load_toml

    path = tmp_path / "g.toml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(ActlabError, match="g.toml"):
        load_toml(path)


def test_new_options_at_their_defaults_leave_the_fingerprint_alone():
    """Stores written before the step budget, the init and optimiser options existed keep their fingerprint; the
    step budget, like the epoch budget, is not part of it (a larger one extends a sweep)."""
    from actlab.sweep.options import OPTIONS as ROWS

    config = resolve_config({"dataset": "moons", "acts": ["relu"]})
    older = {k: v for k, v in identity_of(config).items()
             if not next(o for o in ROWS if o.key == k).omit_default}
    assert identity_of(config) == older
    assert "steps" not in identity_of(resolve_config({"steps": 301}))


@pytest.mark.parametrize("given, match", [
    ({"rmsprop_alpha": 0.4}, "--rmsprop-alpha is for --optimizer rmsprop; adam does not use it"),
    ({"optimizer": "sgd", "adam_beta1": 0.5}, "--adam-beta1 is for --optimizer adam"),
    ({"optimizer": "adam", "nesterov": True}, "--nesterov is for --optimizer sgd"),
    ({"epochs": 3, "steps": 10}, "--epochs or --steps, not both"),
])
def test_an_option_for_another_optimizer_or_budget_is_refused(given, match):
    from actlab.errors import ActlabError

    with pytest.raises(ActlabError, match=match):
        resolve_config(given)


def test_toml_takes_the_new_keys(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('optimizer = "rmsprop"\nrmsprop-alpha = 0.4\nsteps = 301\nreport-at = "final"\n'
                    'log-every-step = true\nno-bias = true\ninit = "torch-default"\ndepth = 0\n')
    config = resolve_config(config_file=path)
    options = train_options(config)
    assert options["rmsprop_alpha"] == 0.4 and options["steps"] == 301 and options["bias"] is False
    assert options["init"] == "torch-default" and options["depth"] == 0 and options["log_every_step"] is True


@pytest.mark.parametrize("path", sorted((__import__("pathlib").Path(__file__).parents[2] / "examples").glob("*.toml")),
                         ids=lambda p: p.name)
def test_every_example_recipe_resolves(path):
    config = resolve_config(config_file=path)
    from actlab.train import TrainConfig

    TrainConfig(**train_options(config)).validate()
