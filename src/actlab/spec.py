"""The one record every activation is: :class:`ActivationSpec`.

Everything else in actlab reads this record: the torch module
(:mod:`actlab.nn`), the property analysis, the plots, the trainer and the
web page.  Forward and derivative live side by side as small pure functions of
a torch tensor and plain keyword parameters.
"""
from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from actlab.errors import ParameterError, suggest

__all__ = ["Param", "Init", "ActivationSpec", "INIT_SCHEMES", "KINDS", "EXPORTERS"]

INIT_SCHEMES = ("he", "glorot", "lecun", "siren")
KINDS = ("elementwise", "vector", "grouped", "gated")
# the export targets a record declares limits for (actlab.nn.export checks every declaration both ways)
EXPORTERS = ("torch.export", "onnx")

Tensor = torch.Tensor

@dataclass(frozen=True)
class Param:
    """One scalar parameter of an activation, with its allowed range and provenance."""

    name: str
    default: float
    low: float = -math.inf  # smallest allowed value
    high: float = math.inf  # largest allowed value
    low_open: bool = False  # True: ``low`` itself is not allowed
    high_open: bool = False  # True: ``high`` itself is not allowed
    source: str = ""  # where the default comes from (paper, framework)
    doc: str = ""  # what the parameter does
    learnable: bool = False  # trained by the optimiser when the module is used (PReLU slope)
    integer: bool = False  # must be a whole number (softmax dim, maxout pieces)
    torch_name: str = ""  # the attribute name torch gives this learnable parameter (PReLU's "weight")

    @property
    def attribute(self) -> str:
        """The module attribute (and state_dict key) holding this parameter when it is learnable."""
        return self.torch_name or self.name

    def check(self, value: Any, activation: str = "") -> float | int:
        """Validate ``value`` and return it as float (or int for integer params)."""
        where = f" of {activation}" if activation else ""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ParameterError(
                    f"parameter {self.name!r}{where} must be a number, got {value!r}"
                ) from None
        if not math.isfinite(value):
            raise ParameterError(f"parameter {self.name!r}{where} must be a finite number, got {value!r}")
        if self.integer:
            if value != int(value):
                raise ParameterError(f"parameter {self.name!r}{where} must be a whole number, got {value!r}")
            value = int(value)
        else:
            value = float(value)
        too_low = value < self.low or (self.low_open and value == self.low)
        too_high = value > self.high or (self.high_open and value == self.high)
        if too_low or too_high:
            raise ParameterError(
                f"parameter {self.name!r}{where} = {value!r} is outside its allowed range {self.range_text()}"
            )
        return value

    def range_text(self) -> str:
        left = "(" if self.low_open or math.isinf(self.low) else "["
        right = ")" if self.high_open or math.isinf(self.high) else "]"
        return f"{left}{_num(self.low)}, {_num(self.high)}{right}"


@dataclass(frozen=True)
class Init:
    """Recommended weight initialisation for the layer feeding this activation."""

    scheme: Literal["he", "glorot", "lecun", "siren"]
    reason: str

    def __post_init__(self) -> None:
        if self.scheme not in INIT_SCHEMES:
            raise ValueError(f"init scheme must be one of {INIT_SCHEMES}, got {self.scheme!r}")


ParamValues = Mapping[str, Any]


