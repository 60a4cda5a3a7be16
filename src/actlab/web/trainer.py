"""The playground's small nets: data, model, one-epoch training steps and the frame they produce.

Everything here is plain library code (no web): :func:`make_data` builds the
2-D sets, :class:`Playground` holds one or two nets (side by side) trained on
the same data, and :meth:`Playground.frame` returns what the page draws.  The
steps themselves are the sequential engine's (:class:`actlab.train.live.LiveRun`):
the playground picks each epoch's mini-batches and the engine steps every net
through them.

Per-neuron layers are :class:`actlab.nn.per_neuron.PerNeuron`; the feature-space and
gradient-flow panels are in :mod:`actlab.web.panels`.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

import actlab
import actlab.data  # the toy 2-D sets
from actlab.models import ModelConfig
from actlab.models.per_neuron import PLAYGROUND_BIAS, PLAYGROUND_INIT
from actlab.nn.per_neuron import PerNeuron
from actlab.train.config import TrainConfig
from actlab.train.live import LiveRun
from actlab.web.export import snippet
from actlab.web.panels import _hidden, encode_grid, feature_space, gradient_flow

__all__ = [
    "FEATURES", "DATASETS", "CLASSIFICATION", "REGRESSION", "EXTRAPOLATION",
    "PlayData", "make_data", "parse_csv", "resolve_unit",
    "registered", "build_net", "MODEL", "feature_space", "gradient_flow", "Playground", "Settings", "encode_grid", "PlayError",
]

#: input features, as in the TensorFlow Playground (on coordinates scaled to [-3, 3])
FEATURES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "x1": lambda u: u[:, 0],
    "x2": lambda u: u[:, 1],
    "x1sq": lambda u: u[:, 0] ** 2,
    "x2sq": lambda u: u[:, 1] ** 2,
    "x1x2": lambda u: u[:, 0] * u[:, 1],
    "sinx1": lambda u: torch.sin(u[:, 0]),
    "sinx2": lambda u: torch.sin(u[:, 1]),
}
CLASSIFICATION = ("circle", "xor", "gaussian", "spiral", "periodic", "linear")
REGRESSION = ("plane", "multi_gaussian")
DATASETS = CLASSIFICATION + REGRESSION
#: sets with an extrapolation region: points whose x0 lies outside (low, high) are never trained on
EXTRAPOLATION = {"periodic": (-2 * math.pi, 2 * math.pi), "linear": (-0.5, 1.5)}
INPUT_SCALE = 3.0  # the net sees coordinates mapped from the set's window to [-3, 3]
NEURON_GRID = 20  # heat-map resolution of a hidden unit
OUTPUT_GRID = 50  # heat-map resolution of the output
#: the playground's model: a per-neuron net, Glorot-uniform (Xavier-uniform) weights, every bias 0.1 as the
#: TensorFlow Playground's nodes (the hidden layers come from the page)
MODEL = ModelConfig(kind="per-neuron", depth=0, init=PLAYGROUND_INIT, bias_init=PLAYGROUND_BIAS)


class PlayError(actlab.ActlabError):
    """Bad playground input (a data set, a CSV, an activation); the message names it."""


# ------------------------------------------------------------------------ data
@dataclass
class PlayData:
    name: str
    task: str  # "classification" (labels 0/1) or "regression"
    domain: tuple[float, float, float, float]
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_extra: torch.Tensor | None = None  # extrapolation points (never trained on)
    y_extra: torch.Tensor | None = None
    extrapolation: tuple[float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        def pts(x, y):
            return [[round(float(a), 4), round(float(b), 4), round(float(c), 4)] for (a, b), c in zip(x.tolist(), y.view(-1).tolist())]

        return {
            "name": self.name, "task": self.task, "domain": list(self.domain),
            "train": pts(self.x_train, self.y_train), "test": pts(self.x_test, self.y_test),
            "extra": pts(self.x_extra, self.y_extra) if self.x_extra is not None else [],
            "extrapolation": list(self.extrapolation) if self.extrapolation else None,
        }


def _split(name, task, domain, x, y, ratio, seed, extrapolation=None) -> PlayData:
    generator = torch.Generator().manual_seed(seed + 1)
    x_extra = y_extra = None
    if extrapolation is not None:
        inside = (x[:, 0] > extrapolation[0]) & (x[:, 0] < extrapolation[1])
        x_extra, y_extra = x[~inside], y[~inside]
        x, y = x[inside], y[inside]
    order = torch.randperm(len(x), generator=generator)
    n_train = min(max(1, round(len(x) * ratio / 100)), len(x) - 1) if len(x) > 1 else 1
    train, test = order[:n_train], order[n_train:]
    return PlayData(name, task, domain, x[train], y[train], x[test], y[test], x_extra, y_extra, extrapolation)


def make_data(name: str, *, n: int = 500, noise: float = 0.0, ratio: float = 50.0, seed: int = 0) -> PlayData:
    """Toy set ``name`` with ``n`` points; ``noise`` in percent (0–50) of the window's half-width; ``ratio`` % train."""
    if name not in DATASETS:
        raise PlayError(f"unknown data set {name!r}; the sets are {', '.join(DATASETS)}")
    domain = tuple(actlab.data.load(name, n=10, seed=0).extra["domain"])  # the set's plotting window
    half = (domain[1] - domain[0]) / 2
    # the loader's own 60/20/20 split is pooled and re-split at ``ratio`` below (empty splits trip it on regression sets)
    dataset = actlab.data.load(name, n=n, noise=noise / 100 * 0.4 * half, seed=seed)
    x = torch.cat([dataset.x_train, dataset.x_val, dataset.x_test]).float()
    task = dataset.task
    y = torch.cat([dataset.y_train, dataset.y_val, dataset.y_test]).float().view(-1, 1)
    return _split(name, task, domain, x, y, ratio, seed, EXTRAPOLATION.get(name))


