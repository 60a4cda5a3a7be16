"""The gradient-flow probe of ``actlab compare --diagnostics``: a probe the driver calls (:mod:`actlab.train.driver`).

At initialisation and after every evaluation point, each live run is measured on the
driver's fixed batch (the first 1 000 training examples) by
:func:`actlab.analysis.layer_measures.collect` (the definitions of speed, weight-gradient
norm, dead and saturated fractions are in that module), on a plain ``nn.Sequential``
holding the run's weights (the grid copies each run's stacked weights into one), in
float32 whatever the training precision: both engines report the same numbers for the
same run.  Measuring takes gradients with ``torch.autograd.grad``: it changes neither
the weights, the optimiser state nor any random stream, so a run trains identically
with and without ``--diagnostics``.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from actlab.analysis.layer_measures import collect, max_abs_derivative
from actlab.spec import ActivationSpec
from actlab.train.driver import ProbePoint
from actlab.train.events import LayerDiagnostics
from actlab.train.metrics import per_model_loss

__all__ = ["GradientFlowProbe", "histogram", "HISTOGRAM_BINS"]

HISTOGRAM_BINS = 30
_MAX_DERIVATIVE: dict[int, tuple[ActivationSpec, float | None]] = {}


def histogram(values: Tensor, bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
    """A compact histogram of the finite ``values``: equal-width bins from min to max (TensorBoard's raw form)."""
    values = values.detach().float().flatten()
    finite = values if bool(torch.isfinite(values).all()) else values[torch.isfinite(values)]
    if finite.numel() == 0:
        return {"min": 0.0, "max": 0.0, "num": 0, "sum": 0.0, "sum_squares": 0.0, "counts": []}
    low, high = (float(v) for v in torch.aminmax(finite))
    counts = torch.histc(finite, bins=bins, min=low, max=high) if high > low else torch.tensor([finite.numel()])
    as_double = finite.double()
    return {"min": low, "max": high, "num": int(finite.numel()), "sum": float(as_double.sum()),
            "sum_squares": float(torch.dot(as_double, as_double)), "counts": [int(c) for c in counts]}


def _clean(value: Any) -> Any:
    """NaN / ±inf as None (the event stays JSON-serialisable)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _max_derivative(spec: ActivationSpec) -> float | None:
    """max |f'| from the property table, computed once per spec object (it keeps the spec alive)."""
    key = id(spec)
    if key not in _MAX_DERIVATIVE or _MAX_DERIVATIVE[key][0] is not spec:
        _MAX_DERIVATIVE[key] = (spec, max_abs_derivative(spec))
    return _MAX_DERIVATIVE[key][1]


class GradientFlowProbe:
    """Emits one :class:`LayerDiagnostics` per live run at each point the driver calls it."""

    def __call__(self, point: ProbePoint) -> None:
        for _, run_id, model, spec in point.models():
            if spec is None:
                continue
            snapshot = collect(model, point.x, lambda out: per_model_loss(out.float(), point.y, point.kind), spec,
                               max_derivative=_max_derivative(spec))
            layers = tuple({k: _clean(v) for k, v in layer.to_dict().items()} for layer in snapshot.layers)
            histograms = tuple(histogram(a) for a in snapshot.activations)
            point.emit(LayerDiagnostics(run_id, point.epoch, point.step, _clean(snapshot.loss), layers, histograms))


def probes_for(config: Any) -> list[GradientFlowProbe]:
    """The probes a sweep's TrainConfig asks for (``diagnostics``: the gradient-flow probe)."""
    return [GradientFlowProbe()] if getattr(config, "diagnostics", False) else []
