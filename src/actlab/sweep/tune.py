"""``actlab tune``: search each activation's settings with Optuna, then compare them each at its best.

1. One Optuna study per activation (:mod:`actlab.sweep.studies`: TPE sampler with a fixed
   seed, median pruning on the validation accuracy after each epoch, storage in
   ``RUN_DIR/optuna.sqlite``).  Each trial trains one run (seed 0) through the engine
   ``compare`` uses (:func:`actlab.train.train_runs`, the vectorised grid engine) at the
   settings the sampler suggests for the searched options (:mod:`actlab.sweep.space`); the
   other options are fixed, as ``compare`` takes them.  The objective is the validation
   accuracy at the run's best-validation-loss epoch (regression: that validation loss).
2. The comparison: every activation at its best trial's settings with ``seeds`` seeds, into
   ``RUN_DIR/results.sqlite`` like ``compare`` — one plan whose activations each carry their
   own training config (:attr:`actlab.sweep.plan.Plan.configs`), run by
   :func:`actlab.sweep.run.run_sweep` (lock, checkpoints, resume, stop, the engine dispatch).
   The store's config keeps the search (``config["tune"]``: space, settings, trial counts,
   importance), which the report's tuning section shows.

Re-running the same command resumes: studies continue up to ``trials`` counted trials
(finished + pruned; a trial a kill interrupted is tried again with the same settings), then
the comparison resumes from its checkpoints.
"""
from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actlab.errors import ActlabError
from actlab.store import Store, is_store
from actlab.sweep.options import config_fingerprint, identity_of, reproduce_command, resolve_config, train_options
from actlab.sweep.plan import Plan, _differences, plan_sweep
from actlab.sweep.space import Dimension, check_fixed, corners, format_space, parse_space, sample

__all__ = ["TrialEnd", "TuneOutcome", "tune", "ENGINES", "PRUNERS", "TRIAL_SEED"]

ENGINES = {"local": "grid", "ray": "ray"}  # tune's --engine → the comparison's engine (compare's dispatch)
PRUNERS = ("median", "none")
TRIAL_SEED = 0  # each trial trains one run with this seed


@dataclass(frozen=True)
class TrialEnd:
    """One trial ended: ``state`` complete, pruned or diverged (the last two are counted as pruned)."""

    label: str
    number: int
    state: str
    value: float | None
    settings: dict[str, Any]
    counted: int  # the study's finished + pruned trials, this one included
    trials: int  # the number asked for
    best_value: float | None
    objective: str = "validation accuracy"  # or "validation loss" (regression)


@dataclass
class TuneOutcome:
    out: Path
    studies: dict[str, dict[str, Any]] = field(default_factory=dict)  # label → counts, best, importance
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # label → its best settings
    comparison: Any = None  # actlab.sweep.run.Outcome of the comparison (None until it ran)
    interrupted: bool = False
    trials_run: int = 0  # trials ended by this call
    search_seconds: float = 0.0
    resume_command: str = ""


MAX_TRIALS = 10_000  # per activation: beyond it a typo, not a search (studies resume, so more is still possible)


def _check(trials: int, pruner: str, engine: str) -> None:
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ActlabError(f"--trials must be a whole number of at least 1, got {trials!r}")
    if trials > MAX_TRIALS:
        raise ActlabError(f"--trials {trials} is more than {MAX_TRIALS} trials per activation; a search that long "
                          f"is better split into several runs of the same command (studies resume)")
    if pruner not in PRUNERS:
        raise ActlabError(f"--pruner must be {' or '.join(PRUNERS)}, got {pruner!r}")
    if engine not in ENGINES:
        raise ActlabError(f"--engine must be {' or '.join(ENGINES)}, got {engine!r}")


def _study_identity(config: Mapping[str, Any], dims: Sequence[Dimension], pruner: str, seed: int) -> tuple[str, str]:
    """What a study's trials measured (not the activations or the comparison's seeds): fingerprint, description."""
    base = {k: v for k, v in identity_of(config).items() if k not in ("acts", "seeds")}
    base.update(epochs=config["epochs"], space=format_space(dims), pruner=pruner, sampler_seed=seed)
    describe = f"{config['dataset']}, {config['model']}, {config['epochs']} epochs, space {format_space(dims)}, " \
               f"pruner {pruner}"
    return config_fingerprint(base), describe


def _default_out(config: Mapping[str, Any], dims: Sequence[Dimension]) -> Path:
    name = Path(str(config["dataset"])).stem.lower()
    digest = config_fingerprint({**identity_of(config), "space": format_space(dims)})[:8]
    return Path("runs") / f"tune-{name}-{config['model']}-{digest}"


