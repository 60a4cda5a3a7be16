"""The options table: every training option, in one place.

Each :class:`Option` row says its key, type, default, help text, command-line
flag, whether it is part of the sweep's fingerprint, which ``TrainConfig``
field it feeds and which training commands take it.  Everything else is derived
from the table: the defaults, the TOML loader and type checks, the flags of
``actlab compare``, ``tune``, ``diagnose``, ``boundary`` and ``selfnorm
--depth-experiment`` and their help, the reproduce command stored with every
sweep, and the trainer's config.  This module imports nothing heavy (the CLI
reads it to build ``--help``).
"""
from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from actlab.errors import ActlabError, suggest
from actlab.sweep.option_row import (  # the row type and its predicates, re-exported
    _SWEEPS,
    TRAINING_COMMANDS,
    Option,
    _adam,
    _adaptive,
    _no_grid,
    _not,
    _rmsprop,
    _sgd,
    _steps,
)
from actlab.sweep.parsing import check_type, load_toml, split_list  # split_list, load_toml re-exported

__all__ = [
    "Option",
    "OPTIONS",
    "TRAINING_COMMANDS",
    "options_for",
    "refuse_unused",
    "DEFAULTS",
    "CONFIG_KEYS",
    "IDENTITY_EXCLUDED",
    "DEFAULT_EPOCHS",
    "DEFAULT_ACTIVATIONS",
    "split_list",
    "load_toml",
    "coerce",
    "resolve_config",
    "identity_of",
    "train_options",
    "reproduce_command",
    "config_fingerprint",
    "default_out",
]

DEFAULT_EPOCHS = 20  # `make demo`'s budget: ReLU reaches > 97.5 % test accuracy (timings: docs benchmarks page)
DEFAULT_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish")
# the commands that train, each taking its training flags from the rows that name it


def _gpt(config: Mapping[str, Any]) -> bool:
    return config.get("model") == "gpt"


# the gpt's defaults where the command line and the TOML file leave them (nanoGPT's CPU recipe for
# shakespeare_char: batch 12, context 64, 2000 iterations, evaluation every 250; here every 100 for the curves)
GPT_DEFAULTS = {"dataset": "kjv", "depth": 4, "batch_size": 12, "steps": 2000, "eval_every": 100}
MATCH = ("params",)


REPORT_POINTS = ("best-val-loss", "best-val-acc", "final")  # actlab.train.config.REPORT_AT (not imported: light)


