"""Run a diagnose setup: train each (activation, seed), measure every hidden layer, judge, summarise.

:func:`run_setup` trains the runs of a :class:`~actlab.diagnostics.presets.Setup` one after
another into the store (finished runs are skipped), then :func:`summarise` reads the store
back into the ``--json`` summary.  :func:`run_exploding` is the chain experiment (no training).

Training (one plain loop, for diagnostics only): an MLP ``nn.Sequential`` (Linear → activation
module)×depth → Linear, initialised from ``torch.Generator().manual_seed(seed)``; each epoch
visits the training set in a seeded random order in mini-batches; after ``backward`` the
gradient is clipped (by value or by global norm; a step counts as *clipped* when clipping
changed the gradient), then L2 adds (λ/n)·W to each weight gradient, then the optimiser steps.
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
from actlab.diagnostics.db import DiagnoseStore
from actlab.diagnostics.measures import Snapshot, collect, max_abs_derivative, verdict
from actlab.diagnostics.presets import Setup
from actlab.errors import ActlabError
from actlab.nn import create

__all__ = [
    "HISTOGRAM_BINS",
    "DiagnoseData",
    "build_mlp",
    "clip_gradients",
    "load_data",
    "loss_function",
    "run_id_of",
    "run_setup",
    "summarise",
    "train_run",
]

HISTOGRAM_BINS = 40


@dataclass(frozen=True)
class DiagnoseData:
    x_train: Tensor  # (n, features) float32
    y_train: Tensor  # (n,) int64 class indices
    x_eval: Tensor
    y_eval: Tensor
    num_classes: int
    name: str


def load_data(setup: Setup) -> DiagnoseData:
    """The training split (the first ``subset`` examples) and the evaluation batch (the first ``eval_size``)."""
    from actlab import data

    dataset = data.load(setup.dataset)
    if dataset.task != "classification":
        raise ActlabError(f"diagnose trains classifiers; {dataset.name!r} is a {dataset.task} dataset")
    x = torch.as_tensor(dataset.x_train).float().reshape(len(dataset.x_train), -1)
    y = torch.as_tensor(dataset.y_train).long().reshape(-1)
    if setup.subset is not None:
        x, y = x[: setup.subset], y[: setup.subset]
    size = min(setup.eval_size, len(x))
    return DiagnoseData(x.contiguous(), y.contiguous(), x[:size].contiguous(), y[:size].contiguous(),
                        int(dataset.num_classes), dataset.name)


def _std(init: str, fan_in: int, fan_out: int) -> tuple[float, float]:
    """(weight std, bias std) of one layer."""
    from actlab.models import init_std

    if init == "normal":
        return 1.0, 1.0
    if init == "nielsen":
        return 1.0 / math.sqrt(fan_in), 1.0
    return init_std(init, fan_in, fan_out), 0.0


def build_mlp(spec: actlab.ActivationSpec, sizes: list[int], init: str | None, seed: int) -> nn.Sequential:
    """Linear → ``actlab.nn.create(spec)`` per hidden layer, then Linear; weights and biases drawn from one seeded generator.

    ``init`` None: the spec's recommended scheme for hidden layers, glorot for the output, zero biases.
    """
    generator = torch.Generator().manual_seed(int(seed))
    modules: list[nn.Module] = []
    pairs = list(zip(sizes[:-1], sizes[1:]))
    for index, (fan_in, fan_out) in enumerate(pairs):
        hidden = index < len(pairs) - 1
        scheme = init if init is not None else (spec.init.scheme if hidden else "glorot")
        weight_std, bias_std = _std(scheme, fan_in, fan_out)
        linear = nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            linear.weight.copy_(torch.randn((fan_out, fan_in), generator=generator) * weight_std)
            linear.bias.copy_(torch.randn((fan_out,), generator=generator) * bias_std)
        modules.append(linear)
        if hidden:
            modules.append(create(spec))
    return nn.Sequential(*modules)


def loss_function(kind: str, y: Tensor, num_classes: int) -> Callable[[Tensor], Tensor]:
    """The mean loss of a batch: softmax cross-entropy, or Σ_j cross-entropy of sigmoid outputs (one-hot)."""
    if kind == "sigmoid":
        target = F.one_hot(y, num_classes).float()
        return lambda out: F.binary_cross_entropy_with_logits(out, target, reduction="sum") / len(out)
    return lambda out: F.cross_entropy(out, y)


def clip_gradients(parameters: list[nn.Parameter], clip_value: float | None, clip_norm: float | None) -> bool:
    """Clip in place (by value, or by global norm); True when clipping changed the gradient."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if clip_value is not None:
        changed = any(bool((g.abs() > clip_value).any()) for g in grads)
        nn.utils.clip_grad_value_(parameters, clip_value)
        return changed
    if clip_norm is not None:
        norm = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])))
        nn.utils.clip_grad_norm_(parameters, clip_norm)
        return norm > clip_norm
    return False


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