def tune_command(config: Mapping[str, Any], dims: Sequence[Dimension], trials: int, pruner: str, engine: str) -> str:
    """The canonical ``actlab tune`` command for this search (every option set, the searched ones as --space)."""
    fixed = {**config, **{dim.name: None for dim in dims}, "engine": None, "tune": None}
    text = reproduce_command(fixed).replace("actlab compare", "actlab tune", 1)
    import shlex

    return text + " " + shlex.join(["--trials", str(trials), "--space", format_space(dims), "--pruner", pruner,
                                    "--engine", engine])


def _check_store(out: Path, config: Mapping[str, Any], labels: Sequence[str], trials: int) -> None:
    """An existing results.sqlite must hold this search's comparison, run after as many trials as asked."""
    if not is_store(out):
        return
    with Store(out, create=False) as store:
        sweep = store.sweep()
    if sweep is None:
        return
    stored = sweep["config"]
    if not stored.get("tune"):
        raise ActlabError(f"{out} holds an actlab compare sweep, not a tune; use another --out")
    if identity_of(stored) != identity_of(config):
        raise ActlabError(f"{out} holds a tune with a different config ({_differences(stored, config)}); "
                          "use the same options or another --out")
    done = stored["tune"].get("studies", {})
    short = [label for label in labels if done.get(label, {}).get("counted", 0) < trials]
    if short:
        ran = min(done.get(label, {}).get("counted", 0) for label in short)
        raise ActlabError(
            f"{out} already holds the comparison at the settings found after {ran} trials; --trials {trials} "
            f"would change them. Use another --out (copy {out}/optuna.sqlite there to continue the studies)")


def _largest(dims: Sequence[Dimension]) -> dict[str, Any]:
    """The settings a memory estimate should assume: each range's high end, the largest numeric choice."""
    out: dict[str, Any] = {}
    for dim in dims:
        if dim.kind != "categorical":
            out[dim.name] = dim.high
        else:
            numbers = [c for c in dim.choices if isinstance(c, (int, float))]
            out[dim.name] = max(numbers) if numbers else dim.choices[0]
    return out


def _objective(classification: bool) -> tuple[str, str]:
    return ("maximize", "validation accuracy") if classification else ("minimize", "validation loss")


def _train_config(config: Mapping[str, Any], settings: Mapping[str, Any]) -> Any:
    from actlab.sweep.usermodel import user_train_options
    from actlab.train import TrainConfig

    merged = {**config, **settings}
    try:
        return TrainConfig(**user_train_options(merged, train_options(merged)))
    except TypeError as error:
        raise ActlabError(f"bad training option: {error}") from None


def _run_trial(plan: Plan, activation: Any, study: Any, dims: Sequence[Dimension], *, seed: int, trials: int,
               device: str, stop: Callable[[], bool], on_event: Callable[[Any], None] | None) -> TrialEnd | None:
    """Ask, train, tell. None when ``stop`` interrupted it (its settings are queued again)."""
    from optuna.trial import TrialState

    from actlab.sweep import studies
    from actlab.train import EpochEnd, RunDiverged, RunEnd, RunSpec, train_runs

    classification = plan.dataset.task == "classification"
    study.sampler = studies.new_sampler(seed, studies.counts(study)["counted"])
    trial = study.ask()
    settings = sample(trial, dims)
    train_config = _train_config({**plan.config, "diagnostics": False}, settings)
    name = activation.spec.name if activation.spec.source == "catalog" else activation.text
    pruned = {"now": False}

    def watch(event: Any) -> None:
        if isinstance(event, EpochEnd):
            value = event.val_accuracy if classification else event.val_loss
            if value is not None and math.isfinite(value):
                trial.report(float(value), event.epoch)
                if trial.should_prune():
                    pruned["now"] = True
        if on_event is not None:
            on_event(event)

    results = train_runs(plan.dataset, train_config, [RunSpec(activation=name, seed=TRIAL_SEED)],
                         engine="grid", on_event=watch, should_stop=lambda: pruned["now"] or stop(), device=device)
    result = next(iter(results.values()), None)
    value = None
    if isinstance(result, RunEnd):
        value = result.val_accuracy if classification else result.val_loss
        state = "complete" if value is not None and math.isfinite(value) else "diverged"
        if state == "diverged":
            trial.set_user_attr("diverged", f"the {_objective(classification)[1]} is not finite")
    elif isinstance(result, RunDiverged):
        state = "diverged"
        trial.set_user_attr("diverged", result.reason)
    elif pruned["now"]:
        state = "pruned"
    else:  # stopped from outside: try these settings again next time
        studies.retry(study, trial)
        return None
    if state == "complete":
        study.tell(trial, float(value))
    else:
        study.tell(trial, state=TrialState.PRUNED)
    found = studies.best(study)
    return TrialEnd(activation.label, trial.number, state, value, settings, studies.counts(study)["counted"], trials,
                    None if found is None else found[1], _objective(classification)[1])


