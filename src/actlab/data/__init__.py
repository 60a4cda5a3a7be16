"""Datasets: toy 2-D sets, MNIST, MNIST-1D, scikit-learn digits, and your own CSV/npz files.

>>> from actlab import data
>>> ds = data.load("circle", n=400, noise=0.05, seed=1)
>>> ds.x_train.shape, ds.num_classes
(torch.Size([240, 2]), 2)

Every loader returns a :class:`Dataset` with train / validation / test splits.
"""
from __future__ import annotations

from actlab.data.base import Dataset
from actlab.data.cache import CACHE_ENV, cache_dir
from actlab.data.mnist import MIRROR_ENV
from actlab.data.registry import DatasetInfo, info, load, names
from actlab.data.toy_truth import TrueFunction, true_boundary, true_target

__all__ = [
    "Dataset",
    "DatasetInfo",
    "TrueFunction",
    "load",
    "names",
    "info",
    "true_boundary",
    "true_target",
    "cache_dir",
    "CACHE_ENV",
    "MIRROR_ENV",
]
