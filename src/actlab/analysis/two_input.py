"""Properties of the two-input (gated) units y = v · act(g): what carries over from the gate, what does not apply.

A gated unit (``kind="gated"``: GLU, ReGLU, GEGLU, SwiGLU, bilinear) is analysed through its gate function
x ↦ act(x) (the unit with the value held at 1), then :func:`two_input_fields` turns the gate's table into the
unit's:

- **from the gate** (the product with v keeps them): continuous, differentiable, kinks, smooth, saturation_low /
  saturation_high and dead_region (where ∂y/∂g = v·act′(g) vanishes for every v), sparsity
  (P[y = 0] = P[act(G) = 0], since P[V = 0] = 0);
- **computed for the product**: range (−∞, ∞) whenever act is not identically 0 (v takes every sign and size);
  zero_at_origin (y(0, 0) = 0); identity_near_origin False (∂y/∂v(0, 0) = act(0) and ∂y/∂g(0, 0) = 0, never the
  identity on both inputs); bounded_derivative False and exploding_risk True (∂y/∂g = v·act′(g) grows with |v|
  unless act′ ≡ 0);
- **not applicable** (left empty): monotonic (a function of two inputs), derivative_min / derivative_max /
  argmax_derivative and vanishing_risk (a gradient, not one derivative);
- **Gaussian moments over independent halves** V, G ~ N(0, 1): E y = E V · E act(G) = 0,
  E y² = E V² · E act(G)² = E act(G)², Var y = E act(G)²; ``gaussian_mean_derivative`` is E ∂y/∂v = E act(G)
  (E ∂y/∂g = E V · E act′(G) = 0); self_normalizing when E act(G)² = 1 (the bilinear unit).
"""
from __future__ import annotations

import math
from typing import Any

from actlab.analysis.fields import SELF_NORMALIZING_TOLERANCE

__all__ = ["two_input_fields", "NOT_APPLICABLE"]

NOT_APPLICABLE = ("monotonic", "derivative_min", "derivative_max", "argmax_derivative", "vanishing_risk")


def two_input_fields(out: dict[str, Any], notes: list[str]) -> None:
    """Turn the gate's computed fields (``out``, in place) into the two-input unit's; explain in ``notes``."""
    gate_min, gate_max = out.get("range_min"), out.get("range_max")
    gate_zero = gate_min is not None and gate_max is not None and gate_min == 0.0 and gate_max == 0.0
    for name in NOT_APPLICABLE:
        out.pop(name, None)
    if gate_min is not None and gate_max is not None:
        out["range_min"], out["range_max"] = (0.0, 0.0) if gate_zero else (-math.inf, math.inf)
    out["zero_at_origin"] = True
    out["identity_near_origin"] = False
    if "bounded_derivative" in out:
        derivative_zero = gate_zero
        out["bounded_derivative"] = derivative_zero
        out["exploding_risk"] = not derivative_zero
    mean_gate = out.get("gaussian_mean")
    second = out.get("gaussian_second_moment")
    if mean_gate is not None and second is not None:
        out["gaussian_mean"] = 0.0
        out["gaussian_second_moment"] = second
        out["gaussian_variance"] = second
        out["gaussian_mean_derivative"] = mean_gate
        out["self_normalizing"] = bool(abs(second - 1.0) <= SELF_NORMALIZING_TOLERANCE)
    notes.append(
        "two-input unit y = v·act(g) on the halves of its input: continuity, kinks, smoothness, saturation, dead "
        "region and sparsity are the gate's (x ↦ act(x)); monotonic, derivative bounds and vanishing_risk do not "
        "apply (left empty); Gaussian moments are for independent halves V, G ~ N(0, 1): E y = 0, "
        "E y² = Var y = E act(G)², and gaussian_mean_derivative is E ∂y/∂v = E act(G) (E ∂y/∂g = 0)"
    )