@dataclass
class RunOutcome:
    status: str  # finished | diverged
    steps: int
    clipped_steps: int
    reason: str
    seconds: float
    init: Snapshot
    end: Snapshot


def train_run(setup: Setup, activation: str, seed: int, data: DiagnoseData,
              on_point: Callable[[int, float, Snapshot], None] | None = None) -> RunOutcome:
    """Train one run, measuring at initialisation and after every epoch (or every ``setup.every`` steps)."""
    started = time.perf_counter()
    spec = actlab.get(activation, **{k: v for k, v in setup.params if k in _param_names(activation)})
    sizes = [data.x_train.shape[1], *([setup.width] * setup.depth), data.num_classes]
    torch.manual_seed(int(seed))  # RReLU-style sampling and anything else drawing from torch's global generator
    model = build_mlp(spec, sizes, setup.init, seed)
    biggest = max_abs_derivative(spec)
    eval_loss = loss_function(setup.loss, data.y_eval, data.num_classes)
    weights = [m.weight for m in model if isinstance(m, nn.Linear)][:-1]
    decayed = {id(m.weight) for m in model if isinstance(m, nn.Linear)}
    parameters = list(model.parameters())
    if setup.optimizer == "adam":
        optimizer: torch.optim.Optimizer = torch.optim.Adam(parameters, lr=setup.lr)
    else:
        optimizer = torch.optim.SGD(parameters, lr=setup.lr)
    n = len(data.x_train)
    steps_per_epoch = math.ceil(n / setup.batch_size)
    l2 = setup.l2 / n

    def measure(step: int, ratios: list[float | None] | None) -> Snapshot:
        snapshot = collect(model, data.x_eval, eval_loss, spec, max_derivative=biggest, update_ratios=ratios)
        if on_point is not None:
            on_point(step, step / steps_per_epoch, snapshot)
        return snapshot

    first = last = measure(0, None)
    last_step = 0
    step, clipped, status, reason = 0, 0, "finished", ""
    generator = torch.Generator().manual_seed(int(seed) + 7919)
    total = setup.epochs * steps_per_epoch
    model.train()
    for _ in range(setup.epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, setup.batch_size):
            index = order[start : start + setup.batch_size]
            out = model(data.x_train[index])
            loss = loss_function(setup.loss, data.y_train[index], data.num_classes)(out)
            if not torch.isfinite(loss):
                status, reason = "diverged", f"training loss became {float(loss.detach())} at step {step + 1}"
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            clipped += clip_gradients(parameters, setup.clip_value, setup.clip_norm)
            if l2 > 0:
                with torch.no_grad():
                    for p in parameters:
                        if id(p) in decayed and p.grad is not None:
                            p.grad.add_(p, alpha=l2)
            step += 1
            due = step == total or (setup.every is not None and step % setup.every == 0) or \
                (setup.every is None and step % steps_per_epoch == 0)
            before = [w.detach().clone() for w in weights] if due else None
            optimizer.step()
            if due:
                ratios = [_ratio(w, b) for w, b in zip(weights, before)]
                last, last_step = measure(step, ratios), step
                if not math.isfinite(last.loss):
                    status, reason = "diverged", f"evaluation loss became {last.loss} at step {step}"
                    break
        if status == "diverged":
            break
    if status == "diverged" and step > last_step:
        last = measure(step, None)  # the state it diverged in (usually non-finite)
    return RunOutcome(status, step, clipped, reason, time.perf_counter() - started, first, last)


def _ratio(after: Tensor, before: Tensor) -> float:
    size = float(torch.linalg.vector_norm(before.double()))
    return float(torch.linalg.vector_norm((after.detach() - before).double())) / size if size > 0 else math.nan


def _param_names(activation: str) -> tuple[str, ...]:
    return actlab.get(activation).param_names


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
