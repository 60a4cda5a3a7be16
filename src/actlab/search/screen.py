"""The screen: rules every candidate must pass before it is trained, each a documented, switchable function.

A rule takes a :class:`Probe` (the candidate's f and its exact derivative f' as float64 functions, the
formula tree walked by :mod:`actlab.formula.torchfn` and :mod:`actlab.formula.chainrule`; no SymPy) and
returns a :class:`Verdict`: passed, the measured value, one line saying why.

``finite``         f and f' are finite (float32, what training uses) on a wide grid, [-50, 50].
``not_constant``   f' is not identically zero: max |f'| over the grid > 1e-6 (a constant learns nothing).
``no_dead_region`` the points where |f'| < 1e-6 hold at most half of N(0, 1)'s mass (ReLU's 1/2 passes;
                   ``min(relu(x), 0)``, zero everywhere but a kink, fails).
``bounded_gain``   the mean/variance map of :mod:`actlab.analysis.selfnorm` at a normalised init (ω = 0,
                   τ = 1 / E f(z)², so the second moment 1 is the fixed point of q ↦ τ E f(√q z)² = τ (ν̃ + μ̃²)):
                   a perturbation of q grows at most ×1e4 through :data:`GAIN_LAYERS` layers (the slope
                   there, from the map's Jacobian, to the 20th power; decaying is fine: the point attracts),
                   and the gradient gain χ = τ E f'(z)² (Schoenholz et al. 2017) to the 20th power stays
                   within [1e-4, 1e4] (no vanishing or exploding gradient).
``distinct``       f is not numerically the same function as an earlier candidate (values on 81 points of
                   [-8, 8] agree to 1e-9 relative): what SymPy's canonical form did not see.

``normalise`` (AQuaSurF, Bingham & Miikkulainen 2023): the candidate becomes (f − E f(z)) / √Var f(z),
z ~ N(0, 1), written back into formula text, before ``bounded_gain`` and ``distinct`` look at it.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["RULES", "Probe", "Verdict", "probe", "run_screen", "normalised", "GAIN_LAYERS", "rule_names"]

WIDE = 50.0
GRID = np.linspace(-WIDE, WIDE, 4001)
FLAT = 1e-6
GAIN_LAYERS = 20
GAIN_LIMIT = 1e4
GAIN_RTOL = 1e-4  # a screen, not a measurement: 4 digits decide collapse or explosion
FINGERPRINT_X = np.linspace(-8.0, 8.0, 81)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    value: float | None
    detail: str


class Probe:
    """f and f' of one formula (parameters bound) as float64 numpy functions."""

    def __init__(self, formula: str, params: Mapping[str, float]):
        from actlab.formula import parse
        from actlab.formula.chainrule import derivative
        from actlab.formula.torchfn import derivative_function, forward_function

        self.formula = formula
        self.params = dict(params)
        tree = parse(formula)
        self._f = forward_function(tree)
        self._df = derivative_function(derivative(tree))

    def _call(self, fn: Callable[..., Any], x: np.ndarray, dtype: Any) -> np.ndarray:
        import torch

        t = torch.from_numpy(np.ascontiguousarray(x)).to(dtype)
        with torch.no_grad():
            y = fn(t, **self.params)
        y = y if isinstance(y, torch.Tensor) else torch.full_like(t, float(y))
        return np.broadcast_to(y.to(torch.float64).numpy(), x.shape).copy()

    def f(self, x: np.ndarray, precision: str = "float64") -> np.ndarray:
        import torch

        with np.errstate(all="ignore"):
            return self._call(self._f, x, getattr(torch, precision))

    def df(self, x: np.ndarray, precision: str = "float64") -> np.ndarray:
        import torch

        with np.errstate(all="ignore"):
            return self._call(self._df, x, getattr(torch, precision))


def probe(formula: str, params: Mapping[str, float] | None = None) -> Probe:
    return Probe(formula, params or {})


