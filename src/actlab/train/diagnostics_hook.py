"""Gradient-flow diagnostics and clipping counts for both engines (``actlab compare --diagnostics``).

At initialisation and at the end of every epoch, each live run is measured on
one fixed evaluation batch — the first :data:`EVAL_EXAMPLES` training examples —
by :func:`actlab.diagnostics.measures.collect` (the definitions of speed,
weight-gradient norm, dead and saturated fractions are in that module):

- sequential engine: on the run's own ``nn.Sequential``;
- grid engine: each run's weights are copied out of the stacked tensors into a
  plain ``nn.Sequential`` of the same architecture (one per activation group,
  reused), then measured the same way — one small forward/backward per run per
  epoch, in float32 whatever the training precision, so both engines report the
  same numbers for the same run.

Measuring reads the weights and takes gradients with ``torch.autograd.grad``: it
changes neither the weights, the optimiser state nor any random stream, so a run
trains identically with and without ``--diagnostics``.

Clipping (``clip_value`` / ``clip_norm``): a step counts as clipped when clipping
changed its gradient (some |g| > c; or the run's global norm + 1e-6 > c, where
``clip_grad_norm_`` scales by c / (norm + 1e-6) < 1).  Each epoch end emits a
:class:`~actlab.train.events.ClipCount` per live run, with or without ``--diagnostics``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from actlab.diagnostics.measures import collect, max_abs_derivative
from actlab.models import build_model
from actlab.spec import ActivationSpec
from actlab.train.config import TrainConfig
from actlab.train.events import ClipCount, LayerDiagnostics
from actlab.train.metrics import per_model_loss
from actlab.train.prepared import Prepared

if TYPE_CHECKING:
    from actlab.train.grid import GridTrainer
    from actlab.train.sequential import SingleRun

__all__ = ["EVAL_EXAMPLES", "HISTOGRAM_BINS", "Probe", "GridProbe", "SingleProbe", "clip_gradients",
           "histogram", "copy_stacked_weights"]

EVAL_EXAMPLES = 1000  # the fixed evaluation batch: the first 1 000 training examples
HISTOGRAM_BINS = 30

Emit = Callable[[object], None]
_MAX_DERIVATIVE: dict[int, tuple[ActivationSpec, float | None]] = {}


def clip_gradients(parameters: Iterable[nn.Parameter], config: TrainConfig) -> bool:
    """Clip in place as ``config`` says (by value or by global norm); True when clipping changed a gradient."""
    if config.clip_value is None and config.clip_norm is None:
        return False
    parameters = list(parameters)
    if config.clip_value is not None:
        changed = any(bool((p.grad.abs() > config.clip_value).any()) for p in parameters if p.grad is not None)
        nn.utils.clip_grad_value_(parameters, config.clip_value)
        return changed
    total = nn.utils.clip_grad_norm_(parameters, config.clip_norm)
    return bool(config.clip_norm / (float(total) + 1e-6) < 1.0)


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


class Probe:
    """Measures one model on the evaluation batch and packs a :class:`LayerDiagnostics` event."""

    def __init__(self, data: Prepared, config: TrainConfig) -> None:
        self.data, self.config = data, config
        self.enabled = bool(getattr(config, "diagnostics", False))
        self.x = data.x_train[:EVAL_EXAMPLES]
        self.y = data.y_train[:EVAL_EXAMPLES]

    @staticmethod
    def max_derivative(spec: ActivationSpec) -> float | None:
        """max |f'| from the property table, computed once per spec object (it keeps the spec alive)."""
        key = id(spec)
        if key not in _MAX_DERIVATIVE or _MAX_DERIVATIVE[key][0] is not spec:
            _MAX_DERIVATIVE[key] = (spec, max_abs_derivative(spec))
        return _MAX_DERIVATIVE[key][1]

    def measure(self, run_id: str, epoch: int, step: int, model: nn.Module, spec: ActivationSpec) -> LayerDiagnostics:
        kind = self.data.kind
        snapshot = collect(model, self.x, lambda out: per_model_loss(out.float(), self.y, kind), spec,
                           max_derivative=self.max_derivative(spec))
        layers = tuple({k: _clean(v) for k, v in layer.to_dict().items()} for layer in snapshot.layers)
        histograms = tuple(histogram(a) for a in snapshot.activations)
        return LayerDiagnostics(run_id, epoch, step, _clean(snapshot.loss), layers, histograms)


