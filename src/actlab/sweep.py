"""Comparison sweeps: resolve a config, check it, train every run into the store.

The CLI (``actlab compare``) is a thin layer over this module; from Python::

    import actlab.sweep
    outcome = actlab.sweep.compare(dataset="moons", acts=["relu", "tanh"], seeds=2, epochs=3, out="runs/moons")

Config resolution, lowest priority first: built-in defaults (:data:`DEFAULTS`) →
the stored config of the output directory (only with ``resume=True``) → a TOML
file (``config_file``, same keys as the CLI options) → explicit options. The
resolved config is saved in the store with every result; the part that decides
the results (everything but ``out`` and ``engine``) is fingerprinted, and a
store that holds a different fingerprint is refused. Re-running the same config
into the same directory resumes: finished and diverged runs are skipped,
unfinished ones restart from scratch (their partial epochs are deleted).

Every problem with the config — an unknown activation, dataset or key, a bad
value, a CNN on 2-D data — raises :class:`ActlabError` in :func:`prepare`,
before any training.
"""
from __future__ import annotations

import math
import re
import os
import shlex
import signal
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import actlab
from actlab.errors import ActlabError, suggest
from actlab.store import Store, config_fingerprint, is_store

__all__ = [
    "DEFAULT_EPOCHS",
    "DEFAULT_ACTIVATIONS",
    "DEFAULTS",
    "CONFIG_KEYS",
    "IDENTITY_EXCLUDED",
    "Plan",
    "Outcome",
    "split_list",
    "load_toml",
    "resolve_config",
    "prepare",
    "run_sweep",
    "compare",
    "reproduce_command",
    "default_out",
]

DEFAULT_EPOCHS = 20  # `make demo`: about 80 s for 27 runs on the 2-core CPU (bf16 grid); ReLU > 97.5 %
DEFAULT_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish")

# every key a config may hold (TOML or CLI), with its default
DEFAULTS: dict[str, Any] = {
    "dataset": "mnist",
    "target": None,  # label column of a CSV file
    "subset": None,  # keep N training examples (toy sets: N points in all)
    "model": "mlp",
    "depth": 2,
    "width": 128,
    "acts": list(DEFAULT_ACTIVATIONS),
    "seeds": 3,
    "epochs": DEFAULT_EPOCHS,
    "batch_size": 128,
    "optimizer": "adam",
    "lr": None,  # None: the TrainConfig default (1e-3)
    "lr_grid": None,  # a list of learning rates; each activation gets its best one
    "momentum": 0.9,
    "weight_decay": 0.0,
    "clip_value": None,
    "clip_norm": None,
    "dropout": 0.0,
    "init": None,  # None: the framework default
    "engine": "grid",
    "precision": "auto",  # matmul precision: fp32, bf16, or auto (bf16 where the CPU has native bf16)
    "out": None,  # None: runs/compare-<dataset>-<model>-<fingerprint>
}
CONFIG_KEYS = tuple(DEFAULTS)
# keys that do not change the results (a resume may change them)
IDENTITY_EXCLUDED = ("out", "engine")

_INT_KEYS = ("subset", "depth", "width", "seeds", "epochs", "batch_size")
_FLOAT_KEYS = ("lr", "momentum", "weight_decay", "clip_value", "clip_norm", "dropout")
_STR_KEYS = ("dataset", "target", "model", "optimizer", "init", "engine", "precision", "out")


# ---------------------------------------------------------------- parsing
def split_list(text: str) -> list[str]:
    """Split a comma-separated list at parenthesis depth 0: formulas keep their commas.

    >>> split_list("relu, maximum(x, 0),gelu")
    ['relu', 'maximum(x, 0)', 'gelu']
    """
    items, depth, current = [], 0, []
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                raise ActlabError(f"unbalanced ')' in activation list {text!r}")
        if char == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if depth != 0:
        raise ActlabError(f"unbalanced '(' in activation list {text!r}")
    items.append("".join(current).strip())
    if any(not item for item in items):
        raise ActlabError(f"empty item in activation list {text!r}")
    return items


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a run config (flat keys, same names as the CLI options; '-' or '_')."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ActlabError(f"config file {path} not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ActlabError(f"config file {path} is not valid TOML: {error}") from None
    except OSError as error:
        raise ActlabError(f"cannot read config file {path}: {error}") from None
    return {key.replace("-", "_"): value for key, value in raw.items()}