# ------------------------------------------------------------------ the rules
def finite(p: Probe, _context: dict[str, Any]) -> Verdict:
    bad = ~np.isfinite(p.f(GRID, "float32")) | ~np.isfinite(p.df(GRID, "float32"))
    if bad.any():
        where = float(GRID[np.argmax(bad)])
        return Verdict(False, float(bad.mean()), f"f or f' is not finite in float32 at x = {where:g} "
                                                  f"({bad.mean():.1%} of [-{WIDE:g}, {WIDE:g}])")
    return Verdict(True, 0.0, f"finite on [-{WIDE:g}, {WIDE:g}] in float32")


def not_constant(p: Probe, _context: dict[str, Any]) -> Verdict:
    largest = float(np.max(np.abs(p.df(GRID))))
    if not largest > FLAT:
        return Verdict(False, largest, f"f' is zero everywhere on the grid (max |f'| = {largest:.3g})")
    return Verdict(True, largest, f"max |f'| = {largest:.3g}")


def _normal_weights(x: np.ndarray) -> np.ndarray:
    w = np.exp(-0.5 * x * x)
    return w / w.sum()


_DEAD_X = np.linspace(-8.0, 8.0, 4001)
_DEAD_W = _normal_weights(_DEAD_X)


def no_dead_region(p: Probe, _context: dict[str, Any]) -> Verdict:
    dead = float(_DEAD_W[np.abs(p.df(_DEAD_X)) < FLAT].sum())
    if dead > 0.5 + 1e-3:
        return Verdict(False, dead, f"f' is flat on {dead:.1%} of N(0, 1)'s mass")
    return Verdict(True, dead, f"flat on {dead:.1%} of N(0, 1)")


def _mapped(p: Probe) -> Any:
    """The function :func:`actlab.analysis.selfnorm.map_with_jacobian` integrates (its ``_F``: f(x), kinks, spec)."""
    from actlab.analysis.selfnorm import _F

    class Mapped(_F):
        def __init__(self) -> None:  # no spec to resolve: the probe is f
            self.kinks = ()
            self.spec = type("Named", (), {"name": p.formula})

        def __call__(self, x: np.ndarray) -> np.ndarray:
            return p.f(x)

    return Mapped()


def _power(value: float) -> float:
    """``value`` ** GAIN_LAYERS without OverflowError (inf beyond float range; nan stays nan)."""
    if not value > 0:
        return value if math.isnan(value) else 0.0
    return math.exp(min(700.0, GAIN_LAYERS * math.log(value))) if math.isfinite(value) else math.inf


def bounded_gain(p: Probe, _context: dict[str, Any]) -> Verdict:
    from actlab.analysis import gaussian
    from actlab.analysis.selfnorm import map_with_jacobian
    from actlab.errors import ActlabError

    mapped = _mapped(p)
    try:  # pre-activations z ~ N(0, q) at q = 1: S(q) = E f(z)² = ν̃ + μ̃² and its slope, from the map's Jacobian
        value = map_with_jacobian(mapped, 0.0, 1.0, 0.0, 1.0, rtol=GAIN_RTOL, atol=1e-12)
    except ActlabError:
        return Verdict(False, None, "E f(z)² is not finite for z ~ N(0, 1)")
    second = value.variance + value.mean ** 2
    if not second > 1e-12:
        return Verdict(False, 0.0, "E f(z)² = 0: the signal is gone after one layer")
    tau = 1.0 / second  # zero-mean weights with Σw² = τ: q ↦ τ S(q) has its fixed point at q = 1
    (_, dmean), (_, dvariance) = value.jacobian
    slope = abs(tau * (dvariance + 2 * value.mean * dmean))
    signal = _power(slope)
    chi = tau * float(gaussian.expectation(lambda x: np.nan_to_num(p.df(x) ** 2, nan=np.inf), 0.0, 1.0,
                                           rtol=GAIN_RTOL, atol=1e-12))
    gradient = _power(chi)
    if not math.isfinite(signal) or signal > GAIN_LIMIT:
        return Verdict(False, None if not math.isfinite(signal) else signal,
                       f"unit variance is a repelling fixed point (slope {slope:.3g}): a perturbation grows "
                       f"×{signal:.3g} through {GAIN_LAYERS} layers (τ = {tau:.3g})")
    if not math.isfinite(gradient) or not (1 / GAIN_LIMIT <= gradient <= GAIN_LIMIT):
        verb = "vanishes" if gradient < 1 else "explodes"
        return Verdict(False, gradient if math.isfinite(gradient) else None,
                       f"the gradient {verb} through {GAIN_LAYERS} layers: χ = {chi:.3g}, χ^{GAIN_LAYERS} = "
                       f"{gradient:.3g} (τ = {tau:.3g})")
    return Verdict(True, gradient, f"through {GAIN_LAYERS} layers at τ = {tau:.3g}: gradient ×{gradient:.3g}, "
                                   f"variance perturbation ×{signal:.3g}")