def _search(plan: Plan, dims: Sequence[Dimension], *, trials: int, pruner: str, seed: int,
            enqueue: Mapping[str, Sequence[Mapping[str, Any]]] | None, stop: Callable[[], bool],
            on_trial: Callable[[TrialEnd], None] | None, on_event: Callable[[Any], None] | None,
            outcome: TuneOutcome) -> dict[str, Any]:
    """Run every study up to ``trials`` counted trials (or until ``stop``). Returns label → study."""
    from actlab.compile_policy import compiling, resolve_device

    direction, _ = _objective(plan.dataset.task == "classification")
    identity, describe = _study_identity(plan.config, dims, pruner, seed)
    device = resolve_device(plan.config.get("device") or "auto")
    with compiling(False):  # every trial has another shape: compiling each would cost more than it saves
        return _search_studies(plan, dims, trials=trials, pruner=pruner, seed=seed, enqueue=enqueue, stop=stop,
                               on_trial=on_trial, on_event=on_event, outcome=outcome, direction=direction,
                               identity=identity, describe=describe, device=device)


def _search_studies(plan: Plan, dims: Sequence[Dimension], *, trials: int, pruner: str, seed: int,
                    enqueue: Mapping[str, Sequence[Mapping[str, Any]]] | None, stop: Callable[[], bool],
                    on_trial: Callable[[TrialEnd], None] | None, on_event: Callable[[Any], None] | None,
                    outcome: TuneOutcome, direction: str, identity: Any, describe: Any, device: str) -> dict[str, Any]:
    from actlab.sweep import studies

    opened: dict[str, Any] = {}
    for activation in plan.activations:
        study = studies.open_study(plan.out, activation.label, identity=identity, direction=direction, pruner=pruner,
                                   seed=seed, describe=describe)
        studies.recover(study)
        if enqueue and not study.get_trials(deepcopy=False):
            for settings in enqueue.get(activation.label, ()):
                study.enqueue_trial(dict(settings))
        opened[activation.label] = study
        while studies.counts(study)["counted"] < trials:
            if stop():
                outcome.interrupted = True
                return opened
            ended = _run_trial(plan, activation, study, dims, seed=seed, trials=trials, device=device, stop=stop,
                               on_event=on_event)
            if ended is None:
                outcome.interrupted = True
                return opened
            outcome.trials_run += 1
            if on_trial is not None:
                on_trial(ended)
    return opened


def _comparison_plan(plan: Plan, dims: Sequence[Dimension], summaries: Mapping[str, Mapping[str, Any]],
                     settings: Mapping[str, Mapping[str, Any]], tune_info: Mapping[str, Any]) -> Plan:
    """The compare plan with each activation at its own settings (``Plan.configs``) and the search in the config."""
    configs = {}
    for activation in plan.activations:
        train_config = _train_config(plan.config, settings[activation.label])
        train_config.validate(plan.dataset)
        configs[activation.label] = train_config
    rows = []
    for row in plan.rows:
        chosen = settings[row["label"]]
        rows.append({**row, "lr": configs[row["label"]].lr, "spec": {**row["spec"], "settings": dict(chosen)}})
    config = dict(plan.config)
    config["tune"] = {**tune_info, "settings": {k: dict(v) for k, v in settings.items()},
                      "studies": {k: dict(v) for k, v in summaries.items()}}
    fingerprint = config_fingerprint({**identity_of(config), "tuned": config["tune"]["settings"],
                                      "space": format_space(dims), "pruner": tune_info["pruner"],
                                      "sampler_seed": tune_info["sampler_seed"], "epochs": config["epochs"]})
    return Plan(config, plan.out, plan.dataset, plan.train_config, plan.activations, plan.runs, rows, fingerprint,
                configs=configs)


