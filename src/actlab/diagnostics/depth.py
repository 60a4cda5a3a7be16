"""The depth experiment (``actlab selfnorm --depth-experiment``) as a configuration of the experiment core.

Per activation, one deep MLP from :func:`actlab.models.build` (through the sequential engine):
``depth`` × [Linear (width) → activation → dropout] → Linear, hidden weights from the
activation's recommended scheme (or ``init``), the output layer glorot_normal, biases 0.  A
probe records each hidden layer's output mean and variance
(:func:`actlab.analysis.depth.layer_statistics`, in training mode, dropout masks drawn from
``torch.manual_seed(seed)`` inside a forked generator) at initialisation and after the driver
has trained ``steps`` Adam steps (batches of the seeded epoch order, cross-entropy).  With
``wrong_init`` and SELU among the activations a second SELU net with He weights is added.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from actlab.analysis.depth import (
    DATASETS,
    MAX_DEPTH,
    MAX_STEPS,
    MAX_WEIGHTS,
    MAX_WIDTH,
    WRONG_INIT,
    DepthCurve,
    DepthResult,
    layer_statistics,
)
from actlab.errors import ActlabError
from actlab.models import INIT_SCHEMES, canonical_scheme
from actlab.resolve import get
from actlab.spec import ActivationSpec

__all__ = ["INITS", "depth_experiment"]

INITS = ("auto", "he", "glorot", "lecun", *INIT_SCHEMES)


def _inputs(dataset: str, seed: int, samples: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    from actlab import data

    if dataset not in DATASETS:
        raise ActlabError(f"unknown dataset {dataset!r} for the depth experiment; choose one of {', '.join(DATASETS)}")
    if dataset == "mnist":
        ds = data.load("mnist", subset=max(samples, 1000), standardize=True, seed=seed)
    else:
        ds = data.load("gaussian", n=max(2 * samples, 1000), standardize=True, seed=seed, noise=0.5)
    x = torch.as_tensor(ds.x_train, dtype=torch.float32).reshape(len(ds.x_train), -1)
    y = torch.as_tensor(ds.y_train).long().reshape(-1)
    return x, y, int(ds.num_classes)


def _init_text(spec: ActivationSpec, scheme: str) -> str:
    """``scheme`` for the hidden layers feeding ``spec``, glorot_normal for the output layer."""
    from actlab.models import parse_init

    text = f"glorot_normal,{spec.name}={scheme}"
    try:
        parse_init(text)
    except ActlabError:  # a name the per-activation form cannot carry (a formula): every layer ``scheme``
        return scheme
    return text


def _dropout_kind(model: nn.Module, rate: float) -> str:
    if rate == 0:
        return "none"
    alpha = any(isinstance(m, nn.AlphaDropout) or type(m).__name__ == "AlphaDropout" for m in model.modules())
    return "alpha" if alpha else "plain"


class _Statistics:
    """The probe: per-layer statistics of the live model on the probe batch, at each call."""

    def __init__(self, x: torch.Tensor, seed: int) -> None:
        self.x, self.seed = x, seed
        self.points: list[tuple[list[float], list[float]]] = []

    def measure(self, model: nn.Module) -> None:
        was_training = model.training
        model.train()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)  # the same dropout masks at every point
            self.points.append(layer_statistics(model, self.x))
        model.train(was_training)

    def __call__(self, point: Any) -> None:  # a driver probe (actlab.train.driver.ProbePoint)
        for _, _, model, _ in point.models():
            self.measure(model)


def depth_experiment(acts: Sequence[str], depth: int = 64, width: int = 256, init: str = "auto",
                     dropout: float = 0.0, dataset: str = "gaussian", steps: int = 20, batch_size: int = 64,
                     lr: float = 1e-4, samples: int = 256, seed: int = 0, wrong_init: bool = True) -> DepthResult:
    """Per-layer mean and variance at initialisation and after ``steps`` Adam steps, for each activation.

    ``init``: "auto" (each activation's recommended scheme) or a scheme of
    :data:`actlab.models.INIT_SCHEMES` (he, glorot, lecun: their normal form) for all hidden layers.
    """
    if init not in INITS:
        try:
            canonical_scheme(init)
        except ActlabError as error:
            raise ActlabError(f"{error} (or auto: each activation's recommendation)") from None
    for name, value, low in (("depth", depth, 1), ("width", width, 1), ("steps", steps, 0),
                             ("batch_size", batch_size, 1), ("samples", samples, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ActlabError(f"{name} must be a whole number >= {low}, got {value!r}")
    if depth > MAX_DEPTH or width > MAX_WIDTH or depth * width * width > MAX_WEIGHTS or steps > MAX_STEPS:
        raise ActlabError(f"depth {depth} × width {width} ({depth * width * width:,} weights per net), {steps} steps "
                          f"is beyond the depth experiment's bounds: at most {MAX_DEPTH} layers, {MAX_WIDTH} units, "
                          f"{MAX_WEIGHTS:,} weights per net (about {MAX_WEIGHTS * 16 / 2 ** 30:.0f} GiB with Adam), "
                          f"{MAX_STEPS:,} steps")
    if not (0.0 <= dropout < 1.0):
        raise ActlabError(f"dropout must be in [0, 1), got {dropout!r}")
    if not (lr > 0 and math.isfinite(lr)):
        raise ActlabError(f"lr must be > 0, got {lr!r}")
    if not acts:
        raise ActlabError("name at least one activation (--acts selu,relu,tanh)")
    specs = []
    for name in acts:
        spec = get(name)
        if spec.kind != "elementwise":
            raise ActlabError(f"{spec.name} is not element-wise; the depth experiment needs element-wise activations")
        specs.append((name, spec))
    x_all, y_all, classes = _inputs(dataset, seed, samples)
    runs: list[tuple[str, str, ActivationSpec, str]] = []
    for name, spec in specs:
        scheme = spec.init.scheme if init == "auto" else init
        runs.append((spec.name, name, spec, scheme))
        if wrong_init and spec.name == "selu" and canonical_scheme(scheme) != canonical_scheme(WRONG_INIT):
            runs.append((f"selu, {WRONG_INIT} init", name, spec, WRONG_INIT))
    labels = [label for label, _, _, _ in runs]
    if len(set(labels)) != len(labels):
        raise ActlabError(f"an activation is listed twice in {', '.join(acts)}")
    result = DepthResult(depth, width, dataset, init, float(dropout), steps, seed)
    for label, name, spec, scheme in runs:
        curves, loss = _one_net(name, spec, scheme, x_all, y_all, classes, depth, width, dropout, steps,
                                batch_size, lr, samples, seed)
        kind = curves.pop()
        for phase, (means, variances) in zip(("init", "trained"), curves):
            result.curves.append(DepthCurve(label, spec.name, scheme, phase, kind, means, variances))
        result.final_loss[label] = loss
    return result


def _one_net(name: str, spec: ActivationSpec, scheme: str, x: torch.Tensor, y: torch.Tensor, classes: int,
             depth: int, width: int, dropout: float, steps: int, batch_size: int, lr: float, samples: int,
             seed: int) -> tuple[list[Any], float]:
    from actlab.train.config import RunSpec, TrainConfig
    from actlab.train.driver import drive
    from actlab.train.events import StepLosses
    from actlab.train.prepared import Prepared

    features = int(x.shape[1])
    data = Prepared(x, y, x[:0], y[:0], x, y, (features,), classes, "multiclass")
    config = TrainConfig(model="mlp", depth=depth, width=width, epochs=1, steps=max(steps, 1), eval_every=max(steps, 1),
                         batch_size=min(batch_size, len(x)), optimizer="adam", lr=lr, dropout=dropout,
                         init=_init_text(spec, scheme), precision="fp32", report_at="final", log_every_step=True)
    from actlab.train.sequential import SingleRun

    engine = SingleRun(data, config, RunSpec(name, seed))
    probe = _Statistics(x[:samples], seed)
    loss = math.nan
    if steps == 0:
        probe.measure(engine.model)
        probe.measure(engine.model)
    else:
        losses: list[float] = []

        def emit(event: object) -> None:
            if isinstance(event, StepLosses):
                losses.extend(event.losses)

        drive(engine, config, emit=emit, probes=[probe])
        loss = losses[-1] if losses else math.nan
        if engine.diverged or len(probe.points) < 2:  # diverged before the end: the state it stopped in
            probe.measure(engine.model)
            loss = math.nan if not losses else losses[-1]
    return [probe.points[0], probe.points[-1], _dropout_kind(engine.model, dropout)], float(loss)