OPTIONS: tuple[Option, ...] = (
    Option("dataset", "str", "mnist", "Dataset name (actlab data list) or a CSV/npz path.",
           commands=(*_SWEEPS, "diagnose", "boundary", "selfnorm")),
    Option("target", "str", None, "Label column of a CSV file."),
    Option("subset", "int", None, "Keep N training examples (toy sets: N points in all).",
           commands=(*_SWEEPS, "diagnose")),
    Option("model", "str", "mlp", "mlp, cnn, snn (the mlp with lecun_normal init and AlphaDropout; --acts default selu), "
           "gpt (a small transformer on text; dataset kjv) or your own: FILE.py:FUNCTION or package.module:FUNCTION "
           "(it may take act_layer, input_shape, n_outputs).",
           train_field="model"),
    Option("task", "str", "auto", "auto, classify or regress: what to learn from the labels of a CSV/npz file "
           "(auto: integer labels with at most 20 values are classes).", omit_default=True),
    Option("image_size", "int", None, "Resize every image of an image folder (--dataset FOLDER, one sub-folder per "
           "class) to N×N.", omit_default=True, default_text="the images' own size (all equal)"),
    Option("depth", "int", 2, "Hidden layers (mlp; 0: a linear model, e.g. logistic regression).",
           train_field="depth", commands=(*_SWEEPS, "diagnose", "selfnorm")),
    Option("width", "int", 128, "Units per hidden layer.", train_field="width",
           commands=(*_SWEEPS, "diagnose", "selfnorm")),
    Option("heads", "int", 4, "Attention heads (gpt; --width must be a multiple).", train_field="heads",
           omit_default=True, applies=_gpt),
    Option("context", "int", None, "Characters per window (gpt).", omit_default=True, applies=_gpt, default_text="64"),
    Option("ffn_width", "int", None, "Hidden width of the gpt's feed-forward block.", train_field="ffn_width",
           omit_default=True, applies=_gpt, default_text="4·width"),
    Option("match", "str", None, "params: each arm's hidden width chosen so its parameter count is within 1 % of "
           "the first arm's (gpt FFN: 4·d plain, ≈ 8/3·d gated, as Shazeer 2020).", omit_default=True,
           default_text="every arm the same width"),
    Option("acts", "acts", list(DEFAULT_ACTIVATIONS),
           "Comma-separated activation names or formulas in x, e.g. 'relu,gelu,maximum(x, 0)'.",
           commands=(*_SWEEPS, "selfnorm")),
    Option("seeds", "int", 3, "Seeds per activation (and lr).", commands=(*_SWEEPS, "diagnose", "boundary")),
    Option("epochs", "int", DEFAULT_EPOCHS, "Epochs per run.", train_field="epochs",
           identity=False, applies=_steps,  # a larger budget extends a sweep in place (--resume --epochs N)
           commands=(*_SWEEPS, "diagnose", "boundary")),
    Option("steps", "int", None, "Budget in optimiser steps instead of --epochs (crossing epoch ends).",
           train_field="steps", omit_default=True, default_text="the --epochs budget",
           identity=False,  # as --epochs: a larger step budget extends a sweep in place (--resume --steps N)
           commands=(*_SWEEPS, "diagnose", "boundary", "selfnorm")),
    Option("eval_every", "int", 1, "Evaluate every N epochs (every N steps with --steps); the end of the budget is "
           "always evaluated.", train_field="eval_every", omit_default=True),
    Option("val_size", "int", None, "Validation examples carved from the training split (0: none; then runs report "
           "their final point and the test split is read only at the end).", omit_default=True,
           default_text="the dataset's own split"),
    Option("report_at", "str", "best-val-loss", "Which evaluation point a run reports: best-val-loss, best-val-acc "
           "or final (all three are stored).", train_field="report_at", omit_default=True),
    Option("log_every_step", "bool", False, "Store each optimiser step's training loss (actlab export writes "
           "steps.csv).", identity=False, train_field="log_every_step"),
    Option("last_steps", "int", None, "Score each run by the mean training loss of its last N steps (needs "
           "--log-every-step; MNIST-1D's score): --json lists the scores (as actlab export --last-steps).",
           identity=False),
    Option("batch_size", "int", 128, "Mini-batch size.", train_field="batch_size",
           commands=(*_SWEEPS, "diagnose", "selfnorm")),
    Option("optimizer", "str", "adam", "adam, sgd (with --momentum) or rmsprop.", train_field="optimizer",
           commands=(*_SWEEPS, "diagnose")),
    Option("lr", "float", None, "Learning rate.", train_field="lr", default_text="1e-3", applies=_no_grid,
           commands=(*_SWEEPS, "diagnose", "boundary", "selfnorm")),
    Option("lr_grid", "floats", None,
           "Comma-separated learning rates; each activation is reported at its best (by validation accuracy).",
           commands=("compare",)),  # tune searches lr
    Option("momentum", "float", 0.9, "SGD momentum.", train_field="momentum", applies=_sgd,
           applies_text="--optimizer sgd",
           commands=(*_SWEEPS, "diagnose")),
    Option("nesterov", "bool", False, "Nesterov momentum (SGD).", train_field="nesterov", applies=_sgd,
           omit_default=True, applies_text="--optimizer sgd", commands=(*_SWEEPS, "diagnose")),
    Option("adam_beta1", "float", 0.9, "Adam's beta1.", train_field="adam_beta1", applies=_adam, omit_default=True,
           applies_text="--optimizer adam", commands=(*_SWEEPS, "diagnose")),
    Option("adam_beta2", "float", 0.999, "Adam's beta2.", train_field="adam_beta2", applies=_adam,
           omit_default=True, applies_text="--optimizer adam", commands=(*_SWEEPS, "diagnose")),
    Option("eps", "float", 1e-8, "Adam's and RMSprop's epsilon.", train_field="eps", applies=_adaptive,
           omit_default=True, applies_text="--optimizer adam or rmsprop", commands=(*_SWEEPS, "diagnose")),
    Option("rmsprop_alpha", "float", 0.99, "RMSprop's smoothing constant alpha (Keras' rho).",
           train_field="rmsprop_alpha", applies=_rmsprop, omit_default=True, applies_text="--optimizer rmsprop"),
    Option("rmsprop_momentum", "float", 0.0, "RMSprop's momentum.", train_field="rmsprop_momentum",
           applies=_rmsprop, omit_default=True, applies_text="--optimizer rmsprop"),
    Option("rmsprop_centered", "bool", False, "Centered RMSprop (divide by the gradient's estimated variance).",
           train_field="rmsprop_centered", applies=_rmsprop, omit_default=True, applies_text="--optimizer rmsprop"),
    Option("weight_decay", "float", 0.0, "L2 added to the gradient.", train_field="weight_decay"),
    Option("clip_value", "float", None, "Clamp each gradient element to [-c, c].", train_field="clip_value",
           commands=(*_SWEEPS, "diagnose")),
    Option("clip_norm", "float", None, "Rescale each run's gradient to global norm ≤ c.", train_field="clip_norm",
           commands=(*_SWEEPS, "diagnose")),
    Option("dropout", "dropouts", 0.0, "Dropout after each hidden activation (AlphaDropout for SELU); cnn: "
           "two values, after the pooling and after the dense layer (0.25,0.5).", train_field="dropout",
           commands=(*_SWEEPS, "selfnorm")),
    Option("init", "str", None, "Weight init: he, glorot or lecun (each _normal or _uniform; plain: normal), "
           "torch-default (nn.Linear's U[±1/√fan_in], biases too), standard (Glorot & Bengio's U[±1/√fan_in]), "
           "nielsen (N(0, 1/fan_in), biases N(0, 1)), siren (first layer U[±1/fan_in], then U[±√(6/fan_in)/ω₀]), "
           "critical (each activation on its edge of chaos: N(0, σ_w²/fan_in) with χ₁ = 1, biases N(0, σ_b²); "
           "critical:0.05 fixes σ_b²) or auto; per activation: glorot,selu=auto.", train_field="init",
           default_text="each activation's recommended init", commands=(*_SWEEPS, "diagnose", "boundary", "selfnorm")),
    Option("weight_scale", "float", 1.0, "Gain on every initial weight.", train_field="weight_scale",
           omit_default=True, commands=(*_SWEEPS, "diagnose", "boundary")),
    Option("bias_init", "float", None, "Every bias starts at this value.", train_field="bias_init",
           omit_default=True, default_text="the init scheme's, mostly 0", commands=(*_SWEEPS, "diagnose")),
    Option("no_bias", "bool", False, "Layers without biases.", train_field="bias", to_train=_not,
           omit_default=True, negation="--bias", commands=(*_SWEEPS, "diagnose", "boundary")),
    Option("precision", "str", "auto", "Matmul precision: fp32, bf16 or auto (bf16 on CPUs with native bf16).",
           train_field="precision"),
    # measuring changes no weight and no random stream: not part of the fingerprint, so a sweep can be
    # resumed with --diagnostics (the runs trained before it have no diagnostics)
    Option("diagnostics", "bool", False,
           "Record per-layer gradient flow (speed, weight-gradient norm, dead/saturated units, activation "
           "histograms) at init and after each epoch on the first 1000 training examples.",
           identity=False, train_field="diagnostics"),
    # the engine decides where the runs train, not what they compute: resume works across engines
    Option("engine", "str", "grid", "grid (vectorised, local; also 'local'), sequential, or ray (each grid cell a "
           "Ray task; pip install 'actlab[ray]').", identity=False),
    Option("grid_size", "int", None, "At most N runs per vectorised grid (--engine ray: one grid per task, so a "
           "smaller N spreads a sweep over more tasks); like --engine, it changes the dropout masks.",
           identity=False, default_text="every run that shares the architecture"),
    Option("address", "str", None, "Ray cluster for --engine ray: auto (a running one) or ray://HEAD:10001.",
           identity=False, default_text="a new local Ray instance"),
    Option("cpus_per_task", "int", None, "CPUs (and torch threads) per Ray task (--engine ray).", identity=False,
           default_text="1"),
    Option("gpus_per_task", "float", None, "GPUs per Ray task (--engine ray; more than 0 trains on cuda).",
           identity=False, default_text="0"),
    Option("max_memory", "str", None, "Refuse a sweep whose estimated memory exceeds this size (e.g. 8G, 512M).",
           identity=False, default_text="the memory the system reports available"),
    Option("margin", "float", None, "Practical-equivalence margin of the report: points of accuracy "
           "(regression: percent of the best mean test loss).", identity=False,
           default_text="0.2 points; 5 % of the best loss"),
    Option("device", "str", "auto", "auto, cpu, cuda or mps (auto: cuda, else mps, else cpu); recorded in the store.",
           identity=False),
    Option("compile", "str", "auto", "torch.compile the grid's fused steps: auto (when the job is large enough to "
           "pay: from 1e8 steps × models × batch × width on a busy machine, 3e9 on an idle one), on or off.", identity=False),
    Option("out", "str", None, "Output directory.", identity=False,
           default_text="runs/compare-<dataset>-<model>-<hash>", commands=(*_SWEEPS, "diagnose"), short="-o"),
)
_BY_KEY = {option.key: option for option in OPTIONS}