def _coerce(key: str, value: Any, source: str) -> Any:
    """Check one config value's type; a message names the key and where it came from."""
    where = f" (in {source})" if source else ""
    if key not in DEFAULTS:
        matches = suggest(key, CONFIG_KEYS)
        hint = f"; did you mean {' or '.join(matches)}?" if matches else ""
        raise ActlabError(f"unknown config key {key!r}{where}{hint} (keys: {', '.join(CONFIG_KEYS)})")
    if value is None:
        return None
    if key in _INT_KEYS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ActlabError(f"{key} must be a whole number{where}, got {value!r}")
        return int(value)
    if key in _FLOAT_KEYS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ActlabError(f"{key} must be a number{where}, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ActlabError(f"{key} must be finite{where}, got {value!r}")
        return value
    if key in _STR_KEYS:
        if not isinstance(value, (str, os.PathLike)):
            raise ActlabError(f"{key} must be a string{where}, got {value!r}")
        return os.fspath(value)
    if key == "acts":
        if isinstance(value, str):
            return split_list(value)
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
            return [v.strip() for v in value]
        raise ActlabError(f"acts must be a list of activation names or formulas{where}, got {value!r}")
    if key == "lr_grid":
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",")]
        if not isinstance(value, (list, tuple)) or not value:
            raise ActlabError(f"lr_grid must be a list of learning rates{where}, got {value!r}")
        rates = []
        for item in value:
            try:
                rate = float(item)
            except (TypeError, ValueError):
                raise ActlabError(f"lr_grid: {item!r} is not a number{where}") from None
            if not (math.isfinite(rate) and rate > 0):
                raise ActlabError(f"lr_grid: learning rates must be positive, got {item!r}{where}")
            rates.append(rate)
        if len(set(rates)) != len(rates):
            raise ActlabError(f"lr_grid lists a learning rate twice{where}: {value!r}")
        return rates
    raise AssertionError(key)  # pragma: no cover


