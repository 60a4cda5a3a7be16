"""torch layers built from activation specs: the autograd Function, modules, per-neuron layers, init."""
from __future__ import annotations

from actlab import spec as _spec
from actlab.nn.function import apply, function_for
from actlab.nn.maxout import Maxout
from actlab.nn.modules import ActivationModule

__all__ = ["ActivationModule", "Maxout", "apply", "function_for"]

_spec.set_module_factory(ActivationModule)
