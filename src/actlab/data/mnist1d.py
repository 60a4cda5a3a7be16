"""MNIST-1D (Greydanus 2020), generated locally from the ``mnist1d`` package.

We call ``mnist1d.data.make_dataset(get_dataset_args())`` — the package's
default arguments: 5 000 sequences of length 40, 10 classes, 4 000 train /
1 000 test, generator seed 42 — and never ``get_dataset``, whose default path
downloads a pickle. The generated arrays are cached as
``<cache_dir>/mnist1d-v1.npz`` (atomic, self-checking). ``make_dataset``
reseeds Python's and numpy's global generators; we restore both afterwards.
The validation split is carved from the 4 000 training sequences (seeded,
stratified; 500 by default).
"""
from __future__ import annotations

import random

import numpy as np

from actlab.data.base import Dataset
from actlab.data.cache import cached_arrays
from actlab.data.splits import assemble, check_bool, check_int, split_indices
from actlab.errors import ParameterError

__all__ = ["load_mnist1d", "generate"]

CACHE_FILE = "mnist1d-v1.npz"


def generate() -> dict[str, np.ndarray]:
    """Run the mnist1d generator with its default arguments (no network, global RNG state kept)."""
    from mnist1d.data import (  # imported lazily: it pulls in pyplot
        get_dataset_args,
        make_dataset,
    )

    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        data = make_dataset(get_dataset_args())
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
    return {
        "x": np.asarray(data["x"], dtype=np.float32),
        "y": np.asarray(data["y"], dtype=np.int64),
        "x_test": np.asarray(data["x_test"], dtype=np.float32),
        "y_test": np.asarray(data["y_test"], dtype=np.int64),
        "t": np.asarray(data["t"], dtype=np.float32),
    }


def load_mnist1d(
    *,
    flatten: bool = True,
    standardize: bool = False,
    subset: int | None = None,
    val_size: int = 500,
    seed: int = 0,
) -> Dataset:
    """MNIST-1D: x float32 of shape (40,) (or (1, 40) with ``flatten=False``), y int64 in 0..9.

    The generator already centres the data and scales it to unit variance;
    ``standardize`` additionally standardises each position with training statistics.
    """
    flatten = check_bool("flatten", flatten)
    standardize = check_bool("standardize", standardize)
    subset = check_int("subset", subset, minimum=1, allow_none=True)
    val_size = check_int("val_size", val_size, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    raw = cached_arrays(CACHE_FILE, generate)
    x, y = raw["x"], raw["y"]
    if val_size >= len(y):
        raise ParameterError(f"val_size must be < {len(y)} (the training sequences), got {val_size}")
    val_idx, train_idx = split_indices(len(y), (val_size,), np.random.default_rng([seed, 2]), y)
    length = x.shape[1]
    return assemble(
        "mnist1d",
        {"train": (x[train_idx], y[train_idx]), "val": (x[val_idx], y[val_idx]), "test": (raw["x_test"], raw["y_test"])},
        task="classification",
        num_classes=10,
        input_shape=(length,) if flatten else (1, length),
        description=f"MNIST-1D: 1-D digit templates, length {length}, generated locally "
        f"({len(train_idx)} train / {val_size} val / {len(raw['y_test'])} test)",
        extra={"kind": "sequence", "t": raw["t"], "classes": list(range(10))},
        standardize=standardize,
        subset=subset,
        seed=seed,
    )
