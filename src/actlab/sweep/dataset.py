"""Loading the dataset a sweep's options name (planning and remote workers both do it)."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from actlab.errors import ActlabError

__all__ = ["load_dataset"]


def load_dataset(config: Mapping[str, Any]) -> Any:
    """The dataset a sweep config names (dataset, target, subset; the cnn keeps images unflattened).

    Used by planning and by the Ray engine's workers, which load their data themselves."""
    from actlab import data
    from actlab.data.files import load_file, looks_like_path
    from actlab.data.registry import options_of

    name = config["dataset"]
    from actlab.data.images import is_image_folder, load_image_folder
    from actlab.sweep.usermodel import task_option

    if name.lower() in data.names():
        valid = data.info(name).options()
    elif is_image_folder(name):
        valid = options_of(load_image_folder)
    elif Path(name).is_dir():
        raise ActlabError(f"dataset {name!r} is a directory, not a data file; give a .csv or .npz file")
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
    if config.get("val_size") is not None:
        if "val_size" not in valid:
            raise ActlabError(f"--val-size does not apply to dataset {name!r} (its validation split is fixed)")
        options["val_size"] = config["val_size"]
    if config.get("context") is not None:
        if "context" not in valid:
            raise ActlabError(f"--context does not apply to dataset {name!r} (it is for text, e.g. kjv)")
        options["context"] = config["context"]
    if config.get("image_size") is not None:
        if "image_size" not in valid:
            raise ActlabError(f"--image-size applies to image folders (one sub-folder per class), not dataset {name!r}")
        options["image_size"] = config["image_size"]
    task = task_option(config)
    if task is not None and "task" in valid:
        options["task"] = task
    if (config["model"] == "cnn" or ":" in str(config["model"])) and "flatten" in valid:
        options["flatten"] = False  # the cnn and the user's own model see images as (C, H, W)
    loaded = data.load(name, **options)
    if task is not None and loaded.task != task:
        raise ActlabError(f"--task {config['task']}: dataset {name!r} is a {loaded.task} set")
    return loaded
