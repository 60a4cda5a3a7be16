"""The dataset as the engines use it: contiguous float32 tensors on the device, targets ready for the loss."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from actlab.models import MLP_MODELS, output_units
from actlab.train.metrics import Task, prepare_targets, task_kind

__all__ = ["Prepared", "prepare"]


@dataclass(frozen=True)
class Prepared:
    x_train: Tensor
    y_train: Tensor
    x_val: Tensor
    y_val: Tensor
    x_test: Tensor
    y_test: Tensor
    input_shape: tuple[int, ...]
    num_outputs: int
    kind: Task
    stream: Tensor | None = None  # "lm": the training text's token ids (the engine draws windows from it)


def prepare(dataset, model: str, device: str = "cpu") -> Prepared:
    """Flatten for the mlp, reshape to (N, C, H, W) for the cnn; float32, contiguous, on ``device``.

    A user's model (``model`` "user") gets two logits for two classes (softmax cross-entropy), not one.
    Text (lm): int64 token windows, and the training text for the engine's random windows."""
    kind = task_kind(dataset)
    shape = tuple(int(s) for s in dataset.input_shape)

    def x_of(x: Tensor) -> Tensor:
        if kind == "lm":  # token ids stay integers
            return torch.as_tensor(x).long().contiguous().to(device)
        x = torch.as_tensor(x).float()
        x = x.reshape(len(x), math.prod(shape)) if model in MLP_MODELS else x.reshape(len(x), *shape)
        return x.contiguous().to(device)

    def y_of(y: Tensor) -> Tensor:
        return prepare_targets(torch.as_tensor(y), kind).contiguous().to(device)

    outputs = output_units(dataset.task, dataset.num_classes, tuple(torch.as_tensor(dataset.y_train).shape))
    if model == "user" and kind == "binary":  # the user's model gives one logit per class, as models usually do
        kind, outputs = "multiclass", 2
    return Prepared(
        x_of(dataset.x_train), y_of(dataset.y_train), x_of(dataset.x_val), y_of(dataset.y_val),
        x_of(dataset.x_test), y_of(dataset.y_test), shape, outputs, kind,
        torch.as_tensor(dataset.extra["train_tokens"]).to(device) if kind == "lm" else None,
    )
