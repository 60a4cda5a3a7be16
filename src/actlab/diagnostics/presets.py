"""What a diagnose run trains: :class:`Setup`, and the presets that reproduce textbook experiments.

- ``nielsen``: the vanishing-gradient experiment of M. Nielsen, *Neural Networks and Deep
  Learning*, ch. 5: MNIST (the 50 000-image training split), 784-30-…-30-10, sigmoid in every
  layer including the output, cross-entropy on the sigmoid outputs with one-hot targets
  (Σ_j −[y_j ln a_j + (1−y_j) ln(1−a_j)], mean over examples), weights N(0, 1/n_in), biases
  N(0, 1), mini-batch SGD (batch 10, η = 0.1), L2 λ = 5.0 (the optimiser's weight decay λ/n,
  n = training-set size; it decays the biases too, where Nielsen decays weights only: 1e-4 at
  n = 50 000), speed measured on the first 1 000
  training images.
- ``exploding``: a chain of one-unit layers with weight w = 100 and biases chosen so that every
  z_l = 0 (b_1 = −w·x, b_l = −w·f(0)); the bias gradient grows by w·f'(0) per layer toward the
  input (25 for sigmoid); clipping by value and by norm caps the update (see :mod:`.run`).
- ``dying-relu``: a ReLU MLP on MNIST (4 × 64, He init) trained by Adam with a too-large learning
  rate (0.01, batch 32), next to leaky_relu, prelu and elu under the same settings and seeds.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from actlab.analysis.layer_measures import SATURATION_FRACTION, check_saturation_threshold
from actlab.errors import ActlabError

__all__ = ["EXPLODING_WEIGHT", "LOSSES", "OPTIMIZERS", "PRESETS", "Setup", "preset_defaults"]

LOSSES = ("softmax", "sigmoid")  # softmax cross-entropy of logits | cross-entropy of sigmoid outputs, one-hot
OPTIMIZERS = ("sgd", "adam")
EXPLODING_WEIGHT = 100.0  # Nielsen's w in the chain of one-unit layers
# Adam at 10× its usual 1e-3: too large for the ReLU MLP below (measured, 20 000 images, 1 epoch: 48 / 12 / 11 /
# 27 % of the ReLU units per layer die, none of the others'; SGD at 0.2–0.5 made elu and prelu diverge instead)
DYING_RELU_LR = 0.01

PRESETS: dict[str, dict[str, Any]] = {
    "nielsen": dict(activations=("sigmoid",), dataset="mnist", depth=4, width=30, init="nielsen", loss="sigmoid",
                    optimizer="sgd", lr=0.1, batch_size=10, l2=5.0, epochs=5, seeds=5, eval_size=1000),
    "exploding": dict(activations=("sigmoid",), depth=5, width=1, lr=0.1, seeds=1, epochs=0),
    "dying-relu": dict(activations=("relu", "leaky_relu", "prelu", "elu"), dataset="mnist", depth=4, width=64,
                       init="he", loss="softmax", optimizer="adam", lr=DYING_RELU_LR, batch_size=32, epochs=3,
                       seeds=3, eval_size=1000),
}


# options a store may predate: at these values a setup hashes as it did before they existed
_LATER_OPTIONS: dict[str, Any] = {"saturation_threshold": SATURATION_FRACTION, "steps": None, "no_bias": False,
                                  "weight_scale": 1.0, "train": []}
# the trainer's version: runs trained by another trainer (other batch order, other maths) are not mixed in one store
TRAINER = "driver-1"

# sizes diagnose refuses before building anything (a hostile --depth 100000 ran out of memory measuring itself)
MAX_DEPTH = 1000
MAX_WIDTH = 16384
MAX_WEIGHTS = 200_000_000


@dataclass(frozen=True)
class Setup:
    """A resolved diagnose setup; every run is one (activation, seed) of it."""

    activations: tuple[str, ...] = ("sigmoid",)
    params: tuple[tuple[str, float], ...] = ()  # activation parameters, applied to every activation that has them
    dataset: str = "mnist"
    depth: int = 4  # hidden layers
    width: int = 30  # units per hidden layer
    # None: each activation's recommended scheme (output layer glorot), biases 0; else a scheme of
    # actlab.models.INIT_SCHEMES for every layer (he_uniform, standard, torch-default, nielsen, …)
    init: str | None = None
    loss: str = "softmax"
    optimizer: str = "sgd"
    lr: float = 0.1
    batch_size: int = 10
    l2: float = 0.0  # λ: weight decay λ/n on every parameter (added to the gradient after clipping, torch's weight_decay)
    clip_value: float | None = None
    clip_norm: float | None = None
    epochs: int = 5  # 0: measure at initialisation only
    steps: int | None = None  # the budget in optimiser steps instead of epochs (0: measure at initialisation only)
    every: int | None = None  # measure every k optimiser steps (None: after every epoch)
    seeds: int = 3
    eval_size: int = 1000  # the first N training examples make the evaluation batch
    subset: int | None = None  # train on the first N training examples only
    preset: str | None = None
    saturation_threshold: float = SATURATION_FRACTION  # saturated: |f'| below this fraction of max |f'|
    no_bias: bool = False  # no layer has a bias
    weight_scale: float = 1.0  # gain on every initial weight
    # more TrainConfig fields from the options table's rows that name diagnose (momentum, Adam's betas, bias init)
    train: tuple[tuple[str, Any], ...] = ()

    def validate(self) -> None:
        if not self.activations:
            raise ActlabError("give at least one activation")
        for name, value, low in (("depth", self.depth, 1), ("width", self.width, 1), ("seeds", self.seeds, 1),
                                 ("batch_size", self.batch_size, 1), ("eval_size", self.eval_size, 1),
                                 ("epochs", self.epochs, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ActlabError(f"{name} must be a whole number >= {low}, got {value!r}")
        if self.depth > MAX_DEPTH or self.width > MAX_WIDTH:
            raise ActlabError(f"depth {self.depth} × width {self.width} is beyond what diagnose measures (at most "
                              f"{MAX_DEPTH} layers of {MAX_WIDTH} units: every layer is measured at every step)")
        if self.depth * self.width * self.width > MAX_WEIGHTS:
            raise ActlabError(f"depth {self.depth} × width {self.width}² = {self.depth * self.width ** 2:,} weights per "
                              f"net would need about {self.depth * self.width ** 2 * 24 / 2 ** 30:.1f} GiB (weights, "
                              f"gradients, optimiser state, measures); the limit is {MAX_WEIGHTS:,} weights")
        for name, value in (("every", self.every), ("subset", self.subset)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ActlabError(f"{name} must be a whole number >= 1, got {value!r}")
        if self.steps is not None and (isinstance(self.steps, bool) or not isinstance(self.steps, int)
                                       or self.steps < 0):
            raise ActlabError(f"steps must be a whole number >= 0, got {self.steps!r}")
        if self.init is not None:
            from actlab.models import canonical_scheme

            canonical_scheme(self.init)  # an unknown scheme: named, with a near miss
        scale = self.weight_scale
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (math.isfinite(scale) and scale > 0):
            raise ActlabError(f"--weight-scale must be a number > 0, got {scale!r}")
        if not isinstance(self.no_bias, bool):
            raise ActlabError(f"no_bias must be true or false, got {self.no_bias!r}")
        if self.loss not in LOSSES:
            raise ActlabError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        if self.optimizer not in OPTIMIZERS:
            raise ActlabError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ActlabError(f"lr must be a number > 0, got {self.lr!r}")
        if not (math.isfinite(self.l2) and self.l2 >= 0):
            raise ActlabError(f"l2 must be a number >= 0, got {self.l2!r}")
        if self.clip_value is not None and self.clip_norm is not None:
            raise ActlabError("give either --clip-value or --clip-norm, not both")
        for name, value in (("clip-value", self.clip_value), ("clip-norm", self.clip_norm)):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ActlabError(f"--{name} must be a number > 0, got {value!r}")
        if self.preset is not None and self.preset not in PRESETS:
            raise ActlabError(f"unknown preset {self.preset!r}; choose one of {', '.join(PRESETS)}")
        if len(set(self.activations)) != len(self.activations):
            raise ActlabError(f"an activation is listed twice in {','.join(self.activations)}")
        check_saturation_threshold(self.saturation_threshold, "--saturation-threshold")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["activations"] = list(self.activations)
        data["params"] = {k: v for k, v in self.params}
        data["train"] = [list(pair) for pair in self.train]
        return data

    def fingerprint(self) -> str:
        """Hash of everything that changes a run's numbers (the seed count and preset name excluded)."""
        data = self.to_dict()
        for key in ("seeds", "preset", "activations"):
            data.pop(key)
        for key, default in _LATER_OPTIONS.items():  # at their defaults they leave the hash as it was
            if data.get(key) == default:
                data.pop(key)
        data["trainer"] = TRAINER
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def preset_defaults(name: str | None) -> dict[str, Any]:
    """The option values of preset ``name`` ({} for None); explicit options override them."""
    if name is None:
        return {}
    if name not in PRESETS:
        raise ActlabError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return dict(PRESETS[name])

