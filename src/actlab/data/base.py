"""The one shape every dataset takes: :class:`Dataset`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import torch

__all__ = ["Dataset"]


@dataclass(frozen=True)
class Dataset:
    """Train / validation / test tensors and what they mean.

    ``x_*`` are float32; ``y_*`` are int64 class indices for classification and
    float32 targets of shape (n, 1) for regression.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int  # 0 for regression
    input_shape: tuple[int, ...]  # shape of one example, e.g. (784,) or (1, 28, 28) or (2,)
    task: Literal["classification", "regression"]
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the true boundary of a toy set

    @property
    def num_features(self) -> int:
        n = 1
        for s in self.input_shape:
            n *= s
        return n