DEFAULTS: dict[str, Any] = {option.key: option.default for option in OPTIONS}
CONFIG_KEYS = tuple(DEFAULTS)
IDENTITY_EXCLUDED = tuple(option.key for option in OPTIONS if not option.identity)


def options_for(command: str) -> tuple[Option, ...]:
    """The rows whose flags ``command`` takes (the table's order)."""
    if command not in TRAINING_COMMANDS:
        raise ActlabError(f"unknown training command {command!r}; the table serves {', '.join(TRAINING_COMMANDS)}")
    return tuple(option for option in OPTIONS if command in option.commands)


def refuse_unused(given: Mapping[str, Any], config: Mapping[str, Any], source: str = "") -> None:
    """Refuse an optimiser's own option given for an optimiser that does not use it.

    ``given``: the options given (on the command line, or in the file ``source``), whatever their value — the
    optimiser's default included; ``config``: the resolved options (its ``optimizer``).  An option is fine when
    ``given`` itself chose an optimiser that uses it (a later layer then changed the optimiser).
    """
    for key, value in given.items():
        option = _BY_KEY.get(key)
        if value is None or option is None or option.applies is None or not option.applies_text:
            continue
        chosen = {**config, "optimizer": given.get("optimizer") or config.get("optimizer")}
        if option.applies(config) or option.applies(chosen):
            continue
        where = f"{key} in {source}" if source else option.flag
        raise ActlabError(f"{where} is for {option.applies_text}; {config.get('optimizer')} does not use it")


