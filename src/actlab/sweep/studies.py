"""The Optuna side of ``actlab tune``: one study per activation in ``RUN_DIR/optuna.sqlite``.

* Storage: Optuna's RDB storage on its own SQLite file (not actlab's ``results.sqlite``),
  one study per activation named ``actlab-tune:<label>``; the study's ``identity`` user
  attribute fingerprints what its trials measured (data set, model, fixed options, epoch
  budget, space, pruner, sampler seed), and a study with another identity is refused.
* Resume: a trial left ``RUNNING`` (the process was killed, or stopped by Ctrl-C) is marked
  ``FAIL`` and its settings are queued again, so it is tried next with the same settings;
  ``--trials`` counts finished and pruned trials only.  The caller holds the directory's
  lock, so a running trial at start-up is stale by construction.
* Sampler: TPE, re-seeded before every new trial with ``seed + trials counted so far``, so
  an interrupted and resumed study suggests the same settings as an uninterrupted one.
* Importance: fANOVA (:class:`optuna.importance.FanovaImportanceEvaluator`, a random forest
  over the finished trials, seed 0): it works from two finished trials on, where PED-ANOVA
  needs enough trials for a top quantile; with few trials it is rough, and the report says how
  many trials it rests on.

Imports Optuna, so only ``actlab tune`` loads it (not ``actlab --help``).
"""
from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from actlab.errors import ActlabError

__all__ = ["STORAGE_NAME", "IMPORTANCE_METHOD", "open_study", "recover", "counts", "importance", "new_sampler",
           "make_pruner", "existing_counts"]

STORAGE_NAME = "optuna.sqlite"
IMPORTANCE_METHOD = "fANOVA (optuna.importance.FanovaImportanceEvaluator, seed 0; finished trials only)"
_PREFIX = "actlab-tune:"
optuna.logging.set_verbosity(optuna.logging.WARNING)


def _storage(out: Path) -> optuna.storages.RDBStorage:
    from sqlalchemy.exc import SQLAlchemyError

    path = (Path(out) / STORAGE_NAME).resolve()
    try:
        return optuna.storages.RDBStorage(f"sqlite:///{path}", engine_kwargs={"connect_args": {"timeout": 60}})
    except SQLAlchemyError as error:  # a foreign or damaged file
        raise ActlabError(f"{path} is not a readable Optuna storage: {error}") from None


def study_name(label: str) -> str:
    return _PREFIX + label


def make_pruner(name: str) -> optuna.pruners.BasePruner:
    """``median``: Optuna's MedianPruner (5 finished trials first, any epoch); ``none``: no pruning."""
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ActlabError(f"--pruner must be median or none, got {name!r}")


RANDOM_START = 10  # the TPE sampler's first trials are seeded random search (Optuna's n_startup_trials)


def new_sampler(seed: int, counted: int) -> optuna.samplers.TPESampler:
    """The TPE sampler for the next new trial (seeded by the number of trials counted before it); its first
    :data:`RANDOM_START` trials are random."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed + counted, n_startup_trials=RANDOM_START)


def open_study(out: Path, label: str, *, identity: str, direction: str, pruner: str, seed: int,
               describe: str = "") -> optuna.Study:
    """Create or load the activation's study; a study that measured something else is refused."""
    storage = _storage(out)
    name = study_name(label)
    study = optuna.create_study(storage=storage, study_name=name, direction=direction, load_if_exists=True,
                                sampler=new_sampler(seed, 0), pruner=make_pruner(pruner))
    found = study.user_attrs.get("identity")
    if found is None:
        study.set_user_attr("identity", identity)
        study.set_user_attr("describe", describe)
    elif found != identity:
        raise ActlabError(
            f"{Path(out) / STORAGE_NAME} holds a study of {label} with another config ({study.user_attrs.get('describe')}"
            f"; now: {describe}); use the same options or another --out")
    if study.direction.name.lower() != direction:
        raise ActlabError(f"the study of {label} in {Path(out) / STORAGE_NAME} {study.direction.name.lower()}s; "
                          f"this tune would {direction}")
    return study


