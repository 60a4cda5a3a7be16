"""The property table's fields and constants: :class:`Properties` and the exact definition of each field.


``properties(spec_or_name, **params)`` evaluates f and f' (float64) on a grid —
a dense core [-L, L] (step ≈ 1e-3, L = 20 or wider to cover every declared
kink), a finer-than-period band out to ±1000 (step 0.01) and geometric tails out
to ±1e15 — then refines what it finds (bisection of jumps and zero-set edges,
bounded minimisation of extrema).  Gaussian moments come from
:mod:`actlab.analysis.gaussian` (adaptive quadrature split at every kink and jump).
Nothing is typed in: the catalog's ``expected`` values are *checked* against
this table by the test suite.

Exact definitions (one line each; the docs site's property table page prints them):

- ``range_min`` / ``range_max``: inf / sup of f over its domain (±inf when f grows without bound toward an end).
- ``monotonic``: f is non-decreasing or non-increasing (grid differences and the sign of f' both agree).
- ``continuous``: no jump in f (a jump is a step between grid neighbours that survives bisection to width ~1e-15
  with size > 1e-6·(1 + |f|)), and f finite on the domain.
- ``differentiable``: continuous, f' finite, and no jump in f' (same test): f is C¹.  Declared kinks are not trusted blindly:
  a declared kink where f' is continuous is reported in ``notes``.
- ``kinks``: the x where f or f' jumps (computed), sorted.
- ``smooth``: differentiable and the second derivative (autograd of the spec's analytic f') is finite with no jump:
  a numerical proxy for C∞ that catches C¹-but-not-C² functions (ELU α=1, CELU, signed square) but not breaks in
  third or higher derivatives.
- ``zero_at_origin``: |f(0)| ≤ 1e-12.  ``identity_near_origin``: f(0) = 0, f'(0) = 1 (±1e-9) and no kink at 0.
- ``derivative_min`` / ``derivative_max``: inf / sup of f' (±inf when f' grows without bound).
- ``argmax_derivative``: the x nearest 0 where f' attains its maximum (the edge of the set if it is an interval);
  null when the maximum is unbounded or only approached as x → ±∞.
- ``bounded_derivative``: both derivative extrema finite.  ``exploding_risk``: not bounded_derivative.
- ``vanishing_risk``: max |f'| < 1.
- ``saturation_low`` / ``saturation_high``: the x beyond which (toward −∞ / +∞) |f'| stays below 1 % of max |f'|;
  a dead half-line (f' = 0) counts as saturated (ReLU: saturation_low = 0); null when there is no such x.
- ``dead_region``: f' is exactly 0 on a half-line that reaches into the core [-L, L] (float64 underflow far out,
  e.g. sigmoid' at x < −745, does not count).
- ``sparsity``: P[f(Z) = 0], Z ~ N(0, 1): the normal measure of the intervals where f is exactly 0 (edges bisected).
- ``gaussian_mean``, ``gaussian_second_moment``, ``gaussian_variance``, ``gaussian_mean_derivative``:
  E f(Z), E f(Z)², Var f(Z), E f'(Z) for Z ~ N(0, 1) (null when f is not defined on the whole line).
- ``self_normalizing``: |E f(Z)| ≤ 1e-4 and |Var f(Z) − 1| ≤ 1e-4 (the fixed point (0, 1) of the mean/variance map).
- Budget: each group of fields gets a share of :data:`PROPERTY_SECONDS` of CPU time (:data:`SECTION_SHARES`);
  a group that runs past its share is left null, with a note naming its fields ("could not determine ... within
  the budget"), so a hostile formula (``sin(1e16*x)``, ``log(erfc(x))``) is answered in seconds.
- ``relative_cost``: time of forward + backward of the activation's module (``impl="auto"``: the native torch op
  where the record has one, else actlab's autograd Function, run eagerly: the table does not pay seconds of
  compilation per entry, so an entry without a native op costs less in a long training run, where its module
  compiles) on a 1000×1000 float32 tensor divided by torch's
  native ReLU's, measured with ``torch.utils.benchmark`` (``blocked_autorange``) in interleaved rounds: the median
  of the rounds' ratios; ``relative_cost_spread``: half the range of those ratios (hardware- and load-dependent).
- Vector / grouped activations (softmax, log_softmax, maxout) are described by their scalar slice
  x ↦ f([x, 0, …])[0] (the other inputs of the vector or group held at 0): softmax's slice is σ(x).
- Gated units (GLU, ReGLU, GEGLU, SwiGLU, bilinear: y = v·act(g) on the halves of the input) are described through
  their gate x ↦ act(x), then turned into the unit's table by :mod:`actlab.analysis.two_input` (what carries
  over, what does not apply, Gaussian moments over independent halves)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Array = np.ndarray

FIELDS = (
    "range_min",
    "range_max",
    "monotonic",
    "continuous",
    "differentiable",
    "kinks",
    "smooth",
    "zero_at_origin",
    "identity_near_origin",
    "derivative_min",
    "derivative_max",
    "argmax_derivative",
    "bounded_derivative",
    "vanishing_risk",
    "exploding_risk",
    "saturation_low",
    "saturation_high",
    "dead_region",
    "sparsity",
    "gaussian_mean",
    "gaussian_second_moment",
    "gaussian_variance",
    "gaussian_mean_derivative",
    "self_normalizing",
    "relative_cost",
    "relative_cost_spread",
)

CORE_HALF_WIDTH = 20.0  # the dense core is [-L, L], L >= this
CORE_STEP = 1e-3
BAND_END = 1000.0
BAND_STEP = 2e-2
TAIL_END = 1e15
JUMP_TOLERANCE = 1e-6  # relative size of a jump that counts (softplus's threshold switch is 2e-9)
SECOND_JUMP_TOLERANCE = 1e-5
SATURATION_FRACTION = 0.01
SELF_NORMALIZING_TOLERANCE = 1e-4
SPARSITY_CUTOFF = 1e-9  # |f| just past a zero interval's edge, for the interval to count (not underflow)
PROPERTY_SECONDS = 3.0  # CPU seconds for one activation's table (without the cost timing), shared out below
# each group of fields gets its own share of PROPERTY_SECONDS; a group that runs past it is answered with None and a
# note "could not determine ... within ... s" while the other groups keep theirs
SECTION_SHARES = {
    "kinks": 0.1, "grid": 0.1, "range": 0.1, "continuity": 0.2, "smooth": 0.1, "origin": 0.05,
    "derivative": 0.15, "saturation": 0.05, "gaussian": 0.15,
}
COST_SHAPE = (1000, 1000)
COST_REPEATS = 5  # interleaved rounds


@dataclass(frozen=True)
class Properties:
    """The computed properties of one activation (see the module docstring for each definition)."""

    name: str
    range_min: float | None = None
    range_max: float | None = None
    monotonic: bool | None = None
    continuous: bool | None = None
    differentiable: bool | None = None
    kinks: tuple[float, ...] | None = None
    smooth: bool | None = None
    zero_at_origin: bool | None = None
    identity_near_origin: bool | None = None
    derivative_min: float | None = None
    derivative_max: float | None = None
    argmax_derivative: float | None = None
    bounded_derivative: bool | None = None
    vanishing_risk: bool | None = None
    exploding_risk: bool | None = None
    saturation_low: float | None = None
    saturation_high: float | None = None
    dead_region: bool | None = None
    sparsity: float | None = None
    gaussian_mean: float | None = None
    gaussian_second_moment: float | None = None
    gaussian_variance: float | None = None
    gaussian_mean_derivative: float | None = None
    self_normalizing: bool | None = None
    relative_cost: float | None = None
    relative_cost_spread: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``name``, every field of :data:`FIELDS`, and ``notes`` (lists for tuples)."""
        out: dict[str, Any] = {"name": self.name}
        for key in FIELDS:
            value = getattr(self, key)
            out[key] = list(value) if isinstance(value, tuple) else value
        out["notes"] = list(self.notes)
        return out

