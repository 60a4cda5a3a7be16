"""Live stepping: the sequential engine's step for any ``nn.Module``, driven batch by batch by its caller.

The playground (:mod:`actlab.web.trainer`) trains small nets while a page watches: it decides when an
epoch happens and which mini-batches it holds (one shuffled order shared by the nets shown side by
side), and :class:`LiveRun` does the arithmetic of each step — the forward pass, the caller's loss plus
an optional penalty on the weights, the backward pass and one step of the ``torch.optim`` optimiser the
:class:`~actlab.train.config.TrainConfig` names (:func:`actlab.train.sequential.make_optimizer`).

>>> import torch
>>> from torch import nn
>>> run = LiveRun(nn.Linear(2, 1), TrainConfig(optimizer="sgd", lr=0.1, momentum=0.0), nn.functional.mse_loss)
>>> loss = run.train_batches(torch.zeros(4, 2), torch.zeros(4, 1), [torch.arange(4)])
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from torch import Tensor, nn

from actlab.train.config import TrainConfig
from actlab.train.sequential import make_optimizer

__all__ = ["LiveRun"]

Loss = Callable[[Tensor, Tensor], Tensor]
Penalty = Callable[[nn.Module], "Tensor | float"]


class LiveRun:
    """One model and its optimiser, stepped by the caller: :meth:`train_batches` takes one step per batch.

    ``config``: the optimiser and its hyper-parameters (``optimizer``, ``lr``, ``momentum``, ...);
    ``loss(output, target)``: the mean loss of a batch; ``penalty(model)``: added to every step's loss
    (a weight regulariser), None for none.
    """

    def __init__(self, model: nn.Module, config: TrainConfig, loss: Loss, penalty: Penalty | None = None):
        self.model, self.config, self.loss, self.penalty = model, config, loss, penalty
        self.optimizer = make_optimizer(model, config, config.lr)
        self.step = 0  # optimiser steps taken

    def train_batches(self, x: Tensor, y: Tensor, batches: Iterable[Tensor]) -> float:
        """One optimiser step per index tensor in ``batches`` (rows of ``x`` / ``y``); the mean of the steps'
        losses (penalty included), NaN when there was no batch."""
        self.model.train()
        total, count = 0.0, 0
        for index in batches:
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss(self.model(x[index]), y[index])
            if self.penalty is not None:
                loss = loss + self.penalty(self.model)
            loss.backward()
            self.optimizer.step()
            self.step += 1
            total += float(loss.detach())
            count += 1
        return total / count if count else float("nan")

    def set_learning_rate(self, rate: float) -> None:
        """Every later step uses ``rate`` (the optimiser's state is kept)."""
        for group in self.optimizer.param_groups:
            group["lr"] = float(rate)

    @property
    def learning_rate(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])