def recover(study: optuna.Study) -> list[int]:
    """Trials left running by a killed or stopped process → FAIL, their settings queued again. Returns their numbers."""
    trials = study.get_trials(deepcopy=False)
    waiting = [t for t in trials if t.state == TrialState.WAITING]
    stale = [t for t in trials if t.state == TrialState.RUNNING]
    for trial in stale:
        retried = any(t.user_attrs.get("retry_of") == trial.number for t in waiting)
        if trial.params and not retried:  # queue first: a kill between the two leaves at worst an extra try
            study.enqueue_trial(dict(trial.params), user_attrs={"retry_of": trial.number})
        study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
    return [t.number for t in stale]


def retry(study: optuna.Study, trial: optuna.Trial) -> None:
    """A trial this process stopped (Ctrl-C): queue its settings again, then mark it failed."""
    study.enqueue_trial(dict(trial.params), user_attrs={"retry_of": trial.number})
    study.tell(trial, state=TrialState.FAIL)


def counts(study: optuna.Study) -> dict[str, int]:
    """complete, pruned (diverged included), diverged, failed (interrupted, retried) and counted (complete + pruned)."""
    trials = study.get_trials(deepcopy=False)
    complete = sum(1 for t in trials if t.state == TrialState.COMPLETE)
    pruned = sum(1 for t in trials if t.state == TrialState.PRUNED)
    diverged = sum(1 for t in trials if t.state == TrialState.PRUNED and t.user_attrs.get("diverged"))
    failed = sum(1 for t in trials if t.state == TrialState.FAIL)
    return {"complete": complete, "pruned": pruned, "diverged": diverged, "failed": failed,
            "counted": complete + pruned}


def existing_counts(out: Path) -> dict[str, int]:
    """label → trials counted, for the studies already in ``out`` (none: empty)."""
    if not (Path(out) / STORAGE_NAME).is_file():
        return {}
    storage = _storage(out)
    found = {}
    for summary in optuna.get_all_study_summaries(storage):
        if summary.study_name.startswith(_PREFIX):
            study = optuna.load_study(study_name=summary.study_name, storage=storage)
            found[summary.study_name[len(_PREFIX):]] = counts(study)["counted"]
    return found


def importance(study: optuna.Study) -> tuple[dict[str, float] | None, str]:
    """Each searched option's share of the variance of the objective (sums to 1), or None and why not."""
    finished = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if t.value is not None and math.isfinite(t.value)]
    if len(finished) < 2:
        return None, f"{len(finished)} finished trial(s): too few to weigh the settings"
    if len({t.value for t in finished}) < 2:
        return None, "every finished trial scored the same"
    logger = logging.getLogger("optuna")
    level = logger.level
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
    except (RuntimeError, ValueError) as error:  # e.g. settings that never vary
        return None, f"not computed ({error})"
    finally:
        logger.setLevel(level)
    return {name: float(value) for name, value in found.items()}, f"from {len(finished)} finished trials"


def best(study: optuna.Study) -> tuple[dict[str, Any], float, int] | None:
    """The best finished trial's settings, value and number (None when no trial finished)."""
    if not any(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
        return None
    trial = study.best_trial
    return dict(trial.params), float(trial.value), int(trial.number)


def summaries(studies: Mapping[str, optuna.Study]) -> dict[str, dict[str, Any]]:
    """label → counts, best settings and value, importance (what the store and the report keep)."""
    out: dict[str, dict[str, Any]] = {}
    for label, study in studies.items():
        found = best(study)
        weights, note = importance(study)
        seconds = sum((t.datetime_complete - t.datetime_start).total_seconds() for t in study.get_trials(deepcopy=False)
                      if t.datetime_start is not None and t.datetime_complete is not None)
        out[label] = {**counts(study), "study": study.study_name, "importance": weights, "importance_note": note,
                      "seconds": round(seconds, 3),
                      "best_value": None if found is None else found[1],
                      "best_trial": None if found is None else found[2]}
    return out