@dataclass(frozen=True, eq=False)
class ActivationSpec:
    """One activation function, as a frozen record.

    ``forward(x, **params)`` and ``derivative(x, **params)`` are pure functions of a
    torch tensor; every declared parameter is passed explicitly (use
    :meth:`resolve` to fill in defaults).  For ``kind="elementwise"`` the
    derivative is f'(x).  For ``kind="vector"`` (softmax along ``dim``) and
    ``kind="grouped"`` (maxout) and ``kind="gated"`` (GLU: value ⊗ act(gate) over the two halves of the last
    dimension) the derivative is the diagonal
    d y_out(i) / d x_i, and ``vjp`` / ``jvp`` give the exact products with the
    Jacobian.
    """

    name: str
    summary: str  # one line
    family: str  # catalog group: rectifier, sigmoid, gated, periodic, ...
    forward: Callable[..., Tensor]
    derivative: Callable[..., Tensor]
    formula: str  # plain text, in x
    derivative_formula: str  # plain text, in x
    init: Init
    latex: str = ""
    derivative_latex: str = ""
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    # x positions where f is not differentiable; a tuple, or a function of the params
    kinks: tuple[float, ...] | Callable[..., tuple[float, ...]] = ()
    kink_convention: str = ""  # which value the derivative takes at the kinks, and why
    references: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    kind: Literal["elementwise", "vector", "grouped", "gated"] = "elementwise"
    # non-elementwise kinds: vjp(x, grad_output, **p) and jvp(x, tangent, **p)
    vjp: Callable[..., Tensor] | None = None
    jvp: Callable[..., Tensor] | None = None
    # d f / d param for learnable params: name -> fn(x, **p), same shape as x
    param_derivatives: Mapping[str, Callable[..., Tensor]] = field(default_factory=dict)
    # training-mode randomness (RReLU): fn(x, **p) -> param overrides (tensors) for this call
    sample: Callable[..., dict[str, Tensor]] | None = None
    # cross-parameter checks: fn(params) -> error message or None
    constraints: tuple[Callable[[ParamValues], str | None], ...] = ()
    trainable: bool = True  # False when the gradient is zero almost everywhere (binary step)
    # properties the catalog states about itself; a test checks each against the computed one
    expected: Mapping[str, Any] = field(default_factory=dict)
    # open interval where f is defined (real-valued); catalog entries are defined everywhere
    domain: tuple[float, float] = (-math.inf, math.inf)
    source: str = "catalog"  # "catalog" or "formula"
    # the formula text for formula specs (what the user typed)
    expression: str | None = None
    # the PyTorch op computing exactly this activation: fn(x, **params) with the spec's parameter names
    # (learnable ones arrive as torch's functional takes them: shape (num_parameters,)); autograd of this
    # op is the fast path of actlab.nn.create(spec); the analytic derivative stays the reference it is checked against
    native: Callable[..., Tensor] | None = None
    # fn(**params) -> the equivalent torch.nn module (learnable params also get num_parameters=):
    # what torch.jit.script receives in place of actlab's module
    torch_module: Callable[..., torch.nn.Module] | None = None
    # exporter ("torch.export" or "onnx") -> why this record's module does not export there (or does not match
    # onnxruntime to 1e-5); absent: it exports.  actlab.nn.export.check_export verifies both directions
    export_limits: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        unknown = set(self.export_limits) - set(EXPORTERS)
        if unknown:
            raise ValueError(f"{self.name}: export_limits keys must be among {EXPORTERS}, got {sorted(unknown)}")
        if self.kind != "elementwise" and self.vjp is None:
            raise ValueError(f"{self.name}: a {self.kind} activation needs a vjp")
        for p in self.params:
            if p.learnable and p.name not in self.param_derivatives:
                raise ValueError(f"{self.name}: learnable parameter {p.name!r} needs a derivative")
        if self.native is not None:
            _check_native_signature(self)

    # ----------------------------------------------------------------- params
    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise ParameterError(self._unknown_param_message(name))

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def resolve(self, **overrides: Any) -> dict[str, Any]:
        """All parameters: defaults updated with ``overrides``, validated."""
        values = self.defaults()
        for key, value in overrides.items():
            if key not in values:
                raise ParameterError(self._unknown_param_message(key))
            values[key] = value
        checked = {p.name: p.check(values[p.name], self.name) for p in self.params}
        for constraint in self.constraints:
            problem = constraint(checked)
            if problem:
                raise ParameterError(f"{self.name}: {problem}")
        return checked

    def with_params(self, **overrides: Any) -> ActivationSpec:
        """The same activation with new default parameter values (validated)."""
        if not overrides:
            return self
        values = self.resolve(**overrides)
        params = tuple(
            dataclasses.replace(p, default=values[p.name], source="set by user")
            if p.name in overrides
            else p
            for p in self.params
        )
        return dataclasses.replace(self, params=params)

    def _unknown_param_message(self, name: str) -> str:
        if not self.params:
            return f"{self.name} takes no parameters (got {name!r})"
        message = f"{self.name} has no parameter {name!r}; its parameters are {', '.join(self.param_names)}"
        close = suggest(name, self.param_names)
        if close:
            message += f" (did you mean {' or '.join(close)}?)"
        return message

    # ------------------------------------------------------------- evaluation
    def __call__(self, x: Tensor, **overrides: Any) -> Tensor:
        """f(x) with the default parameters (updated by ``overrides``)."""
        return self.forward(x, **self.resolve(**overrides))

    def grad(self, x: Tensor, **overrides: Any) -> Tensor:
        """f'(x) (the analytic derivative) with default parameters."""
        return self.derivative(x, **self.resolve(**overrides))

    def input_grad(self, x: Tensor, grad_output: Tensor, **params: Any) -> Tensor:
        """The one backward rule: the exact ``vjp`` where the spec has one, else grad · f′(x).

        ``params`` are resolved values (tensors allowed); every engine calls this.
        """
        if self.vjp is not None:
            return self.vjp(x, grad_output, **params)
        return grad_output * self.derivative(x, **params)

    def slope(self, x: Tensor, **params: Any) -> Tensor:
        """f′(x) for elementwise specs; the Jacobian's column sums (vjp of ones) otherwise."""
        if self.vjp is not None:
            return self.vjp(x, torch.ones_like(x), **params)
        return self.derivative(x, **params)

    def kink_points(self, **overrides: Any) -> tuple[float, ...]:
        """Where f is not differentiable, for these parameter values."""
        if callable(self.kinks):
            return tuple(float(k) for k in self.kinks(**self.resolve(**overrides)))
        return tuple(float(k) for k in self.kinks)

    @property
    def learnable_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.learnable)

    def export_status(self) -> dict[str, str | None]:
        """Exporter -> None where the module exports, else the declared reason (ONNX export goes through
        torch.export, so a module torch.export cannot trace has no ONNX graph either)."""
        status: dict[str, str | None] = {name: self.export_limits.get(name) for name in EXPORTERS}
        if status["torch.export"] and not status["onnx"]:
            status["onnx"] = f"the ONNX exporter starts from torch.export, which fails: {status['torch.export']}"
        return status

    @property
    def width_divisor(self) -> int:
        """How many inputs make one output (maxout's k; 2 for gated units; 1 for everything else)."""
        if self.kind == "grouped":
            return int(self.param("k").default)
        return 2 if self.kind == "gated" else 1

    # ------------------------------------------------------------ description
    def describe(self) -> dict[str, Any]:
        """A JSON-ready description (what ``actlab show --json`` prints)."""
        return {
            "name": self.name,
            "aliases": list(self.aliases),
            "summary": self.summary,
            "family": self.family,
            "kind": self.kind,
            "formula": self.formula,
            "derivative_formula": self.derivative_formula,
            "latex": self.latex,
            "derivative_latex": self.derivative_latex,
            "params": [
                {
                    "name": p.name,
                    "default": p.default,
                    "range": p.range_text(),
                    "learnable": p.learnable,
                    "source": p.source,
                    "doc": p.doc,
                }
                for p in self.params
            ],
            "kinks": list(self.kink_points()),
            "kink_convention": self.kink_convention,
            "init": {"scheme": self.init.scheme, "reason": self.init.reason},
            "notes": list(self.notes),
            "references": list(self.references),
            "trainable": self.trainable,
            "source": self.source,
            "export": {name: {"exports": reason is None, "reason": reason or ""}
                       for name, reason in self.export_status().items()},
        }

    # ------------------------------------------------------- copy and pickle
    def __copy__(self) -> ActivationSpec:
        return self  # a frozen record: copies are the record itself

    def __deepcopy__(self, memo: dict) -> ActivationSpec:
        return self

    def _repr_html_(self) -> str:
        """Notebook display: the formula, a small f / f′ plot drawn from this record, declared properties."""
        from actlab.spec_html import spec_html

        return spec_html(self)

    def __repr__(self) -> str:
        values = ", ".join(f"{p.name}={p.default}" for p in self.params)
        return f"ActivationSpec({self.name}{', ' if values else ''}{values})"


def _check_native_signature(spec: ActivationSpec) -> None:
    """The native op takes x and exactly the spec's parameters (so it computes this spec, not a cousin)."""
    try:
        signature = inspect.signature(spec.native)
    except (TypeError, ValueError):  # a builtin without a signature: only allowed for parameterless specs
        if spec.params:
            raise ValueError(f"{spec.name}: native op {spec.native!r} has no signature to check") from None
        return
    names = [n for n, p in signature.parameters.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    if tuple(names[1:]) != spec.param_names:
        raise ValueError(
            f"{spec.name}: native op takes {tuple(names[1:])} after x, the spec's parameters are {spec.param_names}"
        )


def _num(v: float) -> str:
    if math.isinf(v):
        return "-inf" if v < 0 else "inf"
    return f"{v:g}"