# ---------------------------------------------------------------- parsing


def coerce(key: str, value: Any, source: str = "") -> Any:
    """Check one config value's type; a message names the key and where it came from."""
    option = _BY_KEY.get(key)
    if option is None:
        matches = suggest(key, CONFIG_KEYS)
        hint = f"; did you mean {' or '.join(matches)}?" if matches else ""
        where = f" (in {source})" if source else ""
        raise ActlabError(f"unknown config key {key!r}{where}{hint} (keys: {', '.join(CONFIG_KEYS)})")
    return check_type(key, option.type, value, source)


def resolve_config(
    options: Mapping[str, Any] | None = None,
    *,
    config_file: str | Path | None = None,
    stored: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Defaults ← stored config ← TOML file ← ``options`` (keys whose value is None are "not given").

    Checks types and key names, not values (planning does that).
    """
    config = dict(DEFAULTS)
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if stored:
        layers.append(("the stored config", stored))
    if config_file is not None:
        layers.append((str(config_file), load_toml(config_file)))
    layers.append(("", {k: v for k, v in (options or {}).items() if v is not None}))
    for source, layer in layers:
        for key, value in layer.items():
            config[key] = coerce(key, value, source)
    if config["model"] == "snn" and not any("acts" in layer for _, layer in layers):
        config["acts"] = ["selu"]  # the self-normalising net's activation unless --acts names others
    if config["model"] == "gpt":
        for key, value in GPT_DEFAULTS.items():
            if not any(layer.get(key) is not None for _, layer in layers) and not (
                    key == "steps" and any("epochs" in layer for _, layer in layers)):
                config[key] = value
    if config["lr"] is not None and config["lr_grid"] is not None:
        stored_grid = stored is not None and stored.get("lr_grid") is not None
        given_lr = (options or {}).get("lr") is not None
        if stored_grid and given_lr and (options or {}).get("lr_grid") is None:
            config["lr_grid"] = None  # an explicit --lr replaces a stored grid (it will then mismatch)
        else:
            raise ActlabError("give either --lr or --lr-grid, not both")
    if config["optimizer"] != "sgd":  # momentum is SGD's: reject it where it was given for another optimizer
        for source, layer in layers:
            if source == "the stored config" or "momentum" not in layer:
                continue
            if layer.get("optimizer", config["optimizer"]) != "sgd":
                where = f"momentum in {source}" if source else "--momentum"
                raise ActlabError(f"{where} is for --optimizer sgd; {config['optimizer']} does not use it "
                                  "(Adam's momentum is its beta1 = 0.9)")
            # this layer chose sgd, a later one another optimizer: its momentum no longer applies
            config["momentum"] = (stored or DEFAULTS).get("momentum", DEFAULTS["momentum"])
    for source, layer in layers:  # an optimiser's own option given for another optimiser: refused, not ignored
        if source != "the stored config":
            refuse_unused(layer, config, source)
    for option in OPTIONS:  # not used by the optimiser: its default, which leaves the fingerprint as it was
        if option.omit_default and option.applies_text and option.applies is not None and not option.applies(config):
            config[option.key] = option.default
    given = [layer for source, layer in layers if source != "the stored config"]
    if any("epochs" in layer for layer in given) and any(layer.get("steps") is not None for layer in given):
        raise ActlabError("give the budget as --epochs or --steps, not both")
    if config["last_steps"] is not None and (config["last_steps"] < 1 or not config["log_every_step"]):
        raise ActlabError(f"--last-steps must be at least 1, got {config['last_steps']}" if config["last_steps"] < 1
                          else "--last-steps scores the per-step training losses: add --log-every-step")
    if stored and stored.get("steps") is not None and any("epochs" in layer for layer in given) \
            and not any(layer.get("steps") is not None for layer in given):
        raise ActlabError(f"the stored sweep has a step budget ({stored['steps']} steps); give --steps to continue "
                          "or extend it, not --epochs")
    return config


def identity_of(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a config that decides the results (the options marked ``identity``; an ``omit_default``
    option only when it differs from its default)."""
    return {k: v for k, v in config.items() if k in _BY_KEY and _BY_KEY[k].identity
            and not (_BY_KEY[k].omit_default and v == _BY_KEY[k].default)}


def train_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``TrainConfig`` keyword arguments this config sets (None values left to TrainConfig's defaults)."""
    out: dict[str, Any] = {}
    for option in OPTIONS:
        if option.train_field is None:
            continue
        value = config.get(option.key)
        if option.type == "dropouts" and isinstance(value, (list, tuple)):
            out["dropout"], out["dropout_dense"] = float(value[0]), float(value[1])
        elif value is not None:  # None: the trainer's default (lr 1e-3, no clipping, each activation's init)
            out[option.train_field] = value if option.to_train is None else option.to_train(value)
    return out


def config_fingerprint(identity: Mapping[str, Any]) -> str:
    """A short stable hash of a JSON-ready mapping (sorted keys)."""
    import hashlib
    import json

    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def default_out(config: Mapping[str, Any]) -> Path:
    name = Path(str(config["dataset"])).stem.lower()
    model = str(config["model"])
    if ":" in model:  # the user's FILE.py:FUNCTION: named by its function
        model = "user-" + model.rpartition(":")[2].strip()
    return Path("runs") / f"compare-{name}-{model}-{config_fingerprint(identity_of(config))[:8]}"


def reproduce_command(config: Mapping[str, Any], *, resume: bool = False) -> str:
    """A canonical ``actlab compare`` command line that reruns ``config``: every option that is set and applies."""
    if config.get("tune"):  # a comparison at tuned settings: its actlab tune command (which resumes as it is)
        return str(config["tune"]["reproduce"])
    args = ["actlab", "compare"]
    for option in OPTIONS:
        value = config.get(option.key)
        if value is None or (option.applies is not None and not option.applies(config)):
            continue
        if option.type == "bool":  # a flag: spelled out only when on
            if value:
                args.append(option.flag)
            continue
        args.extend([option.flag, option.format(value)])
    if resume:
        args.append("--resume")
    return shlex.join(args)
