"""The grid engine's CNN: the convolutional part of M stacked CNNs, and one activation group's activation.

On a CPU each run's two convolutions are convolutions of its own (channels-last), and each activation group
(the runs that share an activation, a contiguous slice of the grid) is max-pooled, dropped out and flattened
together.  On other devices a group's convolutions are one grouped convolution (``groups`` = the group's
runs: fewer kernel launches).  On a CPU grouped convolutions parallelise worse than one convolution per
model, and per-model convolutions on channel slices of a grouped tensor make oneDNN copy the strided slices
(``benchmarks/bench_cnn.py``; the timings are on the docs site's benchmarks page).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from actlab.models import CNN_POOL
from actlab.nn import function_for

__all__ = ["cnn_features", "apply_activation", "CHANNELS_LAST"]

CHANNELS_LAST = torch.channels_last
PER_MODEL_DEVICES = ("cpu",)  # device types whose convolutions run one per model (else grouped per activation)


def cnn_features(trainer, params: list[Tensor], x: Tensor, shared: bool, train: bool) -> tuple[Tensor, int]:
    """The CNN of ``trainer`` (a :class:`actlab.train.grid.GridTrainer`) up to the dense layers: (M, B, features),
    and the number of ``params`` used (4); on a CPU without dropout also the first dense layer's pre-activation
    (M, B, 128) run by run, and 6 (no (M, B, features) tensor assembled: 85 MB for 18 runs of 128 images).

    ``x``: (B, C, H, W) shared by all runs, or (M, B, C, H, W) one batch per run."""
    M = trainer.M
    w1, b1, w2, b2 = params[:4]
    c1, c2 = w1.shape[0] // M, w2.shape[0] // M  # channels per run
    if x.device.type in PER_MODEL_DEVICES:
        return _per_model(trainer, params, x, shared, train, c1, c2)
    if not shared:  # (M, B, C, H, W) → (B, M·C, H, W)
        x = x.transpose(0, 1).reshape(x.shape[1], -1, *x.shape[3:])
    x = x.contiguous(memory_format=CHANNELS_LAST)
    c0 = x.shape[1] // M
    features = []
    for g in trainer.groups:
        n = g.stop - g.start
        w1g = w1[g.start * c1:g.stop * c1].contiguous(memory_format=CHANNELS_LAST)
        w2g = w2[g.start * c2:g.stop * c2].contiguous(memory_format=CHANNELS_LAST)
        if shared:
            z = F.conv2d(x, w1g, b1[g.start * c1:g.stop * c1])
        else:
            z = F.conv2d(x[:, g.start * c0:g.stop * c0], w1g, b1[g.start * c1:g.stop * c1], groups=n)
        h = apply_activation(g, z)  # no dropout between the convolutions
        h = apply_activation(g, F.conv2d(h, w2g, b2[g.start * c2:g.stop * c2], groups=n))
        features.append(_group_features(trainer, g, F.max_pool2d(h, CNN_POOL), train))
    return (features[0] if len(features) == 1 else torch.cat(features)), 4


def _per_model(trainer, params: list[Tensor], x: Tensor, shared: bool, train: bool, c1: int, c2: int
               ) -> tuple[Tensor, int]:
    """:func:`cnn_features` with one pair of convolutions per run (CPU).

    The first convolution is one GEMM on the unfolded input patches (shared by the runs of a batch), written
    channels-last: ``F.conv2d`` on a one-channel input returns NCHW, and the second convolution then converted
    it (and its gradient) every step (6 % of a profiled 2-thread step).  Same values (max difference 0.0 measured)."""
    # per-run views by split/unbind: their backward assembles the gradient once, where indexing
    # (``w[r]``) would allocate a zero gradient of the whole stacked tensor per run (85 MB for the dense layer)
    w1, b1, w2, b2 = (p.split(c) for p, c in zip(params[:4], (c1, c1, c2, c2)))
    k = params[0].shape[-1]
    patches = _patches(x, k) if shared else None
    dense = not (train and trainer.config.dropout > 0)  # no dropout: the first dense layer run by run too
    w3, b3 = (params[4].unbind(0), params[5].unbind(0)) if dense else (None, None)
    features = []
    for g in trainer.groups:
        pooled = []
        for r in range(g.start, g.stop):
            h = _conv_from_patches(patches if shared else _patches(x[r], k), w1[r], b1[r], x.shape[-2:])
            h = apply_activation(g, h)  # no dropout between the convolutions
            h = apply_activation(g, F.conv2d(h, w2[r].contiguous(memory_format=CHANNELS_LAST), b2[r]))
            h = F.max_pool2d(h, CNN_POOL)
            if dense:  # (B, 128) = flatten(h) @ W_r + b_r
                features.append(torch.addmm(b3[r], _FlattenChannelsLast.apply(h), w3[r]))
            else:
                pooled.append(h)
        if not dense:
            h = pooled[0] if len(pooled) == 1 else torch.cat(pooled, 1)  # (B, n·C, H, W), channels-last
            features.append(_group_features(trainer, g, h, train))
    if dense:
        return torch.stack(features), 6
    return (features[0] if len(features) == 1 else torch.cat(features)), 4


def _patches(x: Tensor, k: int) -> Tensor:
    """(B, L, C·k·k): the k×k patches of ``x`` (B, C, H, W), one row per output position."""
    return F.unfold(x, k).transpose(1, 2)


def _conv_from_patches(patches: Tensor, w: Tensor, b: Tensor, size: torch.Size) -> Tensor:
    """``F.conv2d`` (stride 1, no padding) of the input of ``patches`` with ``w`` (O, C, k, k) and ``b``, as a
    channels-last (B, O, H − k + 1, W − k + 1) tensor."""
    k = w.shape[-1]
    out = torch.matmul(patches, w.reshape(w.shape[0], -1).t()) + b  # (B, L, O): channels-last order
    return out.view(patches.shape[0], size[0] - k + 1, size[1] - k + 1, -1).permute(0, 3, 1, 2)


def _group_features(trainer, g, h: Tensor, train: bool) -> Tensor:
    """A group's pooled maps (B, n·C, H, W): dropout (training), then flattened per run to (n, B, C·H·W)."""
    n = g.stop - g.start
    if train and trainer.config.dropout > 0:
        h = trainer._dropout(h, trainer.config.dropout, g.alpha_dropout, g.spec)
    flat = _FlattenChannelsLast.apply(h)  # (B, n·C·H·W) in nn.Flatten's (C, H, W) order
    return flat.view(h.shape[0], n, -1).transpose(0, 1)


class _FlattenChannelsLast(torch.autograd.Function):
    """A channels-last (B, C, H, W) tensor flattened to (B, C·H·W) in (C, H, W) order, whose gradient goes back
    channels-last.  A plain ``reshape`` sends back a contiguous (NCHW) gradient, and max-pooling's backward on
    a channels-last input with an NCHW gradient takes a slow path: 152–650 ms instead of 45 ms for 128 images ×
    192 channels of 24×24 (1 thread) — a fifth of the whole step."""

    @staticmethod
    def forward(h: Tensor) -> Tensor:
        return h.contiguous().view(h.shape[0], -1)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        return grad.view(ctx.shape).contiguous(memory_format=CHANNELS_LAST)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.shape = inputs[0].shape


def apply_activation(g, z: Tensor) -> Tensor:
    """Group ``g``'s activation on all of ``z`` (float32: under bf16 autocast the layer before gives bfloat16)."""
    if g.spec.native is not None:  # torch's own op, as the sequential engine's module (impl="auto")
        return g.spec.native(z.float(), **dict(zip(g.spec.param_names, g.values)))
    return function_for(g.spec, fused=True).apply(z.float(), *g.values)  # compiled for large tensors, as the module