def parse_csv(text: str, *, max_points: int, ratio: float = 50.0, seed: int = 0) -> PlayData:
    """A data set from CSV text ``x1,x2,label`` (an optional header row).

    Labels that are all 0/1 (or -1/1) make a classification set; any other
    numbers a regression set.  Every problem raises :class:`PlayError` naming the
    row.
    """
    if not isinstance(text, str) or not text.strip():
        raise PlayError("the CSV is empty")
    rows = []
    reader = csv.reader(io.StringIO(text))
    for number, row in enumerate(reader, start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 3:
            raise PlayError(f"CSV row {number}: expected 3 columns (x1, x2, label), got {len(row)}")
        try:
            values = [float(cell) for cell in row]
        except ValueError:
            if number == 1 and not rows:
                continue  # a header
            raise PlayError(f"CSV row {number}: {row!r} holds something that is not a number") from None
        if not all(math.isfinite(v) for v in values):
            raise PlayError(f"CSV row {number}: values must be finite numbers")
        rows.append(values)
        if len(rows) > max_points:
            raise PlayError(f"the CSV has more than {max_points} points (the limit)")
    if len(rows) < 4:
        raise PlayError(f"the CSV has {len(rows)} data rows; at least 4 are needed")
    data = torch.tensor(rows, dtype=torch.float32)
    x, labels = data[:, :2], data[:, 2]
    values = set(labels.tolist())
    if values <= {0.0, 1.0} or values <= {-1.0, 1.0}:
        task, y = "classification", (labels > 0).float().view(-1, 1)
    else:
        task, y = "regression", labels.view(-1, 1)
    low, high = x.min(0).values, x.max(0).values
    pad = (high - low).clamp(min=1e-3) * 0.1
    domain = (float(low[0] - pad[0]), float(high[0] + pad[0]), float(low[1] - pad[1]), float(high[1] + pad[1]))
    return _split("upload", task, domain, x, y, ratio, seed)


# ------------------------------------------------------------------ activations
def resolve_unit(text: str) -> actlab.ActivationSpec:
    """A unit's activation: a catalog name/alias, or ``f:<formula>`` (already checked by the formula worker)."""
    if not isinstance(text, str) or not text:
        raise PlayError(f"an activation is a name or 'f:<formula>', got {text!r}")
    if text.startswith("f:"):
        from actlab.formula import from_formula

        return from_formula(text[2:])
    spec = registered(text)
    if spec.kind != "elementwise":
        raise PlayError(f"{spec.name} is a {spec.kind} activation; a neuron needs an elementwise one")
    return spec


def registered(name: str) -> actlab.ActivationSpec:
    """A registered activation by name or alias — never a formula (``actlab.get`` would build one, unchecked)."""
    known = {}
    for spec in actlab.all_specs():
        for key in (spec.name, *spec.aliases):
            known[key.lower()] = spec
    spec = known.get(name.strip().lower()) if isinstance(name, str) else None
    if spec is None:
        from actlab.errors import suggest

        close = suggest(name, list(known)) if isinstance(name, str) else []
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise PlayError(f"unknown activation {name!r}{hint}; type a formula in the formula box instead")
    return spec


def build_net(num_inputs: int, layers: Sequence[Sequence[str]], seed: int) -> nn.Sequential:
    """The playground's net: :data:`MODEL` (a per-neuron net built by :func:`actlab.models.build`) with the
    units ``layers`` — Linear → :class:`~actlab.nn.per_neuron.PerNeuron` per hidden layer, then one linear
    output unit, seeded.  Each PerNeuron keeps what its units were given in ``.names``."""
    from actlab.models import build

    model = dataclasses.replace(MODEL, depth=len(layers))
    net = build(model, [[resolve_unit(u) for u in units] for units in layers], (num_inputs,), 1, seed)
    for units, layer in zip(layers, (m for m in net if isinstance(m, PerNeuron))):
        layer.names = list(units)
    return net


# ------------------------------------------------------------------ training
@dataclass
class Settings:
    features: tuple[str, ...] = ("x1", "x2")
    layers: tuple[tuple[str, ...], ...] = (("tanh",) * 4, ("tanh",) * 4)
    learning_rate: float = 0.03
    batch_size: int = 10
    regularization: str = "none"  # none | l1 | l2
    regularization_rate: float = 0.0
    loss: str = "cross_entropy"  # cross_entropy | squared (classification); regression is always squared
    compare: str | None = None  # side by side: every unit of the second net uses this activation
    seed: int = 0


@dataclass
class Run:
    net: nn.Sequential
    live: LiveRun  # the net's optimiser and its steps
    history: list[tuple[int, float, float]] = field(default_factory=list)
    flow: list[dict[str, float]] = field(default_factory=list)


class Playground:
    """One or two nets (side by side) trained on one data set, an epoch per :meth:`step`."""

    def __init__(self, data: PlayData, settings: Settings):
        self.data = data
        self.settings = settings
        self.epoch = 0
        self._prepare_inputs()
        layer_sets = [settings.layers]
        if settings.compare:
            layer_sets.append(tuple(tuple(settings.compare for _ in units) for units in settings.layers))
        self.runs = []
        schedule = TrainConfig(optimizer="sgd", lr=settings.learning_rate, momentum=0.0)  # plain SGD
        for layers in layer_sets:
            net = build_net(len(settings.features), layers, settings.seed)
            self.runs.append(Run(net, LiveRun(net, schedule, self.loss, self._penalty)))
        self.generator = torch.Generator().manual_seed(settings.seed)
        for run in self.runs:
            run.history.append((0, *self._losses(run.net)))

    # -------------------------------------------------------------- inputs
    def _scale(self, x: torch.Tensor) -> torch.Tensor:
        x0, x1, y0, y1 = self.data.domain
        center = torch.tensor([(x0 + x1) / 2, (y0 + y1) / 2])
        half = torch.tensor([(x1 - x0) / 2, (y1 - y0) / 2])
        return (x - center) / half * INPUT_SCALE

    def features_of(self, x: torch.Tensor) -> torch.Tensor:
        u = self._scale(x)
        return torch.stack([FEATURES[name](u) for name in self.settings.features], dim=1)

    def _grid(self, size: int) -> torch.Tensor:
        x0, x1, y0, y1 = self.data.domain
        xs = torch.linspace(x0, x1, size)
        ys = torch.linspace(y1, y0, size)  # row 0 at the top
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)

    def _prepare_inputs(self) -> None:
        d = self.data
        self.f_train = self.features_of(d.x_train)
        self.f_test = self.features_of(d.x_test) if len(d.x_test) else self.f_train[:0]
        self.f_extra = self.features_of(d.x_extra) if d.x_extra is not None and len(d.x_extra) else None
        self.f_neuron_grid = self.features_of(self._grid(NEURON_GRID))
        self.f_output_grid = self.features_of(self._grid(OUTPUT_GRID))

    # -------------------------------------------------------------- loss
    @property
    def classification(self) -> bool:
        return self.data.task == "classification"

    def output(self, logits: torch.Tensor) -> torch.Tensor:
        """The net's output on the page's [-1, 1] scale (class 1 ↔ +1)."""
        if not self.classification:
            return logits
        if self.settings.loss == "squared":
            return torch.tanh(logits)
        return torch.tanh(logits / 2)  # = 2·sigmoid − 1

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if not self.classification:
            return 0.5 * ((logits - y) ** 2).mean()
        if self.settings.loss == "squared":
            return 0.5 * ((torch.tanh(logits) - (2 * y - 1)) ** 2).mean()
        return nn.functional.binary_cross_entropy_with_logits(logits, y)

    def _penalty(self, net: nn.Sequential) -> torch.Tensor | float:
        s = self.settings
        if s.regularization == "none" or s.regularization_rate == 0:
            return 0.0
        weights = [m.weight for m in net if isinstance(m, nn.Linear)]
        if s.regularization == "l1":
            return s.regularization_rate * sum(w.abs().sum() for w in weights)
        return s.regularization_rate * 0.5 * sum((w ** 2).sum() for w in weights)

    @torch.no_grad()
    def _losses(self, net: nn.Sequential) -> tuple[float, float]:
        train = float(self.loss(net(self.f_train), self.data.y_train))
        test = float(self.loss(net(self.f_test), self.data.y_test)) if len(self.f_test) else float("nan")
        return train, test

    # -------------------------------------------------------------- steps
    def step(self) -> None:
        """One epoch: shuffled mini-batches of ``batch_size`` over the training points, for every net."""
        n = len(self.f_train)
        order = torch.randperm(n, generator=self.generator)
        size = self.settings.batch_size
        batches = [order[i:i + size] for i in range(0, n, size)]
        for run in self.runs:
            before = [m.weight.detach().clone() for m in run.net if isinstance(m, nn.Linear)]
            run.live.train_batches(self.f_train, self.data.y_train, batches)
            run.flow = gradient_flow(run.net, self.f_train, lambda out: self.loss(out, self.data.y_train), before)
        self.epoch += 1
        for run in self.runs:
            run.history.append((self.epoch, *self._losses(run.net)))

    def set_learning_rate(self, rate: float) -> None:
        self.settings.learning_rate = rate
        for run in self.runs:
            run.live.set_learning_rate(rate)

    # -------------------------------------------------------------- frames
    @torch.no_grad()
    def frame(self, history_from: int = 0) -> dict[str, Any]:
        """What the page draws after the latest epoch (JSON-ready; NaN → None)."""
        nets = []
        for run in self.runs:
            net = run.net
            hidden = _hidden(net, self.f_neuron_grid)
            neurons = [[encode_grid(h[:, j]) for j in range(h.shape[1])] for _, h in hidden]
            output = self.output(net(self.f_output_grid)).view(-1)
            if not self.classification:
                output = output / max(1e-6, float(self.data.y_train.abs().max()))
            weights = [[[round(v, 4) for v in row] for row in m.weight.tolist()] for m in net if isinstance(m, nn.Linear)]
            biases = [[round(v, 4) for v in m.bias.tolist()] for m in net if isinstance(m, nn.Linear)]
            last = run.history[-1]
            item = {
                "train_loss": _num(last[1]), "test_loss": _num(last[2]),
                "history": [[e, _num(a), _num(b)] for e, a, b in run.history[history_from:]],
                "output": encode_grid(output), "neurons": neurons, "weights": weights, "biases": biases,
                "flow": run.flow,
                "feature_space": _first_feature_space(net, self.f_train),
            }
            if self.f_extra is not None:
                item["extra_loss"] = _num(float(self.loss(net(self.f_extra), self.data.y_extra)))
            nets.append(item)
        return {"epoch": self.epoch, "nets": nets, "neuron_grid": NEURON_GRID, "output_grid": OUTPUT_GRID}

    def feature_maps(self) -> dict[str, str]:
        """Every input feature's heat map (they never change while training), scaled into [-1, 1]."""
        u = self._scale(self._grid(NEURON_GRID))
        out = {}
        for name, function in FEATURES.items():
            values = function(u)
            out[name] = encode_grid(values / max(1e-6, float(values.abs().max())))
        return out

    def export(self, which: int = 0) -> tuple[dict[str, torch.Tensor], str]:
        """The trained net ``which`` as a state_dict and a Python snippet that rebuilds it with actlab."""
        run = self.runs[which]
        layers = [m.names for m in run.net if isinstance(m, PerNeuron)]
        return {k: v.detach().clone() for k, v in run.net.state_dict().items()}, snippet(self.settings.features, layers)


def _first_feature_space(net: nn.Sequential, x: torch.Tensor) -> dict[str, Any] | None:
    hidden_sizes = [m.out_features for m in net[:-1] if isinstance(m, nn.Linear)]
    for layer in reversed(range(len(hidden_sizes))):  # prefer the last hidden layer (it has the boundary)
        if hidden_sizes[layer] in (2, 3):
            return feature_space(net, x, layer)
    return feature_space(net, x, len(hidden_sizes) - 1) if hidden_sizes else None  # projected (> 3 units)


def _num(value: float) -> float | None:
    return round(value, 6) if math.isfinite(value) else None
