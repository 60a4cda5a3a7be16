"""Run a diagnose setup: train each (activation, seed), measure every hidden layer, judge, summarise.

:func:`run_setup` trains the runs of a :class:`~actlab.diagnostics.presets.Setup` one after
another into the store (finished runs are skipped), then :func:`summarise` reads the store
back into the ``--json`` summary.  The exploding chain (no training) is :mod:`.exploding`.

Each run is a configuration of the experiment core: the model comes from
:func:`actlab.models.build` (through the sequential engine,
:class:`actlab.train.sequential.SingleRun`), the driver (:func:`actlab.train.driver.drive`)
trains it for the setup's budget and calls :class:`GradientFlowRecorder` — the gradient-flow
probe — at initialisation and at every evaluation point (after every epoch, or every
``setup.every`` steps).  The probe measures the run's live model on the setup's evaluation
batch (the first ``eval_size`` training examples) with :func:`actlab.analysis.layer_measures.collect`;
measuring changes no weight and no random stream.

What the engine does per step: a mini-batch of the epoch's seeded order
(:func:`actlab.train.metrics.epoch_order`), the loss, the gradient, clipping (by value or by
global norm; a step counts as *clipped* when clipping changed the gradient), L2 as the
optimiser's ``weight_decay`` = λ/n (n = training-set size; it decays every parameter, biases
included), the optimiser step (SGD without momentum, or Adam with torch's defaults).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import actlab
from actlab.analysis.layer_measures import Snapshot, collect, hidden_layers, max_abs_derivative, verdict
from actlab.diagnostics.db import DiagnoseStore
from actlab.diagnostics.presets import Setup
from actlab.errors import ActlabError

__all__ = [
    "HISTOGRAM_BINS",
    "SIGMOID_TASK",
    "DiagnoseData",
    "GradientFlowRecorder",
    "RunOutcome",
    "load_data",
    "loss_function",
    "prepared",
    "run_id_of",
    "run_setup",
    "summarise",
    "train_config",
    "train_run",
]

HISTOGRAM_BINS = 40
# the engines' task for Nielsen's cost: one sigmoid per class, Σ_j binary cross-entropy with one-hot targets
SIGMOID_TASK = "multiclass-sigmoid"


@dataclass(frozen=True)
class DiagnoseData:
    x_train: Tensor  # (n, features) float32
    y_train: Tensor  # (n,) int64 class indices
    x_eval: Tensor
    y_eval: Tensor
    num_classes: int
    name: str
    x_test: Tensor | None = None  # the dataset's test split (read once, at the end of a run)
    y_test: Tensor | None = None


def load_data(setup: Setup) -> DiagnoseData:
    """The training split (the first ``subset`` examples), the evaluation batch (the first ``eval_size``), the test split."""
    from actlab import data

    dataset = data.load(setup.dataset)
    if dataset.task != "classification":
        raise ActlabError(f"diagnose trains classifiers; {dataset.name!r} is a {dataset.task} dataset")
    x = torch.as_tensor(dataset.x_train).float().reshape(len(dataset.x_train), -1)
    y = torch.as_tensor(dataset.y_train).long().reshape(-1)
    if setup.subset is not None:
        x, y = x[: setup.subset], y[: setup.subset]
    size = min(setup.eval_size, len(x))
    x_test = torch.as_tensor(dataset.x_test).float().reshape(len(dataset.x_test), -1)
    y_test = torch.as_tensor(dataset.y_test).long().reshape(-1)
    return DiagnoseData(x.contiguous(), y.contiguous(), x[:size].contiguous(), y[:size].contiguous(),
                        int(dataset.num_classes), dataset.name, x_test.contiguous(), y_test.contiguous())


def loss_function(kind: str, y: Tensor, num_classes: int) -> Callable[[Tensor], Tensor]:
    """The mean loss of a batch: softmax cross-entropy, or Σ_j cross-entropy of sigmoid outputs (one-hot)."""
    if kind == "sigmoid":
        target = F.one_hot(y, num_classes).float()
        return lambda out: F.binary_cross_entropy_with_logits(out, target, reduction="sum") / len(out)
    return lambda out: F.cross_entropy(out, y)


def prepared(setup: Setup, data: DiagnoseData):
    """The engines' view of ``data``: the training split, no validation split, the test split."""
    from actlab.train.prepared import Prepared

    x_test = data.x_test if data.x_test is not None and len(data.x_test) else data.x_eval
    y_test = data.y_test if data.y_test is not None and len(data.y_test) else data.y_eval
    kind = SIGMOID_TASK if setup.loss == "sigmoid" else "multiclass"
    features = int(data.x_train.shape[1])
    return Prepared(data.x_train, data.y_train, data.x_train[:0], data.y_train[:0], x_test, y_test,
                    (features,), int(data.num_classes), kind)


