"""torch layers built from activation specs: the autograd Function, modules, Maxout.

Layers that resolve activation *names* (``actlab.nn.per_neuron.PerNeuron``,
``actlab.nn.alpha_dropout``) sit on :mod:`actlab.resolve` and are imported from
their modules (or ``actlab.PerNeuron``): this package's ``__init__`` holds only
what the resolver itself needs, so the two never import each other.
"""
from __future__ import annotations

from actlab import spec as _spec
from actlab.nn.function import apply, function_for
from actlab.nn.maxout import Maxout
from actlab.nn.modules import ActivationModule

__all__ = ["ActivationModule", "Maxout", "apply", "function_for"]

_spec.set_module_factory(ActivationModule)
