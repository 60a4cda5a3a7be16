"""Gradient-flow diagnostics: per-layer speed of learning, dead and saturated units, clipping, presets."""