def train_config(setup: Setup, examples: int):
    """The :class:`~actlab.train.config.TrainConfig` of ``setup`` for a training split of ``examples``."""
    from actlab.train.config import TrainConfig

    per_epoch = max(1, math.ceil(examples / setup.batch_size))
    total = setup.steps if setup.steps is not None else setup.epochs * per_epoch
    every = setup.every if setup.every is not None else per_epoch
    options: dict[str, Any] = dict(
        model="mlp", depth=setup.depth, width=setup.width, epochs=max(1, setup.epochs), steps=max(1, total),
        eval_every=max(1, min(every, max(1, total))), batch_size=setup.batch_size, optimizer=setup.optimizer,
        lr=setup.lr, momentum=0.0, weight_decay=setup.l2 / examples, clip_value=setup.clip_value,
        clip_norm=setup.clip_norm, init=setup.init, precision="fp32", bias=not setup.no_bias,
        weight_scale=setup.weight_scale, report_at="final",
    )
    options.update(setup.train)  # the options table's other rows (momentum, Adam's betas, bias init, …)
    return TrainConfig(**options)


def _histogram(values: Tensor) -> tuple[list[float], list[int]]:
    finite = values[torch.isfinite(values)].double()
    if finite.numel() == 0:
        return [0.0, 1.0], [0]
    low, high = float(finite.min()), float(finite.max())
    if high <= low:
        low, high = low - 0.5, high + 0.5
    counts = torch.histc(finite, bins=HISTOGRAM_BINS, min=low, max=high)
    edges = torch.linspace(low, high, HISTOGRAM_BINS + 1)
    return [float(e) for e in edges], [int(c) for c in counts]


def run_id_of(activation: str, seed: int) -> str:
    return f"{activation}/seed={seed}"


def _ratio(after: Tensor, before: Tensor) -> float:
    size = float(torch.linalg.vector_norm(before.double()))
    return float(torch.linalg.vector_norm((after.detach() - before).double())) / size if size > 0 else math.nan


class GradientFlowRecorder:
    """The gradient-flow probe of one run: measures its live model on the evaluation batch at every call.

    ``update_ratio`` is ‖W_l − W_l(previous measurement)‖_F / ‖W_l(previous measurement)‖_F: the
    relative change of the weights since the last point (null at initialisation).  A non-finite
    evaluation loss is remembered (``non_finite``) so the run can be stopped and judged diverged.
    """

    def __init__(self, setup: Setup, spec: actlab.ActivationSpec, data: DiagnoseData, steps_per_epoch: int,
                 on_point: Callable[[int, float, Snapshot], None] | None = None) -> None:
        self.setup, self.spec, self.data = setup, spec, data
        self.steps_per_epoch = steps_per_epoch
        self.on_point = on_point
        self.loss = loss_function(setup.loss, data.y_eval, data.num_classes)
        self.max_derivative = max_abs_derivative(spec)
        self.previous: list[Tensor] | None = None
        self.first: Snapshot | None = None
        self.last: Snapshot | None = None
        self.last_step = -1
        self.non_finite: str | None = None

    def measure(self, step: int, model: nn.Module) -> Snapshot:
        weights = [linear.weight for linear, _ in hidden_layers(model)]
        ratios = None if self.previous is None else [_ratio(w, b) for w, b in zip(weights, self.previous)]
        snapshot = collect(model, self.data.x_eval, self.loss, self.spec, max_derivative=self.max_derivative,
                           update_ratios=ratios, saturation_threshold=self.setup.saturation_threshold)
        self.previous = [w.detach().clone() for w in weights]
        self.first = snapshot if self.first is None else self.first
        self.last, self.last_step = snapshot, step
        if not math.isfinite(snapshot.loss) and self.non_finite is None:
            self.non_finite = f"evaluation loss became {snapshot.loss} at step {step}"
        if self.on_point is not None:
            self.on_point(step, step / self.steps_per_epoch, snapshot)
        return snapshot

    def __call__(self, point: Any) -> None:  # a driver probe: point is an actlab.train.driver.ProbePoint
        for _, _, model, _ in point.models():
            self.measure(point.step, model)


