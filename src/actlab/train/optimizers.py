"""Optimisers over stacked weights: Adam (``torch._fused_adam_`` where torch has it), SGD (momentum,
Nesterov) and RMSprop (momentum, centered), with weight decay and clipping by value or by each run's global
norm — numerically the same as ``torch.optim`` per run with the same hyper-parameters."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from actlab.train.config import TrainConfig

__all__ = ["StackedOptimizer", "ADAM_BETAS", "ADAM_EPS", "CLIP_NORM_EPS", "RMSPROP_ALPHA", "RMSPROP_EPS"]

ADAM_BETAS = (0.9, 0.999)  # torch.optim.Adam defaults
ADAM_EPS = 1e-8
RMSPROP_ALPHA = 0.99  # torch.optim.RMSprop defaults (Keras: rho 0.9, eps 1e-7)
RMSPROP_EPS = 1e-8
CLIP_NORM_EPS = 1e-6  # as torch.nn.utils.clip_grad_norm_


class StackedOptimizer:
    """The optimiser state of M runs whose parameters are stacked along dim 0 (``flat``: views (M, -1))."""

    def __init__(self, flat: list[Tensor], lr: Tensor, config: TrainConfig) -> None:
        self.flat, self.lr, self.config = flat, lr, config
        self.M = flat[0].shape[0]
        self.alive = torch.ones(self.M, dtype=torch.bool, device=lr.device)
        # Adam m / SGD momentum buffer / RMSprop square average; Adam v / RMSprop momentum buffer;
        # RMSprop's gradient average (centered)
        self.state = [torch.zeros_like(f) for f in flat]
        second = config.optimizer == "adam" or (config.optimizer == "rmsprop" and config.rmsprop_momentum > 0)
        self.state2 = [torch.zeros_like(f) for f in flat] if second else []
        centered = config.optimizer == "rmsprop" and config.rmsprop_centered
        self.state3 = [torch.zeros_like(f) for f in flat] if centered else []
        self._adam_step = torch.zeros((), dtype=torch.float32, device=flat[0].device)
        self.clipped_steps = torch.zeros(self.M, dtype=torch.int64, device=lr.device)  # steps clipping changed

    @torch.no_grad()
    def update(self, gradients: list[Tensor], alive: Tensor, step_count: int) -> None:
        """One step for every live run; ``step_count`` steps were taken before (diverged runs get none)."""
        config, M = self.config, self.M
        self.alive = alive
        grads = [g.view(M, -1) for g in gradients]
        dead = ~self.alive
        any_dead = bool(dead.any())
        if any_dead:
            for g in grads:
                g[dead] = 0.0
        if config.clip_value is not None:
            changed = torch.zeros(M, dtype=torch.bool, device=grads[0].device)
            for g in grads:
                changed |= (g.abs() > config.clip_value).any(dim=1)
                g.clamp_(-config.clip_value, config.clip_value)
            self.clipped_steps += (changed & self.alive.to(changed.device)).to(self.clipped_steps.device)
        if config.clip_norm is not None:
            norms = torch.stack([torch.linalg.vector_norm(g, 2, dim=1) for g in grads])
            total = torch.linalg.vector_norm(norms, 2, dim=0)
            scale = config.clip_norm / (total + CLIP_NORM_EPS)
            self.clipped_steps += ((scale < 1.0) & self.alive.to(scale.device)).to(self.clipped_steps.device)
            coef = torch.clamp(scale, max=1.0).unsqueeze(1)
            for g in grads:
                g.mul_(coef)
        step = step_count + 1
        if config.optimizer == "adam" and hasattr(torch, "_fused_adam_"):
            self._fused_adam(grads, step)
            return
        lr = torch.where(self.alive, self.lr, 0.0)
        if config.optimizer == "adam":
            beta1, beta2 = config.adam_beta1, config.adam_beta2
            step_size = (lr / (1 - beta1 ** step)).float().unsqueeze(1)
            correction2 = math.sqrt(1 - beta2 ** step)
            for p, g, m, v in zip(self.flat, grads, self.state, self.state2):
                if config.weight_decay:
                    g = g.add(p, alpha=config.weight_decay)
                m.lerp_(g, 1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                denom = (v.sqrt() / correction2).add_(config.eps)
                p.sub_(torch.div(m, denom).mul_(step_size))
        elif config.optimizer == "rmsprop":  # as torch.optim.RMSprop
            rate = lr.float().unsqueeze(1)
            alpha, momentum = config.rmsprop_alpha, config.rmsprop_momentum
            for k, (p, g, square) in enumerate(zip(self.flat, grads, self.state)):
                if config.weight_decay:
                    g = g.add(p, alpha=config.weight_decay)
                square.mul_(alpha).addcmul_(g, g, value=1 - alpha)
                if self.state3:
                    average = self.state3[k]
                    average.lerp_(g, 1 - alpha)
                    denom = square.addcmul(average, average, value=-1).sqrt_().add_(config.eps)
                else:
                    denom = square.sqrt().add_(config.eps)
                if momentum > 0:
                    buf = self.state2[k]
                    buf.mul_(momentum).addcdiv_(g, denom)
                    p.sub_(buf * rate)
                else:
                    p.sub_(g / denom * rate)
        else:
            rate = lr.float().unsqueeze(1)
            for p, g, buf in zip(self.flat, grads, self.state):
                if config.weight_decay:
                    g = g.add(p, alpha=config.weight_decay)
                if config.momentum:
                    # torch.optim.SGD: the buffer starts as the first gradient (dampening 0: the same as 0·m + g)
                    buf.mul_(config.momentum).add_(g)
                    g = g.add(buf, alpha=config.momentum) if config.nesterov else buf
                p.sub_(g * rate)

    def _fused_adam(self, grads: list[Tensor], step: int) -> None:
        """``torch._fused_adam_`` (as ``torch.optim.Adam(fused=True)``), one call per learning rate.

        Every live run has taken the same number of steps; diverged runs are left out.
        """
        beta1, beta2 = self.config.adam_beta1, self.config.adam_beta2
        self._adam_step.fill_(step)
        rates = self.lr.tolist()
        alive = self.alive.tolist()
        by_rate: dict[float, list[int]] = {}
        for i, (rate, live) in enumerate(zip(rates, alive)):
            if live:
                by_rate.setdefault(rate, []).append(i)
        for rate, members in by_rate.items():
            if len(members) == self.M:
                lists = [self.flat, grads, self.state, self.state2]
            else:
                lists = [[t[i] for t in tensors for i in members]
                         for tensors in (self.flat, grads, self.state, self.state2)]
            torch._fused_adam_(*lists, [], [self._adam_step] * len(lists[0]), amsgrad=False, lr=rate,
                               beta1=beta1, beta2=beta2, weight_decay=self.config.weight_decay, eps=self.config.eps,
                               maximize=False)

