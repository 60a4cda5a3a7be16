"""Losses, accuracies and batch order shared by both engines.

The losses take outputs with any leading shape ``(..., B, out)`` and return one
mean per leading index, so the grid gets one loss per model from one call and
the sequential engine gets a scalar.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["Task", "task_kind", "prepare_targets", "per_model_loss", "correct_count", "epoch_order", "batches", "baseline_of",
           "lm_batch"]

Task = str  # "multiclass" | "binary" | "regression" | "multiclass-sigmoid" | "lm" (next token at every position)


def task_kind(dataset) -> Task:
    if getattr(dataset, "extra", {}).get("kind") == "text":
        return "lm"
    if dataset.task == "regression":
        return "regression"
    return "binary" if dataset.num_classes == 2 else "multiclass"


def prepare_targets(y: Tensor, kind: Task) -> Tensor:
    """Targets in the dtype/shape the loss wants: int64 (B,), float (B,), float (B, k); lm: int64 (B, T)."""
    if kind == "lm":
        return y.long()
    if kind in ("multiclass", "multiclass-sigmoid"):
        return y.reshape(-1).long()
    if kind == "binary":
        return y.reshape(-1).float()
    y = y.float()
    return y.unsqueeze(-1) if y.dim() == 1 else y


def per_model_loss(output: Tensor, target: Tensor, kind: Task) -> Tensor:
    """Mean loss over the batch for each leading index of ``output`` (shape ``(..., B, out)``).

    multiclass: cross-entropy of logits (softmax); binary: BCE with logits of one
    output (sigmoid); multiclass-sigmoid: one sigmoid per class with one-hot targets,
    Σ_j BCE over the classes (Nielsen's cross-entropy; ``actlab diagnose --preset nielsen``);
    regression: mean squared error over batch and targets.
    ``target`` has shape ``(..., B)`` (classes) or ``(..., B, k)`` (regression),
    broadcast against ``output``'s leading dims.
    """
    if kind == "lm":  # output (..., B, T, V), target (B, T): the mean cross-entropy over every position
        lead = output.shape[:-3]
        target = target.expand(*lead, *target.shape[-2:])
        losses = F.cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1), reduction="none")
        return losses.view(*lead, -1).mean(-1)
    lead = output.shape[:-2]
    if kind == "multiclass-sigmoid":  # one sigmoid per class, one-hot targets: Σ_j BCE, mean over the batch
        target = F.one_hot(target.expand(*lead, target.shape[-1]), output.shape[-1]).to(output.dtype)
        return F.binary_cross_entropy_with_logits(output, target, reduction="none").sum(-1).mean(-1)
    if kind == "multiclass":
        target = target.expand(*lead, target.shape[-1])
        losses = F.cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1), reduction="none")
        return losses.view(*lead, -1).mean(-1)
    if kind == "binary":
        target = target.expand(*lead, target.shape[-1])
        losses = F.binary_cross_entropy_with_logits(output[..., 0], target, reduction="none")
        return losses.mean(-1)
    target = target.expand(*lead, *target.shape[-2:])
    return F.mse_loss(output, target, reduction="none").flatten(-2).mean(-1)


def correct_count(output: Tensor, target: Tensor, kind: Task) -> Tensor | None:
    """Number of correct predictions per leading index (None for regression)."""
    if kind in ("multiclass", "multiclass-sigmoid"):
        return (output.argmax(-1) == target).sum(-1)
    if kind == "lm":  # correct next-token predictions over every position
        return (output.argmax(-1) == target).flatten(-2).sum(-1)
    if kind == "binary":
        return ((output[..., 0] > 0) == (target > 0.5)).sum(-1)
    return None


def epoch_order(seed: int, epoch: int, n: int) -> Tensor:
    """The permutation of the training set for ``seed`` in ``epoch`` (0-based).

    Stateless: drawn from ``torch.Generator().manual_seed(seed)`` advanced by
    ``epoch`` permutations, so any epoch can be reproduced (resume, scale-out).
    """
    generator = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(n, generator=generator)
    for _ in range(epoch):
        order = torch.randperm(n, generator=generator)
    return order


def lm_batch(tokens: Tensor, seed: int, step: int, batch_size: int, context: int) -> tuple[Tensor, Tensor]:
    """Step ``step``'s language-modelling batch: ``batch_size`` random contiguous windows of ``tokens`` (inputs
    (B, context) and the next tokens (B, context)), offsets drawn from a generator seeded by (seed, step) —
    stateless, so a resumed run draws the same batches (nanoGPT's ``get_batch``)."""
    generator = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(step))
    starts = torch.randint(len(tokens) - context, (batch_size,), generator=generator)
    index = starts[:, None] + torch.arange(context + 1)[None, :]
    block = tokens[index.to(tokens.device)].long()
    return block[:, :-1], block[:, 1:]


def batches(n: int, batch_size: int) -> list[slice]:
    """Consecutive slices of an epoch's order; the last one may be short."""
    return [slice(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]


def baseline_of(dataset) -> dict:
    """What a net that learned nothing scores on ``dataset``'s validation split, JSON-ready.

    Classification: the number of classes, the validation size, the accuracy of always predicting the most
    frequent validation class (``chance``) and the cross-entropy of predicting the class frequencies
    (``constant_loss``, log K for K balanced classes). Regression: the variance of the validation targets (the
    mean squared error of predicting their mean). The sweep stores it for the report's "failed to learn"
    flags (:mod:`actlab.report.failure`).
    """
    y = dataset.y_val
    n = int(y.numel()) if dataset.task == "classification" else int(y.shape[0])  # text: every position
    if dataset.task == "classification":
        counts = torch.bincount(y.reshape(-1).long(), minlength=max(int(dataset.num_classes), 1)).double()
        if n == 0:
            return {"classes": int(dataset.num_classes), "val_size": 0, "chance": None, "constant_loss": None}
        p = counts / n
        entropy = float(-(p[p > 0] * p[p > 0].log()).sum())
        return {"classes": int(dataset.num_classes), "val_size": n, "chance": float(p.max()),
                "constant_loss": entropy}
    if n < 2:
        return {"classes": 0, "val_size": n, "chance": None, "constant_loss": None}
    variance = float(((y.double() - y.double().mean(dim=0)) ** 2).mean())
    return {"classes": 0, "val_size": n, "chance": None, "constant_loss": variance if variance > 0 else None}
