"""Small helpers shared by the catalog's definition files."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from actlab.spec import Init, Param

__all__ = ["HE", "GLOROT", "LECUN", "Param", "Init", "zeros", "ones", "positive", "nonnegative", "SQRT_2", "SQRT_2_OVER_PI"]

SQRT_2 = math.sqrt(2.0)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)

HE = Init("he", "rectifier-like: half the inputs are (nearly) zeroed, so fan-in variance 2/n keeps the signal (He et al., 2015)")
GLOROT = Init("glorot", "symmetric, linear near 0: variance 2/(fan_in + fan_out) balances forward and backward signal (Glorot & Bengio, 2010)")
LECUN = Init("lecun", "self-normalising nets need weights with variance 1/fan_in (lecun_normal) for the fixed point (0, 1) (Klambauer et al., 2017)")


def zeros(x: Tensor) -> Tensor:
    return torch.zeros_like(x)


def ones(x: Tensor) -> Tensor:
    return torch.ones_like(x)


def positive(name: str, default: float, source: str, doc: str = "", **kw) -> Param:
    return Param(name, default, low=0.0, low_open=True, source=source, doc=doc, **kw)


def nonnegative(name: str, default: float, source: str, doc: str = "", **kw) -> Param:
    return Param(name, default, low=0.0, source=source, doc=doc, **kw)
