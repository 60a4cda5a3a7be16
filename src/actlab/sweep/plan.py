"""Planning a sweep: the resolved config checked and turned into runs (nothing trained, nothing stored).

Every problem with the config — an unknown activation, dataset or key, a bad
value, a CNN on 2-D data — raises :class:`ActlabError` here, before any training.
A store in the output directory that holds a different fingerprint is refused.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import actlab
from actlab.errors import ActlabError, suggest
from actlab.store import Store, is_store
from actlab.sweep import budget
from actlab.sweep.dataset import load_dataset
from actlab.sweep.options import (
    DEFAULTS,
    IDENTITY_EXCLUDED,
    config_fingerprint,
    default_out,
    identity_of,
    resolve_config,
    train_options,
)


# --------------------------------------------------------------- planning
@dataclass(frozen=True)
class Activation:
    """One compared activation: what the user typed, the name the report uses, its spec."""

    text: str
    label: str
    spec: actlab.ActivationSpec


@dataclass
class Plan:
    """A checked sweep, ready to train: nothing here has touched the store yet."""

    config: dict[str, Any]
    out: Path
    dataset: Any  # actlab.data.Dataset
    train_config: Any  # actlab.train.TrainConfig
    activations: list[Activation]
    runs: list[Any]  # actlab.train.RunSpec
    rows: list[dict[str, Any]]  # what the store registers for each run
    fingerprint: str
    # label → that activation's own TrainConfig (actlab tune: each at its best settings); empty: all share train_config
    configs: dict[str, Any] = field(default_factory=dict)

    def parts(self) -> list[Plan]:
        """The plan as trainings that each share one TrainConfig: itself, or one per activation (``configs``)."""
        if not self.configs:
            return [self]
        parts = []
        for activation in self.activations:
            keep = [i for i, row in enumerate(self.rows) if row["label"] == activation.label]
            parts.append(replace(self, train_config=self.configs.get(activation.label, self.train_config),
                                 activations=[activation], runs=[self.runs[i] for i in keep],
                                 rows=[self.rows[i] for i in keep], configs={}))
        return parts

    @property
    def eval_points(self) -> int:
        """Evaluation points per run (epoch rows in the store): ``epochs`` with the default cadence; with a step
        budget the number of evaluations (the label of the last one, either way)."""
        from actlab.train.driver import Budget

        budget = Budget.from_config(self.train_config, len(self.dataset.x_train))
        return budget.label(budget.total_steps)

    @property
    def labels(self) -> dict[str, str]:
        """run_id → activation label."""
        return {row["run_id"]: row["label"] for row in self.rows}


def _resolve_activations(items: Sequence[str]) -> list[Activation]:
    if not items:
        raise ActlabError("no activations to compare (--acts is empty)")
    result: list[Activation] = []
    seen: dict[str, str] = {}
    for text in items:
        try:
            spec = actlab.get(text)  # unknown names raise UnknownNameError with suggestions
        except actlab.FormulaError as error:
            if "unbound name" not in str(error):
                raise
            unbound = re.search(r"unbound name '(\w+)'", str(error))
            param = unbound.group(1) if unbound else "NAME"
            raise actlab.FormulaError(
                f"{error.args[0].split(';')[0]} in --acts item {text.strip()!r}; compare has no --param: name the "
                f"formula with its parameter values first (actlab define my_act \"{text.strip()}\" --param {param}=VALUE "
                f"--save, then --acts my_act)"
            ) from None
        if spec.source == "formula":  # training runs in float32: a constant beyond its range would be inf there
            from actlab.formula import float32_problem

            problem = float32_problem(spec)
            if problem:
                raise ActlabError(f"--acts item {text.strip()!r}: {problem}")
        label = spec.name if spec.source == "catalog" else text.strip()
        if label in seen:
            raise ActlabError(f"activation {text!r} is listed twice (as {seen[label]!r} too)")
        seen[label] = text
        result.append(Activation(text=text.strip(), label=label, spec=spec))
    return result


def _check_ray(config: Mapping[str, Any]) -> None:
    from actlab.sweep.ray_engine import import_ray

    import_ray()  # not installed: exit 2 with the install command, before anything is stored
    if config.get("cpus_per_task") is not None and config["cpus_per_task"] < 1:
        raise ActlabError(f"cpus-per-task must be at least 1, got {config['cpus_per_task']}")
    if config.get("gpus_per_task") is not None and config["gpus_per_task"] < 0:
        raise ActlabError(f"gpus-per-task must be 0 or more, got {config['gpus_per_task']}")


def _check_budget(config: Mapping[str, Any], dataset: Any, activations: list[Activation], runs: int, out: Path,
                  max_memory: int | None) -> None:
    from actlab.models import output_units

    numel = sum(int(t.numel()) for t in (dataset.x_train, dataset.x_val, dataset.x_test))
    divisor = max(activation.spec.width_divisor for activation in activations)
    found = budget.estimate(config, input_shape=dataset.input_shape,
                            num_outputs=output_units(dataset.task, dataset.num_classes, tuple(dataset.y_train.shape)),
                            dataset_numel=numel, runs=runs, width_divisor=divisor)
    budget.check(found, out=out, max_memory=max_memory)


def _check_gpt_options(config: Mapping[str, Any]) -> None:
    from actlab.sweep.options import DEFAULTS, MATCH

    if config.get("match") is not None and config["match"] not in MATCH:
        near = suggest(str(config["match"]), MATCH, n=1)
        raise ActlabError(f"unknown --match {config['match']!r}; choose {', '.join(MATCH)}"
                          + (f" (did you mean {near[0]}?)" if near else ""))
    if config["model"] != "gpt":
        for key in ("heads", "context", "ffn_width"):
            if config.get(key) != DEFAULTS[key]:
                raise ActlabError(f"--{key.replace('_', '-')} is for --model gpt, not {config['model']}")
    for key in ("heads", "context", "ffn_width"):
        if config.get(key) is not None and config[key] < (2 if key == "context" else 1):
            raise ActlabError(f"--{key.replace('_', '-')} must be at least {2 if key == 'context' else 1}, "
                              f"got {config[key]}")


def plan_sweep(config: Mapping[str, Any]) -> Plan:
    """Check everything and build the run list. Raises ActlabError; trains nothing."""
    from actlab.train import RunSpec, TrainConfig

    config = dict(config)
    for key in ("seeds", "epochs", "width", "batch_size", "grid_size", "steps", "eval_every"):
        if config.get(key) is not None and config[key] < 1:
            raise ActlabError(f"{key.replace('_', '-')} must be at least 1, got {config[key]}")
    for key in ("depth", "val_size"):
        if config.get(key) is not None and config[key] < 0:
            raise ActlabError(f"{key.replace('_', '-')} must be at least 0, got {config[key]}")
    if config["depth"] == 0 and config["model"] == "cnn":
        raise ActlabError("--depth 0 (a linear model) is for the mlp; the cnn's layers are fixed")
    from actlab.sweep.options import REPORT_POINTS

    if config["report_at"] not in REPORT_POINTS:
        near = suggest(str(config["report_at"]), REPORT_POINTS, n=1)
        raise ActlabError(f"unknown --report-at {config['report_at']!r}; choose one of {', '.join(REPORT_POINTS)}"
                          + (f" (did you mean {near[0]}?)" if near else ""))
    if config.get("val_size") == 0 and config["report_at"] != "final":
        raise ActlabError(f"--val-size 0 leaves no validation split, so there is no {config['report_at']} point: "
                          "add --report-at final (each run reports its last evaluation; the test split is read "
                          "only at the end)")
    if config.get("weight_scale") is not None and not config["weight_scale"] > 0:
        raise ActlabError(f"--weight-scale must be a number > 0, got {config['weight_scale']}")
    if config.get("no_bias") and config.get("bias_init") is not None:
        raise ActlabError("--bias-init sets the biases, but --no-bias removes them: give one of the two")
    for key in ("adam_beta1", "adam_beta2", "rmsprop_alpha", "rmsprop_momentum"):
        if not 0 <= config[key] < 1:
            raise ActlabError(f"--{key.replace('_', '-')} must be in [0, 1), got {config[key]}")
    if not config["eps"] > 0:
        raise ActlabError(f"--eps must be a number > 0, got {config['eps']}")
    if config.get("nesterov") and not config["momentum"] > 0:
        raise ActlabError("--nesterov needs a --momentum > 0")
    if config["subset"] is not None and config["subset"] < 1:
        raise ActlabError(f"subset must be at least 1, got {config['subset']}")
    if config.get("margin") is not None and not config["margin"] >= 0:
        raise ActlabError(f"margin must be a number >= 0 (points of accuracy; % of the best loss), got {config['margin']}")
    from actlab.compile_policy import COMPILE_MODES, DEVICES

    for key, choices in (("compile", COMPILE_MODES), ("device", DEVICES)):  # before anything is trained or shown
        value = config.get(key)
        if value is not None and value not in choices:
            near = suggest(str(value), choices, n=1)
            raise ActlabError(f"unknown {key} {value!r}; choose one of {', '.join(choices)}"
                              + (f" (did you mean {near[0]}?)" if near else ""))
    from actlab.train import ENGINES

    if config["engine"] == "local":
        config["engine"] = "grid"
    if config["engine"] not in (*ENGINES, "ray"):
        raise ActlabError(f"engine must be one of {', '.join(ENGINES)}, ray, got {config['engine']!r}")
    if config["engine"] == "ray":
        _check_ray(config)
    for key, least in (("cpus_per_task", 1), ("gpus_per_task", 0)):  # refused whatever the engine
        if config.get(key) is not None and config[key] < least:
            raise ActlabError(f"{key.replace('_', '-')} must be at least {least}, got {config[key]}")
    if config.get("out") is not None and not str(config["out"]).strip():
        raise ActlabError("--out is an empty path; give a directory")
    if config["clip_value"] is not None and config["clip_norm"] is not None:
        raise ActlabError("give either --clip-value or --clip-norm, not both")
    activations = _resolve_activations(config["acts"])
    from actlab import data

    if config["dataset"].lower() in data.names():
        config["dataset"] = config["dataset"].lower()
    from actlab.sweep.usermodel import is_user_model, task_option, user_identity, user_train_options

    task_option(config)  # an unknown --task is named before anything loads
    user = is_user_model(config)
    options = user_train_options(config, train_options(config))
    _check_gpt_options(config)
    if config.get("match") is not None:
        options["match_to"] = activations[0].spec.name if activations[0].spec.source == "catalog" else activations[0].text
    try:
        train_config = TrainConfig(**options)
    except TypeError as error:  # a field the engine does not know
        raise ActlabError(f"bad training option: {error}") from None
    train_config.validate()
    from actlab.models import resolve_activation
    from actlab.train.metrics import baseline_of

    for activation in activations:  # what the engine would reject for this model, rejected now
        resolve_activation(activation.spec.name if activation.spec.source == "catalog" else activation.text,
                           {}, train_config.model)
    rates_count = len(config["lr_grid"]) if config["lr_grid"] is not None else 1
    budget.check_run_count(len(activations) * rates_count * config["seeds"])
    max_memory = budget.parse_size(config.get("max_memory"))
    dataset = load_dataset(config)
    train_config.validate(dataset)
    if user:
        from actlab.sweep.usermodel import check_user_model

        config["model_note"] = check_user_model(config, train_config, dataset, activations[0].spec)
    out = Path(config["out"]) if config["out"] is not None else default_out(config)
    _check_budget(config, dataset, activations, len(activations) * rates_count * config["seeds"], out, max_memory)

    rates: list[float | None] = list(config["lr_grid"]) if config["lr_grid"] is not None else [None]
    runs, rows = [], []
    for activation in activations:
        for rate in rates:
            for seed in range(config["seeds"]):
                run = RunSpec(activation=activation.text if activation.spec.source != "catalog" else activation.spec.name,
                              seed=seed, lr=rate)
                runs.append(run)
                rows.append({
                    "run_id": run.run_id,
                    "activation": run.activation,
                    "label": activation.label,
                    "params": dict(run.params),
                    "seed": seed,
                    "lr": rate if rate is not None else train_config.lr,
                    "spec": run.to_dict(),
                })
    if len({row["run_id"] for row in rows}) != len(rows):
        raise ActlabError("two runs of this sweep share a run id; list each activation once")
    fingerprint = config_fingerprint({**identity_of(config), **user_identity(config)})
    if user:
        config["model_source"] = user_identity(config)  # recorded with the sweep (the fingerprint holds it too)
    config["out"] = str(out)
    config["lr_resolved"] = train_config.lr  # what --lr defaulted to
    config["precision_resolved"] = train_config.resolved_precision()  # what "auto" chose on this machine
    # for the report (not part of the fingerprint); text is ranked by its loss (bits per character)
    config["dataset_task"] = "language-model" if dataset.extra.get("kind") == "text" else dataset.task
    config["baseline"] = baseline_of(dataset)  # chance level and constant-prediction loss, for the report (idem)
    return Plan(config, out, dataset, train_config, activations, runs, rows, fingerprint)


def plan_from_options(
    options: Mapping[str, Any], *, config_file: str | Path | None = None, resume: bool = False
) -> Plan:
    """resolve_config + prepare, reading the stored config of ``out`` when resuming."""
    stored = None
    out = options.get("out")
    if out is not None and not str(out).strip():
        raise ActlabError("--out: empty directory path")
    if resume and out is not None and not is_store(out):
        raise ActlabError(f"{out} holds no sweep to resume; run without --resume to start one there")
    if resume and out is not None and is_store(out):
        with Store(out, readonly=True) as store:
            sweep = store.sweep()
        if sweep is None:  # a store whose first write failed (a full disk): nothing to resume, never the defaults
            raise ActlabError(f"{out} holds no sweep to resume; run without --resume to start one there")
        stored = {k: v for k, v in sweep["config"].items() if k in DEFAULTS}
        if stored.get("task") in ("classification", "regression", "language-model"):  # the dataset's task, recorded for the report
            del stored["task"]
    config = resolve_config(options, config_file=config_file, stored=stored)
    plan = plan_sweep(config)
    if is_store(plan.out):
        with Store(plan.out, create=False) as store:
            sweep = store.sweep()
        legacy = () if sweep is None else legacy_fingerprints(plan.config, sweep["config"])
        if sweep is not None and sweep["fingerprint"] not in (plan.fingerprint, *legacy):
            changed = _differences(sweep["config"], plan.config)
            before, now = sweep["config"].get("model_source"), plan.config.get("model_source")
            if changed == "different fingerprint" and before and now and before != now:
                changed = f"the model's code changed since it was stored (SHA-256 {before.get('model_sha256', '')[:12]} " \
                          f"there, {now.get('model_sha256', '')[:12]} now)"
            raise ActlabError(
                f"{plan.out} already holds a sweep with a different config ({changed}); "
                "use another --out or the same options (--resume reuses the stored ones)"
            )
        if sweep is not None:
            _check_budget_change(plan, sweep["config"])
    return plan


def _check_budget_change(plan: Plan, stored: Mapping[str, Any]) -> None:
    """A budget may grow (the runs continue from their checkpoints), never shrink or change its kind."""
    steps, stored_steps = plan.config.get("steps"), stored.get("steps")
    if (steps is None) != (stored_steps is None):
        kind, other = ("an epoch", "--epochs") if stored_steps is None else ("a step", "--steps")
        raise ActlabError(f"{plan.out} holds a sweep with {kind} budget; give {other} to continue or extend it "
                          "(or another --out)")
    if steps is not None:
        if steps < stored_steps:
            raise ActlabError(f"{plan.out} holds a sweep of {stored_steps} steps; --steps {steps} would shorten it "
                              f"(a sweep can be extended, not shortened: give --steps {stored_steps} or more, or "
                              "another --out)")
        every = int(plan.config.get("eval_every") or 1)
        if steps > stored_steps and stored_steps % every:
            raise ActlabError(f"{plan.out} holds a sweep of {stored_steps} steps, not a multiple of --eval-every "
                              f"{every}: its last evaluation is off the longer budget's evaluation points, so it "
                              "cannot be extended (use another --out)")
        return
    stored_epochs = stored.get("epochs")
    if stored_epochs is not None and plan.config["epochs"] < stored_epochs:
        raise ActlabError(
            f"{plan.out} holds a sweep of {stored_epochs} epochs; --epochs {plan.config['epochs']} would shorten it "
            f"(a sweep can be extended, not shortened: give --epochs {stored_epochs} or more, or another --out)"
        )


def legacy_fingerprint(config: Mapping[str, Any], stored_epochs: Any) -> str:
    """The fingerprint stores written before the epoch budget left the identity have (epochs included)."""
    return config_fingerprint({**identity_of(config), "epochs": stored_epochs})


def legacy_fingerprints(config: Mapping[str, Any], stored: Mapping[str, Any]) -> tuple[str, ...]:
    """The fingerprints a store of ``config``'s results may have been written with: before the epoch budget left
    the identity (epochs included), and before the step budget did (a step sweep: steps included)."""
    found = [legacy_fingerprint(config, stored.get("epochs"))]
    if stored.get("steps") is not None:
        found.append(config_fingerprint({**identity_of(config), "steps": stored["steps"]}))
    return tuple(found)


def _differences(stored: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    keys = [k for k in DEFAULTS if k not in IDENTITY_EXCLUDED and stored.get(k) != config.get(k)]
    return ", ".join(f"{k}: {stored.get(k)!r} there, {config.get(k)!r} now" for k in keys) or "different fingerprint"