class SingleProbe(Probe):
    """The sequential engine's hook: ``start`` before the first epoch, ``epoch_end`` after each."""

    def __init__(self, single: SingleRun) -> None:
        super().__init__(single.data, single.config)
        self.single = single
        self.spec = _activation_spec(single.model)

    def start(self, emit: Emit) -> None:
        if self.enabled and self.spec is not None:
            emit(self.measure(self.single.run.run_id, 0, 0, self.single.model, self.spec))

    def epoch_end(self, emit: Emit) -> None:
        single = self.single
        if self.enabled and self.spec is not None:
            emit(self.measure(single.run.run_id, single.epoch, single.step, single.model, self.spec))
        if self.config.clip_value is not None or self.config.clip_norm is not None:
            emit(ClipCount(single.run.run_id, single.epoch, single.step, single.clipped_steps))


def _activation_spec(model: nn.Module) -> ActivationSpec | None:
    for module in model.modules():
        spec = getattr(module, "spec", None)
        if isinstance(spec, ActivationSpec):
            return spec
    return None


def copy_stacked_weights(model: nn.Module, params: list[Tensor], index: int, runs: int) -> nn.Module:
    """Copy run ``index`` of the grid's stacked ``params`` into ``model``'s Linear / Conv2d layers (in order).

    Linear: weight (M, in, out) and bias (M, 1, out); conv (groups = M): weight
    (M·out, in, k, k) and bias (M·out,) — the layouts of ``GridTrainer._stack_initial_weights``.
    """
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    with torch.no_grad():
        for layer, weight, bias in zip(layers, params[0::2], params[1::2]):
            if weight.dim() == 4:
                out = weight.shape[0] // runs
                layer.weight.copy_(weight[index * out:(index + 1) * out])
                layer.bias.copy_(bias[index * out:(index + 1) * out])
            else:
                layer.weight.copy_(weight[index].t())
                layer.bias.copy_(bias[index, 0])
    return model


class GridProbe(Probe):
    """The grid engine's hook: each live run measured on a plain copy of its weights."""

    def __init__(self, trainer: GridTrainer) -> None:
        super().__init__(trainer.data, trainer.config)
        self.trainer = trainer
        self._models: dict[int, nn.Module] = {}  # one model per activation group, weights copied in per run

    def _model(self, group_index: int) -> nn.Module:
        if group_index not in self._models:
            group, data = self.trainer.groups[group_index], self.data
            with torch.random.fork_rng(devices=[]):  # nn.Linear's own init must not move the global stream
                model = build_model(group.spec, data.input_shape, data.num_outputs, self.config, 0)
            self._models[group_index] = model.to(data.x_train.device)
        return self._models[group_index]

    def _measure_all(self, emit: Emit) -> None:
        trainer = self.trainer
        alive = trainer.alive.tolist()
        for group_index, group in enumerate(trainer.groups):
            for i in range(group.start, group.stop):
                if alive[i]:
                    model = copy_stacked_weights(self._model(group_index), trainer.params, i, trainer.M)
                    emit(self.measure(trainer.runs[i].run_id, trainer.epoch, trainer.step, model, group.spec))

    def start(self, emit: Emit) -> None:
        if self.enabled:
            self._measure_all(emit)

    def epoch_end(self, emit: Emit) -> None:
        if self.enabled:
            self._measure_all(emit)
        if self.config.clip_value is not None or self.config.clip_norm is not None:
            trainer = self.trainer
            counts = trainer.optimizer.clipped_steps.tolist()
            for i in trainer.alive.nonzero().flatten().tolist():
                emit(ClipCount(trainer.runs[i].run_id, trainer.epoch, trainer.step, int(counts[i])))
