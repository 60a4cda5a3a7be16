"""``swap(model, activation)``: put one activation in every activation slot of any ``nn.Module``.

Every activation *module* (``nn.ReLU``, ``nn.GELU``, ``nn.SiLU``, ``nn.Tanh``, …, timm-style ``act`` modules
that are these classes, and actlab's own :class:`~actlab.nn.ActivationModule`) is replaced in place by
``create(activation)``.  Functional calls inside a ``forward`` (``F.relu(x)``, ``torch.tanh(x)``,
``x.sigmoid()``) cannot be replaced from outside the code: :func:`swap` finds them by tracing the model with
``torch.fx`` and lists them in :attr:`Swapped.functional`, each with the module path whose ``forward`` makes
the call, so nothing is left unswapped silently.  Where the model does not trace (data-dependent Python
control flow), :attr:`Swapped.traced` is False and :attr:`Swapped.note` says why.

>>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
>>> swap(net, "gelu").replaced
{'ReLU': 1}
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from actlab.nn.factory import create
from actlab.nn.modules import ActivationModule
from actlab.spec import ActivationSpec

__all__ = ["ACTIVATION_MODULES", "FunctionalCall", "Swapped", "swap", "activation_modules", "functional_calls"]

# torch's elementwise activation modules (and the gated / vector ones that take a whole tensor)
ACTIVATION_MODULES: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ELU, nn.CELU, nn.SELU, nn.GELU, nn.SiLU, nn.Mish,
    nn.Sigmoid, nn.Tanh, nn.Hardtanh, nn.Hardsigmoid, nn.Hardswish, nn.Softplus, nn.Softsign, nn.Tanhshrink,
    nn.Hardshrink, nn.Softshrink, nn.LogSigmoid, nn.Threshold,
)

# functional activations that a forward may call (torch.nn.functional, torch, and Tensor methods)
_FUNCTIONAL_NAMES = frozenset({
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "prelu", "rrelu", "elu", "elu_", "celu", "selu",
    "gelu", "silu", "mish", "sigmoid", "sigmoid_", "tanh", "tanh_", "hardtanh", "hardsigmoid", "hardswish",
    "softplus", "softsign", "tanhshrink", "hardshrink", "softshrink", "logsigmoid", "threshold", "glu",
})
_FUNCTIONAL_OWNERS = (F, torch, torch.special)


@dataclass(frozen=True)
class FunctionalCall:
    """An activation called as a function inside ``forward``: where (the module path, "" for the root) and what."""

    where: str
    function: str  # "torch.nn.functional.relu", "torch.tanh", "Tensor.sigmoid"

    def __str__(self) -> str:
        return f"{self.function} in {self.where or 'the top-level forward'}"


@dataclass
class Swapped:
    """What :func:`swap` did: the replaced modules by type name and by path, the functional calls it found."""

    activation: str
    replaced: dict[str, int] = field(default_factory=dict)  # type name → count
    paths: dict[str, str] = field(default_factory=dict)  # module path → the type it had
    functional: list[FunctionalCall] = field(default_factory=list)
    traced: bool = True  # False when torch.fx could not trace the model (functional calls then unknown)
    note: str = ""

    @property
    def count(self) -> int:
        return sum(self.replaced.values())

    def summary(self) -> str:
        """One line: what was swapped, what could not be."""
        kinds = ", ".join(f"{n} {name}" for name, n in sorted(self.replaced.items())) or "nothing"
        text = f"swapped {self.count} activation module(s) to {self.activation} ({kinds})"
        if self.functional:
            text += "; not swappable (functional calls in forward): " + ", ".join(map(str, self.functional))
        if not self.traced:
            text += f"; {self.note}"
        return text


def _is_activation(module: nn.Module) -> bool:
    return isinstance(module, (ACTIVATION_MODULES, ActivationModule))


def activation_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(path, module) of every activation module in ``model`` (the root itself included when it is one)."""
    return [(name, module) for name, module in model.named_modules() if _is_activation(module)]


def _parent(model: nn.Module, path: str) -> tuple[nn.Module, str]:
    head, _, leaf = path.rpartition(".")
    return (model.get_submodule(head) if head else model), leaf


def swap(model: nn.Module, activation: str | ActivationSpec | Callable[[], nn.Module], *,
         only: Iterable[str] | None = None, trace: bool = True) -> Swapped:
    """Replace every activation module of ``model`` (in place) by a fresh ``create(activation)``.

    ``activation``: a name, alias, formula or spec (or a callable returning a module).  ``only``: replace
    only modules of these type names (``["ReLU", "GELU"]``; case-insensitive) — the others are kept.
    ``trace``: look for functional activation calls with ``torch.fx``.  Returns :class:`Swapped`.
    The root module itself is never replaced (swap its parent instead).
    """
    factory = activation if callable(activation) and not isinstance(activation, ActivationSpec) else None
    label = getattr(activation, "name", None) or (activation if isinstance(activation, str) else
                                                  getattr(activation, "__name__", type(activation).__name__))
    keep = None if only is None else {name.lower() for name in only}
    result = Swapped(activation=str(label))
    for path, module in activation_modules(model):
        if not path:
            continue
        name = type(module).__name__
        if keep is not None and name.lower() not in keep and \
                getattr(getattr(module, "spec", None), "name", "").lower() not in keep:
            continue
        replacement = factory() if factory is not None else create(activation)
        parent, leaf = _parent(model, path)
        setattr(parent, leaf, replacement)
        result.replaced[name] = result.replaced.get(name, 0) + 1
        result.paths[path] = name
    if trace:
        calls, note = functional_calls(model)
        result.functional = calls
        result.traced = not note
        result.note = note
    return result


def functional_calls(model: nn.Module) -> tuple[list[FunctionalCall], str]:
    """The functional activation calls in ``model``'s forwards, and "" — or ([], why) when it does not trace."""
    from torch import fx

    class _Tracer(fx.Tracer):
        def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
            return _is_activation(module) or super().is_leaf_module(module, qualified_name)

    try:
        graph = _Tracer().trace(model)
    except Exception as error:  # noqa: BLE001 — fx raises many kinds (TraceError, TypeError, …); reported, not hidden
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return [], (f"torch.fx could not trace {type(model).__name__} ({type(error).__name__}: {first[:160]}), "
                    "so functional activation calls in its forward were not checked")
    found: list[FunctionalCall] = []
    for node in graph.nodes:
        what = _functional_name(node)
        if what is None:
            continue
        stack = node.meta.get("nn_module_stack") or {}
        where = next(reversed(stack.values()))[0] if stack else ""
        found.append(FunctionalCall(where=str(where), function=what))
    return found, ""


def _functional_name(node: Any) -> str | None:
    if node.op == "call_function":
        target = node.target
        name = getattr(target, "__name__", "")
        if name in _FUNCTIONAL_NAMES:
            for owner in _FUNCTIONAL_OWNERS:
                if getattr(owner, name, None) is target:
                    return f"{owner.__name__}.{name}"
            return name
    elif node.op == "call_method" and node.target in _FUNCTIONAL_NAMES:
        return f"Tensor.{node.target}"
    return None