@dataclass
class RunOutcome:
    status: str  # finished | diverged
    steps: int
    clipped_steps: int
    reason: str
    seconds: float
    init: Snapshot
    end: Snapshot


def _params_of(setup: Setup, activation: str) -> tuple[tuple[str, float], ...]:
    names = actlab.get(activation).param_names
    return tuple((k, v) for k, v in setup.params if k in names)


def train_run(setup: Setup, activation: str, seed: int, data: DiagnoseData,
              on_point: Callable[[int, float, Snapshot], None] | None = None) -> RunOutcome:
    """Train one run through the driver, measuring at initialisation and at every evaluation point."""
    from actlab.train.config import RunSpec
    from actlab.train.driver import drive
    from actlab.train.events import RunDiverged
    from actlab.train.sequential import SingleRun

    started = time.perf_counter()
    examples = len(data.x_train)
    config = train_config(setup, examples)
    run = RunSpec(activation, seed, params=_params_of(setup, activation))
    engine = SingleRun(prepared(setup, data), config, run)
    spec = next(module.spec for _, module in hidden_layers(engine.model))
    recorder = GradientFlowRecorder(setup, spec, data, config.steps_per_epoch(examples), on_point)
    total = setup.steps if setup.steps is not None else setup.epochs * config.steps_per_epoch(examples)
    status, reason = "finished", ""
    if total == 0:
        recorder.measure(0, engine.model)
    else:
        results: dict[str, Any] = {}
        drive(engine, config, emit=lambda event: None, results=results, probes=[recorder],
              should_stop=lambda: recorder.non_finite is not None)
        ended = results.get(run.run_id)
        if isinstance(ended, RunDiverged):
            status, reason = "diverged", f"{ended.reason} at step {ended.step}"
        elif recorder.non_finite is not None:
            status, reason = "diverged", recorder.non_finite
        if status == "diverged" and engine.step > recorder.last_step:
            recorder.measure(engine.step, engine.model)  # the state it diverged in (usually non-finite)
    assert recorder.first is not None and recorder.last is not None
    return RunOutcome(status, engine.step, engine.clipped_steps, reason, time.perf_counter() - started,
                      recorder.first, recorder.last)


def run_setup(setup: Setup, out: Path, *, on_run: Callable[[str, str], None] | None = None,
              data: DiagnoseData | None = None) -> dict[str, Any]:
    """Train every (activation, seed) of ``setup`` not yet finished in ``out``; return :func:`summarise`."""
    setup.validate()
    for activation in setup.activations:
        spec = actlab.get(activation)  # unknown names fail here, before any training
        if spec.kind != "elementwise" or not spec.trainable:
            raise ActlabError(f"{spec.name} cannot be a hidden activation of the diagnose MLP "
                              "(it must be elementwise and trainable)")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ActlabError(f"-o {out}: a file of that name exists")
    data = data if data is not None else load_data(setup)
    threads = torch.get_num_threads()
    # the nets are tiny (width 30, batch 10): one thread is ~10× faster than two on a busy machine
    torch.set_num_threads(1)
    try:
        return _run_all(setup, out, data, on_run)
    finally:
        torch.set_num_threads(threads)