def resolve_config(
    options: Mapping[str, Any] | None = None,
    *,
    config_file: str | Path | None = None,
    stored: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Defaults ← stored config ← TOML file ← ``options`` (keys whose value is None are "not given").

    Checks types and key names, not values (:func:`prepare` does that).
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
            config[key] = _coerce(key, value, source)
    if config["model"] == "snn" and not any("acts" in layer for _, layer in layers):
        config["acts"] = ["selu"]  # the self-normalising net's activation unless --acts names others
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
    return config


def identity_of(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a config that decides the results."""
    return {k: v for k, v in config.items() if k not in IDENTITY_EXCLUDED}


def default_out(config: Mapping[str, Any]) -> Path:
    name = Path(str(config["dataset"])).stem.lower()
    return Path("runs") / f"compare-{name}-{config['model']}-{config_fingerprint(identity_of(config))[:8]}"


def reproduce_command(config: Mapping[str, Any], *, resume: bool = False) -> str:
    """A canonical ``actlab compare`` command line that reruns ``config``."""
    args = ["actlab", "compare"]

    def add(option: str, value: Any) -> None:
        args.extend([option, str(value)])

    add("--dataset", config["dataset"])
    if config.get("target") is not None:
        add("--target", config["target"])
    if config.get("subset") is not None:
        add("--subset", config["subset"])
    add("--model", config["model"])
    add("--depth", config["depth"])
    add("--width", config["width"])
    add("--acts", ",".join(config["acts"]))
    add("--seeds", config["seeds"])
    add("--epochs", config["epochs"])
    add("--batch-size", config["batch_size"])
    add("--optimizer", config["optimizer"])
    if config.get("lr_grid") is not None:
        add("--lr-grid", ",".join(f"{rate:g}" for rate in config["lr_grid"]))
    elif config.get("lr") is not None:
        add("--lr", f"{config['lr']:g}")
    if config["optimizer"] == "sgd":
        add("--momentum", f"{config['momentum']:g}")
    if config.get("weight_decay"):
        add("--weight-decay", f"{config['weight_decay']:g}")
    if config.get("clip_value") is not None:
        add("--clip-value", f"{config['clip_value']:g}")
    if config.get("clip_norm") is not None:
        add("--clip-norm", f"{config['clip_norm']:g}")
    if config.get("dropout"):
        add("--dropout", f"{config['dropout']:g}")
    if config.get("init") is not None:
        add("--init", config["init"])
    if config.get("engine") and config["engine"] != DEFAULTS["engine"]:
        add("--engine", config["engine"])
    if config.get("out") is not None:
        add("--out", config["out"])
    if resume:
        args.append("--resume")
    return shlex.join(args)


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
        label = spec.name if spec.source == "catalog" else text.strip()
        if label in seen:
            raise ActlabError(f"activation {text!r} is listed twice (as {seen[label]!r} too)")
        seen[label] = text
        result.append(Activation(text=text.strip(), label=label, spec=spec))
    return result


def _load_dataset(config: Mapping[str, Any]) -> Any:
    from actlab import data
    from actlab.data.files import load_file, looks_like_path
    from actlab.data.registry import options_of

    name = config["dataset"]
    if name.lower() in data.names():
        valid = data.info(name).options()
    elif looks_like_path(name):
        if not Path(name).is_file():
            raise ActlabError(f"dataset file {name} not found")
        valid = options_of(load_file)
    else:
        data.info(name)  # raises UnknownNameError with suggestions
        valid = {}
    options: dict[str, Any] = {}
    if config.get("target") is not None:
        if "target" not in valid:
            raise ActlabError(f"--target only applies to CSV/npz files, not dataset {name!r}")
        options["target"] = config["target"]
    if config.get("subset") is not None:
        if "subset" in valid:
            options["subset"] = config["subset"]
        elif "n" in valid:
            options["n"] = config["subset"]
        else:
            raise ActlabError(f"--subset does not apply to dataset {name!r}")
    if config["model"] == "cnn" and "flatten" in valid:
        options["flatten"] = False
    return data.load(name, **options)


def prepare(config: Mapping[str, Any]) -> Plan:
    """Check everything and build the run list. Raises ActlabError; trains nothing."""
    from actlab.train import RunSpec, TrainConfig

    config = dict(config)
    for key in ("seeds", "epochs", "depth", "width", "batch_size"):
        if config[key] is not None and config[key] < 1:
            raise ActlabError(f"{key.replace('_', '-')} must be at least 1, got {config[key]}")
    if config["subset"] is not None and config["subset"] < 1:
        raise ActlabError(f"subset must be at least 1, got {config['subset']}")
    from actlab.train import ENGINES

    if config["engine"] not in ENGINES:
        raise ActlabError(f"engine must be one of {', '.join(ENGINES)}, got {config['engine']!r}")
    if config["clip_value"] is not None and config["clip_norm"] is not None:
        raise ActlabError("give either --clip-value or --clip-norm, not both")
    activations = _resolve_activations(config["acts"])
    from actlab import data

    if config["dataset"].lower() in data.names():
        config["dataset"] = config["dataset"].lower()
    train_options: dict[str, Any] = {
        key: config[key]
        for key in (
            "model", "depth", "width", "epochs", "batch_size", "optimizer", "momentum",
            "weight_decay", "clip_value", "clip_norm", "dropout", "init", "precision",
        )
    }
    if config["lr"] is not None:
        train_options["lr"] = config["lr"]
    try:
        train_config = TrainConfig(**train_options)
    except TypeError as error:  # a field the engine does not know
        raise ActlabError(f"bad training option: {error}") from None
    train_config.validate()
    from actlab.models import resolve_activation

    for activation in activations:  # what the engine would reject for this model, rejected now
        resolve_activation(activation.spec.name if activation.spec.source == "catalog" else activation.text,
                           {}, config["model"])
    dataset = _load_dataset(config)
    train_config.validate(dataset)

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
    fingerprint = config_fingerprint(identity_of(config))
    out = Path(config["out"]) if config["out"] is not None else default_out(config)
    config["out"] = str(out)
    config["lr_resolved"] = train_config.lr  # what --lr defaulted to
    config["precision_resolved"] = train_config.resolved_precision()  # what "auto" chose on this machine
    config["task"] = dataset.task  # for the report (not part of the fingerprint)
    return Plan(config, out, dataset, train_config, activations, runs, rows, fingerprint)


# ---------------------------------------------------------------- running
@dataclass
class Outcome:
    """What a sweep did: where, how many runs ended, whether it was interrupted."""

    out: Path
    total: int
    finished: int  # runs that ended (finished or diverged), including earlier sessions
    diverged: list[str] = field(default_factory=list)  # run ids
    trained: int = 0  # runs trained in this session
    skipped: int = 0  # runs already done before this session
    interrupted: bool = False
    seconds: float = 0.0
    resume_command: str = ""


class _StopFlag:
    def __init__(self, should_stop: Callable[[], bool] | None) -> None:
        self.set = False
        self._user = should_stop

    def __call__(self) -> bool:
        if not self.set and self._user is not None and self._user():
            self.set = True
        return self.set


@contextmanager
def _sigint_stops(flag: _StopFlag) -> Iterator[None]:
    """While training, the first Ctrl-C asks the engine to stop; a second one raises."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if flag.set:
            raise KeyboardInterrupt
        flag.set = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def open_store(plan: Plan, *, command: str) -> Store:
    """Open (or create) the plan's store and register its sweep and runs."""
    store = Store(plan.out)
    try:
        store.init_sweep(
            plan.config,
            plan.fingerprint,
            command=command,
            reproduce=reproduce_command(plan.config),
        )
        store.add_runs(plan.rows)
    except BaseException:
        store.close()
        raise
    return store


def run_sweep(
    plan: Plan,
    *,
    command: str | None = None,
    on_event: Callable[[Any], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: str = "cpu",
    handle_sigint: bool = True,
) -> Outcome:
    """Train every run of ``plan`` that the store does not hold yet; record each epoch as it ends.

    ``on_event`` sees every engine event after it is stored. Ctrl-C (with
    ``handle_sigint``) or ``should_stop()`` returning True stops the engine at
    its next check; what finished stays committed and ``Outcome.interrupted``
    is True.
    """
    from actlab.train import EpochEnd, RunDiverged, RunEnd, train_runs

    command = command or reproduce_command(plan.config)
    started = time.monotonic()
    flag = _StopFlag(should_stop)
    store = open_store(plan, command=command)
    try:
        todo_ids = set(store.reset_unfinished([row["run_id"] for row in plan.rows]))
        todo = [run for run in plan.runs if run.run_id in todo_ids]
        outcome = Outcome(out=plan.out, total=len(plan.runs), finished=0, skipped=len(plan.runs) - len(todo))
        outcome.resume_command = reproduce_command(plan.config, resume=True)

        def record(event: Any, notify: bool = True) -> None:
            if isinstance(event, EpochEnd):
                store.record_epoch(
                    event.run_id, event.epoch, event.step, event.train_loss,
                    event.val_loss, event.val_accuracy, event.seconds,
                )
            elif isinstance(event, RunDiverged):
                store.record_diverged(event.run_id, event.epoch, event.step, event.reason)
            elif isinstance(event, RunEnd):
                store.record_end(
                    event.run_id,
                    best_epoch=event.best_epoch,
                    test_loss=event.test_loss,
                    test_accuracy=event.test_accuracy,
                    val_loss=event.val_loss,
                    val_accuracy=event.val_accuracy,
                    seconds_per_epoch=event.seconds_per_epoch,
                )
            if notify and on_event is not None:
                on_event(event)

        results: dict[str, Any] = {}
        if todo:
            store.mark_running([run.run_id for run in todo])
            guard = _sigint_stops(flag) if handle_sigint else _nothing()
            try:
                with guard:
                    results = train_runs(
                        plan.dataset, plan.train_config, todo,
                        engine=plan.config["engine"], on_event=record, should_stop=flag, device=device,
                    ) or {}
            except KeyboardInterrupt:
                flag.set = True
            # the engine's return value is the record of truth; replaying is idempotent
            for result in results.values():
                if isinstance(result, (RunEnd, RunDiverged)):
                    record(result, notify=False)
        outcome.seconds = time.monotonic() - started
        store.add_wall_time(outcome.seconds)
        counts = store.status_counts()
        outcome.finished = counts["finished"] + counts["diverged"]
        outcome.diverged = [run.run_id for run in store.runs("diverged")]
        outcome.trained = sum(1 for r in results.values() if isinstance(r, (RunEnd, RunDiverged)))
        outcome.interrupted = flag.set or outcome.finished < outcome.total
    finally:
        store.close()
    return outcome


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def compare(
    options: Mapping[str, Any] | None = None,
    *,
    config_file: str | Path | None = None,
    resume: bool = False,
    report: bool = True,
    on_event: Callable[[Any], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    command: str | None = None,
    **keywords: Any,
) -> Outcome:
    """Resolve, check, train into the store and write the report. The Python face of ``actlab compare``.

    Options are the config keys (:data:`DEFAULTS`), as a mapping or keywords.
    """
    merged = {**(options or {}), **keywords}
    plan = plan_from_options(merged, config_file=config_file, resume=resume)
    outcome = run_sweep(plan, command=command, on_event=on_event, should_stop=should_stop)
    if report and not outcome.interrupted:
        from actlab.report import write_report

        write_report(plan.out)
    return outcome


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
        with Store(out, create=False) as store:
            sweep = store.sweep()
        if sweep is not None:
            stored = {k: v for k, v in sweep["config"].items() if k in DEFAULTS}
    config = resolve_config(options, config_file=config_file, stored=stored)
    plan = prepare(config)
    if is_store(plan.out):
        with Store(plan.out, create=False) as store:
            sweep = store.sweep()
        if sweep is not None and sweep["fingerprint"] != plan.fingerprint:
            changed = _differences(sweep["config"], plan.config)
            raise ActlabError(
                f"{plan.out} already holds a sweep with a different config ({changed}); "
                "use another --out or the same options (--resume reuses the stored ones)"
            )
    return plan


def _differences(stored: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    keys = [k for k in DEFAULTS if k not in IDENTITY_EXCLUDED and stored.get(k) != config.get(k)]
    return ", ".join(f"{k}: {stored.get(k)!r} there, {config.get(k)!r} now" for k in keys) or "different fingerprint"
