"""Dataset names → loaders, and :func:`load`, the one entry point.

``load(name, **options)`` accepts a registered name (case-insensitive) or a
path to a ``.csv`` / ``.npz`` file or to an image folder (one sub-folder per class). Options are each loader's keyword
parameters; an unknown one raises :class:`ParameterError` naming the valid ones.
"""
from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from actlab.data.base import Dataset
from actlab.data.digits import load_digits
from actlab.data.files import load_file, looks_like_path
from actlab.data.images import is_image_folder, load_image_folder
from actlab.data.kjv import load_kjv
from actlab.data.mnist import load_mnist
from actlab.data.mnist1d import load_mnist1d
from actlab.data.toy import DESCRIPTIONS, TOY_CLASSIFICATION, TOY_NAMES, load_toy
from actlab.errors import ParameterError, UnknownNameError, suggest

__all__ = ["DatasetInfo", "names", "info", "load", "options_of"]


@dataclass(frozen=True)
class DatasetInfo:
    """What a registered dataset is, without loading it."""

    name: str
    kind: str  # "toy2d", "image", "sequence" (files are "table")
    task: str  # "classification" or "regression"
    summary: str
    loader: Callable[..., Dataset]

    def options(self) -> dict[str, Any]:
        """The loader's options and their defaults."""
        return options_of(self.loader)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "task": self.task, "summary": self.summary, "options": self.options()}


def options_of(loader: Callable[..., Any]) -> dict[str, Any]:
    return {
        p.name: p.default
        for p in inspect.signature(loader).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


_REGISTRY: dict[str, DatasetInfo] = {}


def _register(info_: DatasetInfo) -> None:
    _REGISTRY[info_.name] = info_


for _name in TOY_NAMES:
    _register(DatasetInfo(
        _name, "toy2d", "classification" if _name in TOY_CLASSIFICATION else "regression",
        DESCRIPTIONS[_name], functools.partial(load_toy, _name),
    ))
_register(DatasetInfo("mnist", "image", "classification",
                      "MNIST handwritten digits 28x28, classic 50k/10k/10k split (offline)", load_mnist))
_register(DatasetInfo("mnist1d", "sequence", "classification",
                      "MNIST-1D sequences of length 40, 4000/1000 generated locally", load_mnist1d))
_register(DatasetInfo("digits", "image", "classification",
                      "scikit-learn 8x8 digits (1797 images)", load_digits))
_register(DatasetInfo("kjv", "text", "classification",
                      "King James Bible, character-level language modelling, 4.1 M characters (offline, verified)",
                      load_kjv))


def names() -> list[str]:
    """Registered dataset names (toy sets first, in a fixed order)."""
    return list(_REGISTRY)


def info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of a registered name (case-insensitive)."""
    try:
        return _REGISTRY[str(name).lower()]
    except KeyError:
        raise UnknownNameError("dataset", str(name), names()) from None


def load(name: str | os.PathLike[str], **options: Any) -> Dataset:
    """Load dataset ``name`` (a registered name or a .csv/.npz path) with ``options``."""
    text = os.fspath(name)
    if text.lower() in _REGISTRY:
        entry = _REGISTRY[text.lower()]
        _check_options(entry.name, entry.loader, options)
        return entry.loader(**options)
    if is_image_folder(text):  # one sub-folder of images per class
        _check_options(text, load_image_folder, options)
        return load_image_folder(text, **options)
    if isinstance(name, os.PathLike) or looks_like_path(text):
        _check_options(text, load_file, options)
        return load_file(text, **options)
    raise UnknownNameError("dataset", text, names())


def _check_options(dataset: str, loader: Callable[..., Any], options: dict[str, Any]) -> None:
    valid = options_of(loader)
    for key in options:
        if key not in valid:
            matches = suggest(key, valid)
            hint = f"; did you mean {' or '.join(matches)}?" if matches else ""
            raise ParameterError(
                f"unknown option {key!r} for dataset {dataset!r}{hint} (options: {', '.join(valid)})"
            )
