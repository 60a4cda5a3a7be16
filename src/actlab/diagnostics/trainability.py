"""The trainability experiment (``actlab signal --trainability``): how deep a net trains, per (depth, σ_w²).

Schoenholz et al. (2017, Figure 6) train one tanh net per cell of a depth × σ_w² grid (σ_b²
fixed) and find the trainable region bounded by about 6 ξ_c.  Here every cell is one run of the
experiment core: per depth, one stacked grid (:class:`actlab.train.grid.GridTrainer`) holds the
nets of every σ_w² and the driver (:func:`actlab.train.driver.drive`) trains them together for a
fixed step budget.  Each net starts as a mean-field net: hidden weights N(0, σ_w²/fan_in) (the
lecun_normal draw scaled by σ_w), hidden biases N(0, σ_b²) (drawn from a generator seeded by the
run's seed), the read-out layer lecun_normal with zero bias.  Runs have seeds ``seed + i`` (one
per σ_w² column), so each cell is an independent net with its own mini-batch order.

The reported accuracy is the training accuracy on the training examples after the budget
(the test split of the core is the training set itself); a run that diverges scores the chance level.
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from actlab.errors import ActlabError

__all__ = ["TrainabilityResult", "trainability_experiment", "trainable_depths", "DATASETS", "MAX_CELLS", "THRESHOLD"]

DATASETS = ("mnist", "digits")
MAX_CELLS = 2000
MAX_DEPTH = 1000
THRESHOLD = 0.5  # a net is trainable when its training accuracy reaches this


@dataclass
class TrainabilityResult:
    """Training accuracy per (depth, σ_w²) and the settings that produced it."""

    activation: str
    depths: list[int]
    weight_variances: list[float]
    bias_variance: float
    accuracy: list[list[float]]  # [depth index][weight-variance index]
    loss: list[list[float]]
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _data(dataset: str, examples: int, seed: int):
    from actlab import data
    from actlab.train.prepared import Prepared

    if dataset not in DATASETS:
        raise ActlabError(f"unknown dataset {dataset!r} for the trainability experiment; choose one of "
                          f"{', '.join(DATASETS)}")
    ds = data.load(dataset, subset=examples, standardize=True, seed=seed)
    x = torch.as_tensor(ds.x_train, dtype=torch.float32).reshape(len(ds.x_train), -1).contiguous()
    y = torch.as_tensor(ds.y_train).long().reshape(-1)
    return Prepared(x, y, x[:0], y[:0], x, y, (int(x.shape[1]),), int(ds.num_classes), "multiclass")


def _set_mean_field_init(trainer: Any, weight_variances: Sequence[float], bias_variance: float, seed: int) -> None:
    """Scale each run's hidden weights (drawn lecun_normal: variance 1/fan_in) by σ_w and draw its hidden
    biases N(0, σ_b²); the read-out layer keeps its lecun_normal draw."""
    params = trainer.params  # [W₁ (M, in, out), b₁ (M, 1, out), …, W_out, b_out]
    hidden = len(params) // 2 - 1
    generator = torch.Generator().manual_seed(int(seed))
    scale = torch.tensor([math.sqrt(w) for w in weight_variances], dtype=params[0].dtype)
    with torch.no_grad():
        for layer in range(hidden):
            weight, bias = params[2 * layer], params[2 * layer + 1]
            weight.mul_(scale.view(-1, 1, 1).to(weight.device))
            drawn = torch.randn(tuple(bias.shape), generator=generator) * math.sqrt(bias_variance)
            bias.copy_(drawn.to(bias.device, bias.dtype))


def trainability_experiment(activation: str, depths: Sequence[int], weight_variances: Sequence[float],
                            bias_variance: float = 0.05, *, dataset: str = "mnist", examples: int = 2000,
                            width: int = 64, steps: int = 200, batch_size: int = 64, optimizer: str = "sgd",
                            lr: float = 1e-3, seed: int = 0, progress: Any = None) -> TrainabilityResult:
    """Train one net per (depth, σ_w²) cell for ``steps`` steps; the training accuracy of each."""
    from actlab.models import resolve_activation
    from actlab.train.config import RunSpec, TrainConfig
    from actlab.train.driver import drive
    from actlab.train.events import RunEnd
    from actlab.train.grid import GridTrainer

    spec = resolve_activation(activation)
    if spec.kind != "elementwise":
        raise ActlabError(f"{spec.name} is not element-wise; the trainability experiment needs an element-wise "
                          "activation")
    depths = [int(d) for d in depths]
    weight_variances = [float(w) for w in weight_variances]
    if not depths or not weight_variances:
        raise ActlabError("the trainability experiment needs at least one depth and one weight variance")
    if any(d < 1 or d > MAX_DEPTH for d in depths):
        raise ActlabError(f"depths must lie in 1..{MAX_DEPTH}, got {depths}")
    if any(not (w > 0 and math.isfinite(w)) for w in weight_variances):
        raise ActlabError(f"weight variances must be finite and > 0, got {weight_variances}")
    if not (bias_variance >= 0 and math.isfinite(bias_variance)):
        raise ActlabError(f"the bias variance must be finite and >= 0, got {bias_variance!r}")
    if len(depths) * len(weight_variances) > MAX_CELLS:
        raise ActlabError(f"{len(depths)} depths × {len(weight_variances)} weight variances is more than "
                          f"{MAX_CELLS} nets")
    for name, value in (("width", width), ("steps", steps), ("batch_size", batch_size), ("examples", examples)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ActlabError(f"{name} must be a whole number >= 1, got {value!r}")
    prepared = _data(dataset, examples, seed)
    chance = 1.0 / prepared.num_outputs
    start = time.perf_counter()
    accuracy, loss = [], []
    for depth in depths:
        config = TrainConfig(model="mlp", depth=depth, width=width, steps=steps, eval_every=steps,
                             batch_size=min(batch_size, len(prepared.x_train)), optimizer=optimizer, lr=lr,
                             init="lecun_normal", precision="fp32", report_at="final")
        runs = [RunSpec(spec.name, seed + i) for i in range(len(weight_variances))]
        trainer = GridTrainer(prepared, config, runs)
        _set_mean_field_init(trainer, weight_variances, bias_variance, seed + 7919 * depth)
        results: dict[str, Any] = {}
        drive(trainer, config, emit=lambda event: None, results=results)
        row_acc, row_loss = [], []
        for run in runs:
            end = results.get(run.run_id)
            ok = isinstance(end, RunEnd) and end.test_accuracy is not None and math.isfinite(end.test_loss)
            row_acc.append(float(end.test_accuracy) if ok else chance)
            row_loss.append(float(end.test_loss) if ok else math.nan)
        accuracy.append(row_acc)
        loss.append(row_loss)
        if progress is not None:
            progress(depth, row_acc)
    settings = {"dataset": dataset, "examples": len(prepared.x_train), "width": width, "steps": steps,
                "batch_size": batch_size, "optimizer": optimizer, "lr": lr, "seed": seed}
    return TrainabilityResult(spec.name, depths, weight_variances, float(bias_variance), accuracy, loss, settings,
                              time.perf_counter() - start)


def _crossing(depths: Sequence[int], row: Sequence[float], threshold: float) -> tuple[float | None, bool]:
    """(the depth where the column's accuracy falls below ``threshold`` after its deepest trainable net, linearly
    interpolated; whether that net is the deepest measured, so the boundary lies beyond the grid)."""
    trainable = [i for i, a in enumerate(row) if a >= threshold]
    if not trainable:
        return None, False
    i = trainable[-1]
    if i == len(depths) - 1:
        return float(depths[i]), True
    above, below = row[i], row[i + 1]
    return depths[i] + (above - threshold) / (above - below) * (depths[i + 1] - depths[i]), False


def trainable_depths(result: TrainabilityResult, threshold: float = THRESHOLD, factor: float = 6.0) -> list[dict]:
    """Per σ_w²: the measured boundary of the trainable region beside ``factor``·ξ_c from the mean-field map.

    ``depth``: where the training accuracy falls below ``threshold`` after the column's deepest trainable net,
    interpolated between grid depths (None: not even the shallowest trains); ``beyond``: the deepest net measured
    trains, so the boundary lies at or above ``depth``; ``bound``: ``factor``·ξ_c; ``ratio``: depth / bound;
    ``verdict``: ``within 2x`` / ``outside 2x``, ``consistent`` (trained through the grid, whose top is at least
    half the bound: the boundary can only be within 2× or above it) or ``untested`` (the grid stops short of half
    the bound, or ξ_c is infinite)."""
    from actlab.analysis.signal import phi_of
    from actlab.analysis.signal_critical import signal_point

    phi = phi_of(result.activation)
    out = []
    for j, w in enumerate(result.weight_variances):
        depth, beyond = _crossing(result.depths, [row[j] for row in result.accuracy], threshold)
        point = signal_point(phi, float(w), result.bias_variance, critical=False)
        xi = None if point.xi_c is None or not math.isfinite(point.xi_c) else abs(point.xi_c)
        bound = None if xi is None else factor * xi
        ratio = None if depth is None or bound is None else depth / bound
        if bound is None:
            verdict = "untested"
        elif depth is None:  # the boundary lies below the shallowest net
            verdict = "outside 2x" if result.depths[0] < bound / 2 else "untested"
        elif beyond:
            verdict = "outside 2x" if depth > 2 * bound else "consistent" if depth >= bound / 2 else "untested"
        else:
            verdict = "within 2x" if 0.5 <= ratio <= 2 else "outside 2x"
        out.append({"weight_variance": float(w), "depth": depth, "beyond": beyond, "xi_c": xi, "bound": bound,
                    "ratio": ratio, "verdict": verdict})
    return out