def distinct(p: Probe, context: dict[str, Any]) -> Verdict:
    seen: dict[bytes, str] = context.setdefault("fingerprints", {})
    y = p.f(FINGERPRINT_X)
    scale = max(1e-12, float(np.max(np.abs(y))))
    key = np.round(y / scale, 9).tobytes() + np.float64(round(scale, 9 - int(math.floor(math.log10(scale))))).tobytes()
    if key in seen:
        return Verdict(False, None, f"the same function as {seen[key]}")
    seen[key] = p.formula
    return Verdict(True, None, "no earlier candidate has its values")


RULES: dict[str, Callable[[Probe, dict[str, Any]], Verdict]] = {
    "finite": finite, "not_constant": not_constant, "no_dead_region": no_dead_region,
    "bounded_gain": bounded_gain, "distinct": distinct,
}


def rule_names(text: str | None) -> list[str]:
    """``--screen`` text (``"all"``, ``"none"``, or a comma list; ``-name`` drops one) → the rules to apply."""
    from actlab.errors import ActlabError, suggest

    if text is None or text.strip() == "all":
        return list(RULES)
    if text.strip() == "none":
        return []
    items = [item.strip() for item in text.split(",") if item.strip()]
    drop = [item[1:] for item in items if item.startswith("-")]
    keep = [item for item in items if not item.startswith("-")]
    for name in drop + keep:
        if name not in RULES:
            close = suggest(name, RULES)
            raise ActlabError(f"--screen: unknown rule {name!r}" + (f"; did you mean {' or '.join(close)}?" if close
                                                                     else f"; choose from {', '.join(RULES)}"))
    chosen = keep or list(RULES)
    return [name for name in chosen if name not in drop]


def normalised(formula: str, params: Mapping[str, float]) -> str | None:
    """AQuaSurF's normalisation as formula text, ``(f - m)/s`` with m = E f(z), s = √Var f(z); None when
    the moments are not finite or the variance is 0."""
    from actlab.analysis import gaussian

    p = probe(formula, params)
    m, m2 = gaussian.expectation(lambda x: np.stack([p.f(x), p.f(x) ** 2]), rtol=1e-9, atol=1e-12)
    var = float(m2 - m * m)
    if not (math.isfinite(m) and math.isfinite(var) and var > 1e-12):
        return None
    return f"(({formula}) - ({float(m):.9g}))/{math.sqrt(var):.9g}"


def run_screen(formula: str, params: Mapping[str, float], rules: Sequence[str],
               context: dict[str, Any]) -> dict[str, Verdict]:
    """Apply ``rules`` in order; stop at the first failure (later rules get no verdict)."""
    p = probe(formula, params)
    out: dict[str, Verdict] = {}
    for name in rules:
        verdict = RULES[name](p, context)
        out[name] = verdict
        if not verdict.passed:
            break
    return out