def tune(
    options: Mapping[str, Any] | None = None,
    *,
    trials: int = 30,
    space: str | Sequence[str] | None = None,
    pruner: str = "median",
    engine: str = "local",
    sampler_seed: int = 0,
    report: bool = True,
    enqueue: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    on_trial: Callable[[TrialEnd], None] | None = None,
    on_event: Callable[[Any], None] | None = None,
    on_comparison: Callable[[Plan], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    handle_sigint: bool = True,
    command: str | None = None,
    **keywords: Any,
) -> TuneOutcome:
    """Search, then compare at the best settings, then write the report. The Python face of ``actlab tune``.

    ``options``/``keywords``: the compare options (:data:`actlab.sweep.DEFAULTS`) that stay fixed; ``space``:
    the searched ones (:func:`actlab.sweep.space.parse_space`; None: the default space). ``enqueue``:
    label → settings to try first (only when its study is new). ``on_trial`` sees each trial's end,
    ``on_event`` every engine event (trials and comparison), ``on_comparison`` the comparison's plan before
    it trains. Ctrl-C / SIGTERM or ``should_stop()``
    stops within a training step; the same call again resumes.
    """
    from actlab.sweep import studies
    from actlab.sweep.lock import SweepLock
    from actlab.sweep.run import _signals_stop, _StopFlag, run_sweep

    _check(trials, pruner, engine)
    given = {**(options or {}), **keywords}
    dims = parse_space(space)
    if space is None:  # the default space less the options given a value
        dims = [dim for dim in dims if given.get(dim.name) is None] or dims
    check_fixed(dims, given)
    if given.get("lr_grid") is not None:
        raise ActlabError("tune searches the learning rate with --space lr=LO:HI:log, not --lr-grid")
    config = resolve_config({**given, "engine": ENGINES[engine]})
    for dim in dims:
        config[dim.name] = None  # searched: the default is not a setting
    config["out"] = str(config["out"] if config["out"] is not None else _default_out(config, dims))
    # checks the activations, data set and fixed options, and the memory of the largest settings; loads the data
    plan = plan_sweep({**config, **_largest(dims)})
    plan.config.update({dim.name: None for dim in dims})
    if any(dim.name == "lr" for dim in dims):
        plan.config["lr_resolved"] = None  # searched: no default rate applies
    for corner in corners(dims):  # every end of the space is a valid config
        _train_config(plan.config, corner).validate(plan.dataset)
    _check_store(plan.out, plan.config, [a.label for a in plan.activations], trials)
    reproduce = tune_command(config, dims, trials, pruner, engine)
    command = command or reproduce
    outcome = TuneOutcome(out=plan.out, resume_command=reproduce)
    flag = _StopFlag(should_stop)
    started = time.monotonic()
    with SweepLock(plan.out, command=command):  # one process searches a directory (released for the comparison)
        guard = _signals_stop(flag) if handle_sigint else contextlib.nullcontext()
        with guard:
            opened = _search(plan, dims, trials=trials, pruner=pruner, seed=sampler_seed, enqueue=enqueue,
                             stop=flag, on_trial=on_trial, on_event=on_event, outcome=outcome)
        outcome.search_seconds = time.monotonic() - started
        outcome.studies = studies.summaries(opened)
    if outcome.interrupted:
        return outcome
    missing = [label for label, s in outcome.studies.items() if s["best_trial"] is None]
    if missing:
        detail = "; ".join(f"{label}: {s['pruned']} pruned ({s['diverged']} diverged)"
                           for label, s in outcome.studies.items() if label in missing)
        raise ActlabError(f"no trial finished for {', '.join(missing)} ({detail}); narrow the space (e.g. a "
                          "lower lr), use --pruner none, or run more --trials into the same --out")
    for label, study in opened.items():
        outcome.settings[label] = dict(study.best_trial.params)
    _, objective = _objective(plan.dataset.task == "classification")
    info = {"space": format_space(dims), "dimensions": [d.to_dict() for d in dims], "trials": trials,
            "pruner": pruner, "sampler": "TPE", "random_start": studies.RANDOM_START, "sampler_seed": sampler_seed,
            "trial_seed": TRIAL_SEED,
            "objective": objective, "importance_method": studies.IMPORTANCE_METHOD, "storage": studies.STORAGE_NAME,
            "engine": engine, "reproduce": reproduce}
    final = _comparison_plan(plan, dims, outcome.studies, outcome.settings, info)
    if on_comparison is not None:
        on_comparison(final)
    outcome.comparison = run_sweep(final, command=command, on_event=on_event, should_stop=should_stop,
                                   handle_sigint=handle_sigint)
    outcome.interrupted = outcome.comparison.interrupted
    if report and not outcome.interrupted:
        from actlab.report import write_report

        write_report(plan.out)
    return outcome