def _run_all(setup: Setup, out: Path, data: DiagnoseData, on_run: Callable[[str, str], None] | None) -> dict[str, Any]:
    with DiagnoseStore(out) as store:
        store.claim(setup.to_dict(), setup.fingerprint())
        for activation in setup.activations:
            for seed in range(setup.seeds):
                run_id = run_id_of(activation, seed)
                if store.status(run_id) in ("finished", "diverged"):
                    if on_run:
                        on_run(run_id, "skipped (already in the store)")
                    continue
                store.start_run(run_id, activation, seed)

                def on_point(step: int, epoch: float, snapshot: Snapshot, run_id: str = run_id) -> None:
                    store.add_point(run_id, step, epoch, snapshot.loss, [m.to_dict() for m in snapshot.layers])

                outcome = train_run(setup, activation, seed, data, on_point)
                for point, snapshot in (("init", outcome.init), ("end", outcome.end)):
                    for layer, values in enumerate(snapshot.activations, start=1):
                        store.add_histogram(run_id, point, layer, *_histogram(values))
                store.finish_run(run_id, outcome.status, outcome.steps, outcome.clipped_steps, outcome.reason,
                                 outcome.seconds)
                if on_run:
                    on_run(run_id, f"{outcome.status} in {outcome.seconds:.1f} s")
        return summarise(store, setup)
def _mean_std(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if len(finite) != len(values) or not values:
        return math.nan, math.nan
    mean = sum(finite) / len(finite)
    std = math.sqrt(sum((v - mean) ** 2 for v in finite) / (len(finite) - 1)) if len(finite) > 1 else 0.0
    return mean, std


def summarise(store: DiagnoseStore, setup: Setup) -> dict[str, Any]:
    """Per activation: verdict (with numbers), per-layer summary, the series behind the figures."""
    by_activation: dict[str, Any] = {}
    runs = {r["run_id"]: r for r in store.runs()}
    for activation in setup.activations:
        group = []
        for seed in range(setup.seeds):
            row = runs.get(run_id_of(activation, seed))
            if row is None or row["status"] not in ("finished", "diverged"):
                continue
            points = store.points(row["run_id"])
            if not points:
                continue
            group.append({"run": row, "points": points, "init": points[0]["layers"], "final": points[-1]["layers"],
                          "losses": [p["loss"] for p in points], "diverged": row["status"] == "diverged"})
        if not group:
            continue
        judged = verdict(group)
        layers = []
        for index in range(setup.depth):
            at_init = [run["init"][index]["speed"] for run in group]
            final = [run["final"][index] for run in group]
            speed_mean, speed_std = _mean_std(at_init)
            layers.append({
                "layer": index + 1,
                "speed_at_init": speed_mean,
                "speed_at_init_std": speed_std,
                "speed_final": _mean_std([f["speed"] for f in final])[0],
                "dead_fraction_final": _mean_std([f["dead_fraction"] for f in final])[0],
                "saturated_fraction_final": (None if any(f["saturated_fraction"] is None for f in final)
                                             else _mean_std([f["saturated_fraction"] for f in final])[0]),
            })
        steps = sum(run["run"]["steps"] for run in group)
        clipped = sum(run["run"]["clipped_steps"] for run in group)
        clipping = setup.clip_value is not None or setup.clip_norm is not None
        by_activation[activation] = {
            "verdict": judged["verdict"],
            "reasons": judged["reasons"],
            "numbers": judged["numbers"],
            "layers": layers,
            "clipped_fraction": (clipped / steps if steps else 0.0) if clipping else None,
            "runs": [{"run_id": run["run"]["run_id"], "seed": run["run"]["seed"], "status": run["run"]["status"],
                      "reason": run["run"]["reason"], "steps": run["run"]["steps"],
                      "seconds": run["run"]["seconds"], "points": run["points"]} for run in group],
        }
    return {"setup": setup.to_dict(), "activations": by_activation}
