"""AlphaDropout for any self-normalising activation, with its constants derived, not typed in.

Klambauer et al. (2017, sec. 3) drop a unit to the activation's saturation value
α′ = lim_{x→−∞} f(x) (for SELU: −λα) instead of to 0, then apply an affine
correction y = a·(x·d + α′·(1 − d)) + b, d ~ Bernoulli(q), q = 1 − rate, chosen
so that y has the same mean μ and variance ν as x:

    E[x·d + α′(1 − d)]   = qμ + (1 − q)α′                      =: m
    Var[x·d + α′(1 − d)] = q(ν + μ²) + (1 − q)α′² − m²          =: s²
    a = √(ν / s²),   b = μ − a·m

At the fixed point (μ, ν) = (0, 1) this is the paper's a = (q + α′²q(1 − q))^(−1/2),
b = −a(1 − q)α′, which is what ``torch.nn.AlphaDropout`` uses for SELU (it calls
−α′ "alpha" and hard-codes 1.7580993408473766).  Here α′ comes from the spec's
forward (a limit, computed in float64), and SELU's from the catalog's α and λ.

>>> round(SELU_ALPHA_PRIME, 12)
-1.758099340847
>>> a, b = affine(0.1, SELU_ALPHA_PRIME)
"""
from __future__ import annotations

import functools
import math
from typing import Any

import torch
from torch import Tensor, nn

from actlab.catalog.rectifiers import SELU_ALPHA, SELU_SCALE
from actlab.errors import ActlabError

__all__ = ["SELU_ALPHA_PRIME", "alpha_prime", "affine", "drop_terms", "AlphaDropout"]

SELU_ALPHA_PRIME = -SELU_SCALE * SELU_ALPHA  # lim_{x→−∞} selu(x) = −λα (Klambauer et al. 2017)

_PROBES = (-10.0, -20.0, -40.0, -80.0, -160.0, -320.0, -640.0, -1280.0, -2560.0, -5120.0)


def alpha_prime(activation: Any, **params: Any) -> float:
    """α′ = lim_{x→−∞} f(x): the value AlphaDropout gives a dropped unit.

    ``activation`` is a spec, name or formula (:func:`actlab.get`).  The limit is
    read off f in float64 at x = −5120, once f(−1280), f(−2560) and f(−5120)
    agree to 1e-12 (relative).  An activation without a finite limit
    (leaky_relu, identity, cos), or one that approaches it too slowly (softsign:
    −1 + 1/(1 + |x|)), raises :class:`ActlabError`.
    """
    from actlab.resolve import get

    spec = get(activation, **params)
    return _alpha_prime(spec)


@functools.lru_cache(maxsize=256)
def _alpha_prime(spec: Any) -> float:  # specs hash by identity (frozen, eq=False)
    if spec.kind != "elementwise":
        raise ActlabError(f"AlphaDropout needs an element-wise activation; {spec.name} is {spec.kind}")
    if math.isfinite(spec.domain[0]):
        raise ActlabError(f"{spec.name} is not defined for x → −∞, so it has no saturation value for AlphaDropout")
    with torch.no_grad():
        values = spec.forward(torch.tensor(_PROBES, dtype=torch.float64), **spec.resolve()).tolist()
    tail = values[-3:]
    last = tail[-1]
    if all(math.isfinite(v) for v in tail) and all(abs(v - last) <= 1e-12 * (1.0 + abs(last)) for v in tail):
        return float(last) + 0.0
    raise ActlabError(
        f"{spec.name} has no finite limit for x → −∞ that f reaches by x = {_PROBES[-1]:g} "
        f"(f({_PROBES[-2]:g}) = {values[-2]:.10g}, f({_PROBES[-1]:g}) = {values[-1]:.10g}); AlphaDropout drops "
        "units to that limit, so it needs an activation that saturates on the left (selu, elu, tanh, sigmoid, ...)"
    )


def affine(rate: float, alpha_prime: float, mean: float = 0.0, variance: float = 1.0) -> tuple[float, float]:
    """(a, b) such that a·(x·d + α′(1 − d)) + b keeps ``mean`` and ``variance`` of x for dropout ``rate``."""
    _check_rate(rate)
    if not (variance > 0 and math.isfinite(variance) and math.isfinite(mean) and math.isfinite(alpha_prime)):
        raise ActlabError(f"AlphaDropout needs a finite mean, variance > 0 and α′; got mean={mean}, "
                          f"variance={variance}, alpha_prime={alpha_prime}")
    q = 1.0 - rate
    m = q * mean + rate * alpha_prime
    spread = q * (variance + mean * mean) + rate * alpha_prime * alpha_prime - m * m
    if not spread > 0:
        raise ActlabError(f"AlphaDropout at rate {rate} leaves no variance to rescale (mean {mean}, α′ {alpha_prime})")
    a = math.sqrt(variance / spread)
    return a, mean - a * m


def drop_terms(keep: Tensor, rate: float, alpha_prime: float, mean: float = 0.0,
               variance: float = 1.0) -> tuple[Tensor, Tensor]:
    """(multiplier, addend) with AlphaDropout(x) = x·multiplier + addend for the 0/1 ``keep`` mask.

    The one implementation the module and both training engines use.
    """
    a, b = affine(rate, alpha_prime, mean, variance)
    return keep * a, (1.0 - keep) * (a * alpha_prime) + b


def _check_rate(rate: float) -> None:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (0.0 <= rate < 1.0):
        raise ActlabError(f"dropout rate must be in [0, 1), got {rate!r}")


class AlphaDropout(nn.Module):
    """Dropout that keeps the mean and variance of self-normalising activations.

    .. math:: y = a\\,(x d + \\alpha'(1 - d)) + b,\\quad d \\sim \\mathrm{Bernoulli}(1 - p)

    Parameters: ``p`` (drop rate, default 0.5 as ``torch.nn.AlphaDropout``);
    ``activation`` (spec, name or formula; α′ = lim f(x), x → −∞; default selu) or
    ``alpha_prime`` directly; ``mean``/``variance`` of the incoming activations
    (default the fixed point (0, 1)).  Identity in eval mode.  Shape: any.

    >>> layer = AlphaDropout(0.1)           # SELU: same as torch.nn.AlphaDropout(0.1) in distribution
    >>> layer = AlphaDropout(0.1, activation="tanh")
    """

    def __init__(self, p: float = 0.5, activation: Any = "selu", *, alpha_prime: float | None = None,
                 mean: float = 0.0, variance: float = 1.0, generator: torch.Generator | None = None):
        super().__init__()
        _check_rate(p)
        self.p = float(p)
        self.alpha_prime = float(alpha_prime) if alpha_prime is not None else globals()["alpha_prime"](activation)
        self.mean, self.variance = float(mean), float(variance)
        self.a, self.b = affine(self.p, self.alpha_prime, self.mean, self.variance)
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = (torch.rand(x.shape, generator=self.generator, device=x.device, dtype=x.dtype) >= self.p).to(x.dtype)
        multiplier, addend = drop_terms(keep, self.p, self.alpha_prime, self.mean, self.variance)
        return x * multiplier + addend

    def extra_repr(self) -> str:
        return f"p={self.p}, alpha_prime={self.alpha_prime!r}, a={self.a!r}, b={self.b!r}"
