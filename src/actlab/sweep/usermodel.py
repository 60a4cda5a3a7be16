"""A sweep over the user's own model (``--model FILE.py:FUNCTION``): its training options, identity and checks.

The reference enters the fingerprint together with the SHA-256 of the file (or module, or function source)
that defines it, so a sweep resumed after the model's code changed is refused rather than mixed.  Before any
training the model is built once and run on two training examples: a function that raises, an output that does
not match the dataset's outputs, a model with no activation to swap — each is refused, naming the problem.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actlab.errors import ActlabError

__all__ = ["is_user_model", "user_train_options", "user_identity", "check_user_model", "TASKS", "task_option"]

TASKS = {"auto": None, "classify": "classification", "regress": "regression"}


def is_user_model(config: Mapping[str, Any]) -> bool:
    from actlab.models.user import is_reference

    return is_reference(str(config.get("model") or ""))


def user_train_options(config: Mapping[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """``options`` (TrainConfig keywords) for a user model: kind "user" and its reference."""
    if is_user_model(config):
        options = {**options, "model": "user", "model_source": str(config["model"]).strip()}
    return options


def user_identity(config: Mapping[str, Any]) -> dict[str, Any]:
    """What the fingerprint adds for a user model: the file (or module) and its SHA-256 ({} otherwise)."""
    if not is_user_model(config):
        return {}
    from actlab.models.user import source_identity

    found = source_identity(str(config["model"]).strip())
    return {"model_sha256": found["sha256"], "model_function": found["function"]}


def task_option(config: Mapping[str, Any]) -> str | None:
    """The dataset task ``--task`` asks for (None: auto)."""
    value = str(config.get("task") or "auto").strip().lower()
    if value not in TASKS:
        from actlab.errors import suggest

        near = suggest(value, TASKS, n=1)
        raise ActlabError(f"unknown --task {value!r}; choose one of {', '.join(TASKS)}"
                          + (f" (did you mean {near[0]}?)" if near else ""))
    return TASKS[value]


def check_user_model(config: Mapping[str, Any], train_config: Any, dataset: Any, activation: Any) -> str:
    """Build the model once with ``activation`` and run two examples through it; the swap's summary.

    Raises ActlabError for a builder that fails, an output of the wrong shape, or nothing to swap."""
    import torch

    from actlab.models.user import Builder, build_user
    from actlab.nn.swap import activation_modules, functional_calls
    from actlab.train.prepared import prepare

    if config.get("engine") == "ray" and str(config["model"]).startswith("python:"):
        raise ActlabError("--engine ray trains in other processes: name the model as FILE.py:FUNCTION or "
                          "package.module:FUNCTION, not as a Python function of this process")
    reference = train_config.model_source
    builder = Builder.of(reference)
    data = prepare(dataset, "user")
    model = build_user(reference, activation, data.input_shape, data.num_outputs, seed=0)
    x = data.x_train[:2]
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            model.eval()
            out = model(x)
    except Exception as error:  # noqa: BLE001 — the user's forward failed: its message, not a traceback
        raise ActlabError(f"model {reference}: its forward on input of shape {tuple(x.shape)} raised "
                          f"{type(error).__name__}: {error}") from None
    want = (len(x), data.num_outputs)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != want:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        what = (f"{dataset.num_classes} classes" if dataset.task == "classification" else "regression targets")
        raise ActlabError(f"model {reference}: output shape {got} does not match the dataset ({what}: expected "
                          f"{want}); its last layer needs {data.num_outputs} outputs"
                          + ("" if builder.outputs_name else " (or take n_outputs and use it)"))
    ours = [path for path, module in activation_modules(model) if getattr(module, "spec", None) is not None]
    if not ours:
        why = ("it takes act_layer but the model it returns holds no module act_layer made"
               if builder.takes_act_layer else "the function takes no act_layer, and the model has no "
               "nn.ReLU/GELU/… module")
        raise ActlabError(f"model {reference}: every arm would train the same model ({why}); build the "
                          "activations with act_layer() or use activation modules")
    calls, note = functional_calls(model)
    how = "built with act_layer" if builder.takes_act_layer else f"{len(ours)} activation module(s) swapped"
    text = f"model {reference}: {how}"
    if calls:
        text += "; not swappable (functional calls in forward, left as they are): " + ", ".join(map(str, calls))
    elif note:
        text += f"; {note}"
    return text
