"""What to train: :class:`TrainConfig` (the model, the optimiser and the budget, shared by a grid)
and :class:`RunSpec` (one cell of the grid: activation, seed, learning rate).

``TrainConfig`` carries the model's fields flat (the options table fills them) and hands the builder a
:class:`~actlab.models.ModelConfig` through :attr:`TrainConfig.model_config`: the models know nothing of
the trainer."""
from __future__ import annotations

import dataclasses
import functools
import math
import platform
from dataclasses import dataclass
from typing import Any

from actlab.errors import ActlabError
from actlab.models import ModelConfig

__all__ = ["TrainConfig", "RunSpec", "OPTIMIZERS", "PRECISIONS", "REPORT_AT", "resolve_precision",
           "cpu_has_native_bf16"]

OPTIMIZERS = ("adam", "sgd", "rmsprop")
# which evaluation point a run reports (all three are recorded): lowest validation loss, highest validation
# accuracy (regression: lowest loss), or the last one
REPORT_AT = ("best-val-loss", "best-val-acc", "final")
PRECISIONS = ("auto", "fp32", "bf16")
_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")  # x86 AVX-512 BF16 / AMX; aarch64 FEAT_BF16


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when the CPU multiplies bfloat16 natively (Linux: a bf16 flag in /proc/cpuinfo)."""
    if platform.system() != "Linux":
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith(("flags", "Features")):
                    return any(flag in line.split() for flag in _BF16_CPU_FLAGS)
    except OSError:
        return False
    return False


def resolve_precision(precision: str, device: Any = "cpu") -> str:
    """The precision to use: ``precision`` itself, or for "auto" "bf16" on a CPU with native bf16, else "fp32"."""
    if precision not in PRECISIONS:
        raise ActlabError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    kind = device.type if hasattr(device, "type") else str(device).split(":")[0]
    return "bf16" if kind == "cpu" and cpu_has_native_bf16() else "fp32"


@dataclass(frozen=True)
class TrainConfig:
    """Architecture, optimiser and schedule; everything but ``lr`` is shared by all runs of a grid."""

    model: str = "mlp"  # "mlp" | "cnn" | "snn" (the mlp with lecun_normal init and AlphaDropout)
    depth: int = 2  # hidden layers (mlp; 0: a linear model)
    width: int = 128  # units per hidden layer (mlp)
    epochs: int = 10  # the budget in epochs (unless ``steps`` is set)
    batch_size: int = 128
    optimizer: str = "adam"  # "adam" | "sgd" | "rmsprop"
    lr: float = 1e-3  # default learning rate (a RunSpec may override)
    momentum: float = 0.9  # sgd only
    weight_decay: float = 0.0  # L2 added to the gradient, as torch.optim.Adam / SGD / RMSprop
    clip_value: float | None = None  # clamp every gradient element to [-c, c]
    clip_norm: float | None = None  # rescale each model's gradient to global norm <= c
    dropout: float = 0.0  # after each hidden activation (AlphaDropout for SELU); cnn: after the pooling
    dropout_dense: float | None = None  # cnn only: after the dense layer (None: the same as ``dropout``)
    # None or "auto" → each activation's spec.init.scheme; a scheme of actlab.models.INIT_SCHEMES for all;
    # per activation: "glorot,selu=lecun" or "glorot,selu=auto" (SELU keeps lecun_normal, the others glorot)
    init: str | None = None
    # matmul precision: "fp32"; "bf16" (bfloat16 matmul operands, float32 weights, optimiser state,
    # activations and losses, like torch.autocast); "auto" → bf16 on a CPU with native bf16, else fp32
    precision: str = "auto"
    # record per-layer gradient flow at init and after each evaluation (a probe the driver calls);
    # measuring changes no weight, so the results are the same with or without it
    diagnostics: bool = False
    bias: bool = True  # every layer has a bias
    weight_scale: float = 1.0  # gain on every initial weight
    bias_init: float | None = None  # every bias starts at this value (None: the init scheme's, mostly 0)
    steps: int | None = None  # the budget in optimiser steps (instead of ``epochs``)
    eval_every: int = 1  # evaluate every N epochs (epoch budget) or N steps (step budget); the end always
    report_at: str = "best-val-loss"  # the evaluation point whose test metrics a run reports (REPORT_AT)
    log_every_step: bool = False  # record each step's training loss (per run)
    adam_beta1: float = 0.9  # torch.optim.Adam defaults
    adam_beta2: float = 0.999
    eps: float = 1e-8  # Adam's and RMSprop's epsilon (torch defaults)
    rmsprop_alpha: float = 0.99  # torch.optim.RMSprop defaults (Keras: rho 0.9, eps 1e-7)
    rmsprop_momentum: float = 0.0
    rmsprop_centered: bool = False
    nesterov: bool = False  # sgd only
    model_source: str | None = None  # model "user": FILE.py:FUNCTION, package.module:FUNCTION or python:NAME
    heads: int = 4  # gpt: attention heads
    ffn_width: int | None = None  # gpt: the FFN's hidden width (None: 4·width)
    match_to: str | None = None  # --match params: the first arm's activation (actlab.models.size)

    @property
    def model_config(self) -> ModelConfig:
        """The model this config trains (what :func:`actlab.models.build` takes)."""
        return ModelConfig(kind=self.model, depth=self.depth, width=self.width, bias=self.bias,
                           dropout=self.dropout, dropout_dense=self.dropout_dense, init=self.init,
                           weight_scale=self.weight_scale, bias_init=self.bias_init, source=self.model_source,
                           heads=self.heads, ffn_width=self.ffn_width, match_to=self.match_to)

    def validate(self, dataset: Any = None) -> None:
        """Raise :class:`ActlabError` naming the first bad field (and the dataset mismatch, if any)."""
        self.model_config.validate()
        if self.optimizer not in OPTIMIZERS:
            raise ActlabError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        _positive_int("epochs", self.epochs)
        if self.steps is not None:
            _positive_int("steps", self.steps)
        _positive_int("eval_every", self.eval_every)
        _positive_int("batch_size", self.batch_size)
        _positive_float("lr", self.lr)
        if self.report_at not in REPORT_AT:
            raise ActlabError(f"unknown report point {self.report_at!r}; choose one of {', '.join(REPORT_AT)}")
        for name in ("momentum", "rmsprop_momentum", "adam_beta1", "adam_beta2", "rmsprop_alpha"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0.0 <= value < 1.0):
                raise ActlabError(f"{name} must be in [0, 1), got {value!r}")
        _positive_float("eps", self.eps)
        if self.nesterov and (self.optimizer != "sgd" or not self.momentum > 0):
            raise ActlabError("nesterov is for --optimizer sgd with a momentum > 0")
        if not (self.weight_decay >= 0.0 and math.isfinite(self.weight_decay)):
            raise ActlabError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.clip_value is not None and self.clip_norm is not None:
            raise ActlabError("give clip_value or clip_norm, not both")
        if self.clip_value is not None:
            _positive_float("clip_value", self.clip_value)
        if self.clip_norm is not None:
            _positive_float("clip_norm", self.clip_norm)
        if self.precision not in PRECISIONS:
            raise ActlabError(f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}")
        if dataset is not None:
            self._validate_dataset(dataset)

    def _validate_dataset(self, dataset: Any) -> None:
        shape = tuple(dataset.input_shape)
        text = getattr(dataset, "extra", {}).get("kind") == "text"
        if text != (self.model == "gpt"):
            raise ActlabError(f"the gpt model trains on text (a dataset like kjv) and text needs the gpt; got "
                              f"model {self.model!r} and dataset {dataset.name!r}")
        if self.model == "cnn" and len(shape) != 3:
            raise ActlabError(
                f"the cnn model needs image data of shape (C, H, W); {dataset.name!r} has input shape {shape}"
            )
        if self.model == "cnn" and min(shape[1:]) < 6:
            raise ActlabError(f"the cnn model needs images of at least 6×6; {dataset.name!r} has {shape}")
        if dataset.task not in ("classification", "regression"):
            raise ActlabError(f"unknown task {dataset.task!r} in dataset {dataset.name!r}")
        if dataset.task == "classification" and dataset.num_classes < 2:
            raise ActlabError(f"dataset {dataset.name!r} is a classification set with {dataset.num_classes} classes")
        if len(dataset.x_train) == 0 or len(dataset.x_test) == 0:
            raise ActlabError(f"dataset {dataset.name!r} has an empty train or test split")
        if len(dataset.x_val) == 0 and self.report_at != "final":
            raise ActlabError(f"dataset {dataset.name!r} has no validation split: report at the final evaluation "
                              f"(report_at 'final'), not {self.report_at!r}")

    def dense_dropout(self) -> float:
        """The dropout after dense hidden layers (the mlp's only place; the cnn's second)."""
        return self.model_config.dense_dropout()

    def steps_per_epoch(self, examples: int) -> int:
        """Optimiser steps in one pass over ``examples`` training examples (the last batch may be short)."""
        return max(1, math.ceil(int(examples) / self.batch_size))

    def total_steps(self, examples: int) -> int:
        """The budget in steps: ``steps``, or ``epochs`` passes over the training set."""
        return int(self.steps) if self.steps is not None else self.epochs * self.steps_per_epoch(examples)

    def resolved_precision(self, device: Any = "cpu") -> str:
        """The precision the engines use on ``device``: "fp32" or "bf16" ("auto" resolved)."""
        return resolve_precision(self.precision, device)

    def to_dict(self) -> dict[str, Any]:
        """The fields, plus ``resolved_precision`` (on the CPU) when ``precision`` is valid."""
        data = dataclasses.asdict(self)
        if self.precision in PRECISIONS:
            data["resolved_precision"] = self.resolved_precision("cpu")
        return data


@dataclass(frozen=True)
class RunSpec:
    """One training run: an activation (name, alias or formula) with its parameters, a seed, a learning rate."""

    activation: str
    seed: int = 0
    lr: float | None = None  # None → TrainConfig.lr
    params: tuple[tuple[str, float], ...] = ()  # activation parameters, e.g. (("alpha", 0.2),)

    @property
    def run_id(self) -> str:
        """Deterministic and readable: ``"elu(alpha=0.5)/seed=0/lr=0.001"`` (lr omitted when None)."""
        name = self.activation.strip()
        if self.params:
            name += "(" + ",".join(f"{k}={v:g}" for k, v in sorted(self.params)) + ")"
        text = f"{name}/seed={self.seed}"
        if self.lr is not None:
            text += f"/lr={self.lr:g}"
        return text

    def resolved_lr(self, config: TrainConfig) -> float:
        return float(self.lr if self.lr is not None else config.lr)

    def to_dict(self) -> dict[str, Any]:
        return {"activation": self.activation, "seed": self.seed, "lr": self.lr,
                "params": {k: v for k, v in self.params}, "run_id": self.run_id}


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ActlabError(f"{name} must be a whole number >= 1, got {value!r}")


def _positive_float(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value > 0 and math.isfinite(value)):
        raise ActlabError(f"{name} must be a number > 0, got {value!r}")
