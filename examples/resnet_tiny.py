"""A small residual CNN, written as a user's own model: ``build(act_layer=...)`` returns it.

actlab calls ``build(act_layer=..., input_shape=..., n_outputs=...)`` once per run, with the activation being
compared as ``act_layer`` (timm-style: a callable returning a module)::

    actlab compare --model examples/resnet_tiny.py:build --dataset shapes --acts relu,gelu,silu,mish --seeds 3 --epochs 3
"""
from __future__ import annotations

from torch import nn


class Block(nn.Module):
    """conv 3×3 → BN → act → conv 3×3 → BN, plus the input (a 1×1 conv when the shape changes), then act."""

    def __init__(self, channels_in: int, channels_out: int, stride: int, act_layer) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.act1 = act_layer()
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.skip = (nn.Identity() if stride == 1 and channels_in == channels_out else
                     nn.Sequential(nn.Conv2d(channels_in, channels_out, 1, stride=stride, bias=False),
                                   nn.BatchNorm2d(channels_out)))
        self.act2 = act_layer()

    def forward(self, x):
        return self.act2(self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x))))) + self.skip(x))


class ResNetTiny(nn.Module):
    """stem (conv 3×3, 16 channels) → block 16 → block 32 (stride 2) → global average pool → linear."""

    def __init__(self, channels: int, n_outputs: int, act_layer, width: int = 16) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                                  act_layer())
        self.blocks = nn.Sequential(Block(width, width, 1, act_layer), Block(width, 2 * width, 2, act_layer))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, n_outputs))

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


def build(act_layer=nn.ReLU, input_shape=(3, 16, 16), n_outputs=4) -> nn.Module:
    """The model for one run: ``act_layer`` makes every activation, ``input_shape`` is (C, H, W)."""
    return ResNetTiny(int(input_shape[0]), int(n_outputs), act_layer)
